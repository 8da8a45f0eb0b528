"""Journal overhead: list-page throughput of ``paymock serve`` with the request journal on vs off.

Two servers on copies of one seeded data file, the same settings except ``--journal-capacity``
(1000, the default, vs 0), loaded with wrk in alternating rounds; the ratio (target: on >= 0.9x
off) is the median of the rounds' ratios. Each round also reads the workers' CPU time from
``/proc`` and divides it by the requests wrk counted: CPU per request (target: on <= 1.1x off)
resists the load of a shared machine far better than requests/s, and it is what to trust when
other processes compete for the cores. A round in which one worker idled (gunicorn's workers race
for connections, see bench/README.md) is reported as one-sided; its rate says little, its CPU per
request still counts. The rate's ratio is the median over the pairs with no one-sided round
(over all pairs if there is none).

    .venv/bin/python bench/journal.py [--quick] [--seconds 3] [--rounds 5] [--connections 8]
"""

from __future__ import annotations

import shutil
import statistics
from dataclasses import dataclass

from _common import (
    Load,
    Server,
    client,
    cpu_seconds,
    data_file,
    get,
    header,
    parser,
    running,
    start_paymock,
    table,
    wrk,
)

TARGET = 0.9
CPU_TARGET = 1.1
#: A round is one-sided when a worker used less than this fraction of its even share of the CPU.
ONE_SIDED = 0.3
ENDPOINTS = {
    "flexportal": "/v1/payments?limit=50&status=paid",
    "zuora": "/v1/payments?pageSize=40&status=Processed",
}


@dataclass(frozen=True)
class Round:
    """One wrk round against one server: the load, and the workers' CPU time per request."""

    load: Load
    cpu_us: float
    balanced: bool


def measure(server: Server, url: str, headers: dict[str, str], seconds: float, connections: int) -> Round:
    """A wrk round, with the CPU time its workers used per request answered."""
    workers = server.workers()
    before = cpu_seconds(workers)
    load = wrk(url, headers, seconds, connections)
    used = [b - a for a, b in zip(before, cpu_seconds(workers), strict=True)]
    total = sum(used) or 1e-9
    balanced = min(used) / total >= ONE_SIDED / len(used)
    return Round(load, total / max(load.requests, 1) * 1e6, balanced)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, help="wrk duration per round (default 3; 2 with --quick)")
    p.add_argument("--rounds", type=int, help="alternating pairs of rounds per endpoint (default 5; 2 with --quick)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    p.add_argument("--workers", type=int, help="gunicorn workers of both servers (default: serve's, one per core)")
    args = p.parse_args()
    seconds = args.seconds or (2.0 if args.quick else 3.0)
    rounds = args.rounds or (2 if args.quick else 5)
    header("journal: list page with the request journal on (capacity 1000) vs off (capacity 0)")
    print(
        f"   paymock serve defaults for both{f' but --workers {args.workers}' if args.workers else ''};"
        f" wrk -t1 -c{args.connections} -d{seconds:g}s; {rounds} alternating pairs, CPU time per request from /proc"
    )
    apis = list(ENDPOINTS)
    if args.workers:
        apis = ["--workers", str(args.workers), *apis]
    seeded = data_file("journal-default")
    start_paymock(["--data", str(seeded), *ENDPOINTS]).stop()  # seed once
    off_file = seeded.with_name("journal-off.sqlite3")
    shutil.copy(seeded, off_file)
    rows = []
    with (
        running(start_paymock(["--data", str(seeded), "--journal-capacity", "1000", *apis])) as on,
        running(start_paymock(["--data", str(off_file), "--journal-capacity", "0", *apis])) as off,
    ):
        for api, path in ENDPOINTS.items():
            c_on, c_off = client(on, api), client(off, api)
            url_on, url_off = c_on.base + path, c_off.base + path
            same = get(url_on, c_on.headers).body.replace(on.url.encode(), off.url.encode())
            if same != get(url_off, c_off.headers).body:
                raise RuntimeError("the two servers do not answer the same page")
            wrk(url_on, c_on.headers, 2, args.connections)
            wrk(url_off, c_off.headers, 2, args.connections)
            pairs: list[tuple[Round, Round]] = []
            for n in range(rounds):
                # Which server goes first alternates, so a drift of the machine favours neither.
                if n % 2:
                    b = measure(off, url_off, c_off.headers, seconds, args.connections)
                    a = measure(on, url_on, c_on.headers, seconds, args.connections)
                else:
                    a = measure(on, url_on, c_on.headers, seconds, args.connections)
                    b = measure(off, url_off, c_off.headers, seconds, args.connections)
                pairs.append((a, b))
            # A one-sided round measures gunicorn's accept race, not the journal: the rate's ratio
            # is taken over the pairs in which every worker of both servers did its part.
            balanced = [(a, b) for a, b in pairs if a.balanced and b.balanced] or pairs
            ratios = [a.load.rps / b.load.rps for a, b in balanced]
            ratio = statistics.median(ratios)
            cpu = statistics.median(a.cpu_us / b.cpu_us for a, b in pairs)
            one_sided = f"{sum(not a.balanced for a, _ in pairs)}/{sum(not b.balanced for _, b in pairs)}"
            kept = f"{len(balanced)}/{len(pairs)}"
            journaled = get(f"{on.url}/__paymock/requests?limit=1").json()["total"]
            on_rps, off_rps = (statistics.median(r.load.rps for r in side) for side in zip(*balanced, strict=True))
            on_cpu, off_cpu = (statistics.median(r.cpu_us for r in side) for side in zip(*pairs, strict=True))
            on_p50, off_p50 = (statistics.median(r.load.p50_ms for r in side) for side in zip(*balanced, strict=True))
            rows.append(
                [
                    api, on_rps, off_rps, f"{ratio:.2f}x", "met" if ratio >= TARGET else "MISSED",
                    f"{min(ratios):.2f}-{max(ratios):.2f}", on_cpu, off_cpu, f"{cpu:.2f}x",
                    "met" if cpu <= CPU_TARGET else "MISSED", one_sided, kept, on_p50, off_p50, journaled,
                ]
            )  # fmt: skip
            print(
                f"   {api}: on {on_rps:,.0f} rps vs off {off_rps:,.0f} rps ({ratio:.2f}x over {kept} pairs);"
                f" CPU per request on {on_cpu:,.0f} us vs off {off_cpu:,.0f} us ({cpu:.2f}x);"
                f" one-sided rounds on/off {one_sided}",
                flush=True,
            )
    off_file.unlink(missing_ok=True)
    print()
    table(
        rows,
        [
            "api",
            "journal on rps",
            "off rps",
            "ratio",
            "target 0.9x",
            "min-max",
            "on CPU us/req",
            "off CPU us/req",
            "CPU ratio",
            "target 1.1x",
            "one-sided on/off",
            "pairs kept",
            "on p50 ms",
            "off p50 ms",
            "journal rows",
        ],
    )


if __name__ == "__main__":
    main()
