"""Journal overhead: list-page throughput of ``paymock serve`` with the request journal on vs off.

Two servers on copies of one seeded data file, the same settings except ``--journal-capacity``
(1000, the default, vs 0), loaded with wrk in alternating rounds; the ratio (target: on >= 0.9x
off) is the median of the rounds' ratios. Every journaled request is one row written in its own
transaction (a ``BEGIN IMMEDIATE`` shared with the other worker), so this is the figure that
says whether writing per request is cheap enough.

    .venv/bin/python bench/journal.py [--quick] [--seconds 3] [--rounds 5] [--connections 8]
"""

from __future__ import annotations

import shutil
import statistics

from _common import client, data_file, get, header, parser, running, start_paymock, table, wrk

TARGET = 0.9
ENDPOINTS = {
    "flexportal": "/v1/payments?limit=50&status=paid",
    "zuora": "/v1/payments?pageSize=40&status=Processed",
}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, help="wrk duration per round (default 3; 2 with --quick)")
    p.add_argument("--rounds", type=int, help="alternating pairs of rounds per endpoint (default 5; 2 with --quick)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    args = p.parse_args()
    seconds = args.seconds or (2.0 if args.quick else 3.0)
    rounds = args.rounds or (2 if args.quick else 5)
    header("journal: list page with the request journal on (capacity 1000) vs off (capacity 0)")
    print(
        f"   paymock serve defaults for both; wrk -t1 -c{args.connections} -d{seconds:g}s; {rounds} alternating pairs"
    )
    apis = list(ENDPOINTS)
    seeded = data_file("journal-default")
    start_paymock(["--data", str(seeded), *apis]).stop()  # seed once
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
            pairs = []
            for _ in range(rounds):
                a = wrk(url_on, c_on.headers, seconds, args.connections)
                b = wrk(url_off, c_off.headers, seconds, args.connections)
                pairs.append((a, b))
            ratios = [a.rps / b.rps for a, b in pairs]
            ratio = statistics.median(ratios)
            journaled = get(f"{on.url}/__paymock/requests?limit=1").json()["total"]
            rows.append(
                [
                    api, statistics.median(a.rps for a, _ in pairs), statistics.median(b.rps for _, b in pairs),
                    f"{ratio:.2f}x", "met" if ratio >= TARGET else "MISSED", f"{min(ratios):.2f}-{max(ratios):.2f}",
                    statistics.median(a.p50_ms for a, _ in pairs), statistics.median(b.p50_ms for _, b in pairs),
                    journaled,
                ]
            )  # fmt: skip
            print(f"   {api}: on {rows[-1][1]:,.0f} rps vs off {rows[-1][2]:,.0f} rps ({ratio:.2f}x)", flush=True)
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
            "on p50 ms",
            "off p50 ms",
            "journal rows",
        ],
    )


if __name__ == "__main__":
    main()
