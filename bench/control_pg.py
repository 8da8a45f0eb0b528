"""The control state on PostgreSQL: what its per-request reads and the shared journal cost a list page.

In process (Flask's test client, one thread), on one embedded PostgreSQL (or ``--store``), three
apps over the same seeded flexportal world answer the same page of 50 (status=paid), in
alternating rounds:

- ``sqlite``: the control state in process (``:memory:``), journal off: no control round trip;
- ``pg``: the control state in the database, journal off: one more indexed read per request
  (the rules' generation, read so that a rule posted through any replica applies at once);
- ``pg+journal``: as ``pg`` with the journal on (entries buffered, made and written every 100 ms).

The ratios (median of the rounds' ratios) are the cost of one shared state per request.

    .venv/bin/python bench/control_pg.py [--quick] [--store URL] [--requests 400] [--rounds 5]
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
import warnings
from typing import Any

from _common import ROOT, header, parser, table

sys.path.insert(0, str(ROOT / "tests"))

from mock_server.app import create_app
from mock_server.control.plane import ControlPlane
from mock_server.sandbox import Sandbox
from mock_server.store.postgresql.control import PostgreSQLControlState
from mock_server.store.sqlite.control import SqliteControlState

PATH = "/flexportal/v1/payments?limit=50&status=paid"


def _app(url: str, kind: str) -> Any:
    sandbox = Sandbox.open(["flexportal"], store=url, payments=2000).seed()
    runtimes = sandbox.runtimes()
    state: Any = SqliteControlState(":memory:", 0) if kind == "sqlite" else None
    if state is None:
        state = PostgreSQLControlState(url, 1000 if kind == "pg+journal" else 0)
    control = ControlPlane(state, runtimes, 1, journal=kind == "pg+journal")
    return create_app(runtimes, control=control).test_client()


def _rate(client: Any, headers: dict[str, str], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        answer = client.get(PATH, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"{PATH}: {answer.status_code} {answer.data[:200]!r}")
    return n / (time.perf_counter() - started)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--store", help="a postgresql:// URL (default: an embedded server, deleted afterwards)")
    p.add_argument("--requests", type=int, help="requests per round (default 400; 150 with --quick)")
    p.add_argument("--rounds", type=int, help="alternating rounds (default 5; 2 with --quick)")
    args = p.parse_args()
    n = args.requests or (150 if args.quick else 400)
    rounds = args.rounds or (2 if args.quick else 5)
    server = None
    url = args.store
    if url is None:
        from postgres import Postgres  # tests/postgres.py

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = Postgres()
        url = server.database("bench")
    try:
        header("control state on PostgreSQL: a list page (in process) with the control state in process vs shared")
        kinds = ("sqlite", "pg", "pg+journal")
        clients = {kind: _app(url, kind) for kind in kinds}
        creds = clients["sqlite"].get("/__paymock/credentials").get_json()["flexportal"]["tenants"][0]
        headers = {creds["header"]: creds["value"], **creds.get("selectors", {})}
        for client in clients.values():
            _rate(client, headers, 50)  # warm: caches, pools, the journal's flusher
        rates: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(rounds):
            for kind in kinds:
                rates[kind].append(_rate(clients[kind], headers, n))
        base = rates["sqlite"]
        rows = []
        for kind, r in rates.items():
            ratio = statistics.median(a / b for a, b in zip(r, base, strict=True))
            rows.append([kind, f"{statistics.median(r):.0f}", f"{ratio:.2f}x"])
        table(rows, ["control state", "req/s (median)", "vs sqlite"])
    finally:
        if server is not None:
            logging.disable(logging.CRITICAL)  # the journal flusher and its pool outlive the server
            server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
