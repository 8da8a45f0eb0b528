"""Figure 1, throughput: each list endpoint through ``paymock serve`` vs a bare Flask app.

For each list endpoint, a page of 50 with one filter where the API has one, loaded with wrk on
loopback; then the same bytes served by ``bench/bare_app.py`` under gunicorn with the same worker
class, workers and threads, loaded the same way right after. Prints both requests/s, their ratio
(target: paymock >= 0.5x bare) and p50/p99 latency.

gunicorn's workers race to accept connections: now and then one worker takes all of wrk's
connections and the other idles, for either server, and that round measures the race rather
than the app (each server then answers at about half its rate). Every round records how the
workers shared the CPU; the ratio is the median over pairs of rounds in which both servers
kept every worker busy, and the ratio over all rounds is printed beside it (see bench/README.md).

    .venv/bin/python bench/throughput.py [--quick] [--seconds 3] [--rounds 7] [--connections 8]
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import (
    DEFAULT_THREADS,
    DEFAULT_WORKERS,
    Client,
    Load,
    Server,
    client,
    cpu_seconds,
    data_file,
    get,
    header,
    parser,
    running,
    start_bare,
    start_paymock,
    table,
    wrk,
)

from mock_server.store.sqlite import sql as spelled

TARGET = 0.5
#: A round is one-sided when a worker used less than this fraction of its even share of the CPU.
ONE_SIDED = 0.3
#: Extra pairs of rounds run, at most, to replace one-sided ones.
EXTRA_PAIRS = 6


@dataclass(frozen=True)
class Round:
    """One wrk round against one server, with how its workers shared the CPU."""

    load: Load
    balanced: bool
    shares: tuple[float, ...]


def measure(server: Server, url: str, headers: dict[str, str], seconds: float, connections: int) -> Round:
    """A wrk round, noting whether every worker of ``server`` did its part of the work."""
    workers = server.workers()
    before = cpu_seconds(workers)
    load = wrk(url, headers, seconds, connections)
    used = [b - a for a, b in zip(before, cpu_seconds(workers), strict=True)]
    total = sum(used) or 1.0
    shares = tuple(u / total for u in used)
    return Round(load, min(shares) >= ONE_SIDED / len(shares), shares)


@dataclass(frozen=True)
class Endpoint:
    """One list request to load."""

    api: str
    path: str
    note: str


def endpoints(data: Path, zutax: Client) -> list[Endpoint]:
    """The five list requests (zutax needs an invoice that has payments: read from the data file)."""
    # zutax has no endpoint that lists invoices, so the invoice with the most payments is looked
    # up in the data file, read-only.
    db = sqlite3.connect(f"file:{data}?mode=ro", uri=True)
    try:
        invoice = db.execute(
            f"SELECT c_invoice FROM {spelled.rows('r_zutax_invoice_payments', 1)}"
            " GROUP BY c_invoice ORDER BY count(*) DESC, c_invoice LIMIT 1"
        ).fetchone()[0]
    finally:
        db.close()
    sel = zutax.tenant["selectors"]
    zutax_path = f"/api/v1/tenants/{sel['tenant_id']}/workspaces/{sel['workspace_id']}/invoices/{invoice}/payments"
    return [
        Endpoint("flexportal", "/v1/payments?limit=50&status=paid", "cursor; filter status=paid"),
        Endpoint("exsited", "/api/v3/payments?limit=50", "offset; the API has no filters"),
        Endpoint("notify", "/v2/payments?limit=50", "from-id; the API has no filters"),
        Endpoint("zuora", "/v1/payments?pageSize=40&status=Processed", "page-number; max pageSize is 40"),
        Endpoint("zutax", zutax_path, "unpaginated; one invoice's payments"),
    ]


def median_load(loads: list[Load]) -> Load:
    """Per figure, the median over rounds (errors summed)."""
    return Load(
        rps=statistics.median(x.rps for x in loads),
        requests=sum(x.requests for x in loads),
        p50_ms=statistics.median(x.p50_ms for x in loads),
        p90_ms=statistics.median(x.p90_ms for x in loads),
        p99_ms=statistics.median(x.p99_ms for x in loads),
        max_ms=max(x.max_ms for x in loads),
        errors=sum(x.errors for x in loads),
        non_2xx=sum(x.non_2xx for x in loads),
    )


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, help="wrk duration per round (default 3; 2 with --quick)")
    p.add_argument("--rounds", type=int, help="alternating rounds per endpoint (default 7; 1 with --quick)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    p.add_argument("--apis", nargs="*", help="only these APIs")
    p.add_argument(
        "--journal-capacity", type=int, help="passed to paymock serve (0: the journal off; default: serve's)"
    )
    args = p.parse_args()
    seconds = args.seconds or (2.0 if args.quick else 3.0)
    rounds = args.rounds or (1 if args.quick else 7)
    header("throughput: paymock list page vs bare Flask returning the same bytes")
    print(
        f"   gunicorn gthread workers={DEFAULT_WORKERS} threads={DEFAULT_THREADS} (paymock serve's defaults)"
        f" for both; wrk -t1 -c{args.connections} -d{seconds:g}s; alternating rounds until {rounds} pair(s) in"
        f" which every worker of both servers did its part (at most {rounds + EXTRA_PAIRS} pairs), after a 2 s"
        " warm-up of each; ratio = median of those pairs' ratios"
    )
    data = data_file("throughput-default")
    rows = []
    options = [] if args.journal_capacity is None else ["--journal-capacity", str(args.journal_capacity)]
    if options:
        print(f"   paymock serve {' '.join(options)}")
    with running(start_paymock(["--data", str(data), *options])) as mock:
        clients = {name: client(mock, name) for name in ("flexportal", "exsited", "notify", "zuora", "zutax")}
        for ep in endpoints(data, clients["zutax"]):
            if args.apis and ep.api not in args.apis:
                continue
            c = clients[ep.api]
            url = c.base + ep.path
            first = get(url, c.headers)
            items = _count(first.json())
            with tempfile.NamedTemporaryFile(suffix=".body", delete=False) as f:
                f.write(first.body)
            ctype = first.headers.get("Content-Type", "application/json")
            pairs: list[tuple[Round, Round]] = []
            with running(start_bare(Path(f.name), ctype, DEFAULT_WORKERS, DEFAULT_THREADS)) as bare:
                bare_url = f"{bare.url}/page"
                if get(bare_url).body != first.body:
                    raise RuntimeError("the bare app does not answer the same bytes")
                wrk(url, c.headers, 2, args.connections)
                wrk(bare_url, {}, 2, args.connections)
                while len(pairs) < rounds + EXTRA_PAIRS and _balanced(pairs) < rounds:
                    ours = measure(mock, url, c.headers, seconds, args.connections)
                    theirs = measure(bare, bare_url, {}, seconds, args.connections)
                    pairs.append((ours, theirs))
            Path(f.name).unlink()
            balanced = [(x, y) for x, y in pairs if x.balanced and y.balanced]
            kept = balanced or pairs
            a, b = median_load([x.load for x, _ in kept]), median_load([y.load for _, y in kept])
            # Each round's ratio compares two loads seconds apart; their median resists the drift
            # of a shared machine better than a ratio of medians.
            ratios = [x.load.rps / y.load.rps for x, y in kept]
            every = statistics.median(x.load.rps / y.load.rps for x, y in pairs)
            ratio = statistics.median(ratios)
            one_sided = f"{sum(not x.balanced for x, _ in pairs)}/{sum(not y.balanced for _, y in pairs)}"
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            rows.append(
                [
                    ep.api, f"{len(first.body) / 1024:.1f}K/{items}", a.rps, b.rps, f"{ratio:.2f}x",
                    "met" if ratio >= TARGET else "MISSED", f"{every:.2f}x", f"{len(kept)}/{len(pairs)}", one_sided,
                    a.p50_ms, a.p99_ms, b.p50_ms, b.p99_ms, a.errors + a.non_2xx, spread, ep.note,
                ]
            )  # fmt: skip
            print(
                f"   {ep.api}: {a.rps:,.0f} rps vs bare {b.rps:,.0f} rps ({ratio:.2f}x over {len(kept)}"
                f" {'balanced pairs' if balanced else 'pairs, none balanced'}; {every:.2f}x over all {len(pairs)};"
                f" one-sided rounds paymock/bare {one_sided})",
                flush=True,
            )
    print()
    table(
        rows,
        [
            "api", "body/items", "paymock rps", "bare rps", "ratio", "target 0.5x", "all rounds", "pairs kept",
            "one-sided p/b", "p50 ms", "p99 ms", "bare p50", "bare p99", "errors", "kept min-max", "request",
        ],
    )  # fmt: skip


def _balanced(pairs: list[tuple[Round, Round]]) -> int:
    return sum(x.balanced and y.balanced for x, y in pairs)


def _count(body: object) -> int | str:
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        for key in ("payments", "data", "items"):
            value = body.get(key)
            if isinstance(value, list):
                return len(value)
        embedded = body.get("_embedded")
        if isinstance(embedded, dict):
            for value in embedded.values():
                if isinstance(value, list):
                    return len(value)
    return "?"


if __name__ == "__main__":
    main()
