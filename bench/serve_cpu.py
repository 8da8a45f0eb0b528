"""CPU time per list request of ``paymock serve`` under wrk, for several trees or options side by side.

Not one of issue #4's targets: the tool behind a throughput change that ``request_cpu.py`` (in
process, through Flask's test client) does not see, because it lives in gunicorn, in a thread
beside the request threads (the journal's flusher), or in the sockets. Each configuration is a
``paymock serve`` started from a source tree with its own options and data file (the default
world); every round loads each server with wrk in turn (the order rotates) and reads the CPU
time of all its processes from ``/proc`` before and after: CPU per request is that difference
over the requests wrk completed. CPU per request is far steadier on a busy machine than
requests per second, though not immune (caches and hyper-threads are shared).

    .venv/bin/python bench/serve_cpu.py --config base=/tmp/old-tree --config 'off=.:--journal-capacity 0'
        --config on=. [--apis exsited zuora] [--rounds 5] [--seconds 3]   (one command line)

A configuration is ``NAME=TREE[:SERVE OPTIONS]``; ``TREE`` is a checkout (``git archive <commit> |
tar -x -C DIR``) run with this tree's virtualenv (its ``PYTHONPATH`` first), ``.`` is this tree.
The first configuration is the base every other is compared with (median of per-round ratios).
With ``--postgres``, an embedded PostgreSQL server is started, ``{store}`` in the options is the
URL of a database of its own for each configuration (``'pg=.:--store {store}'``), and the CPU its
processes (the backends serving the replicas) spend per request is reported beside the servers':
on two cores they share it.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    ROOT,
    Server,
    children,
    client,
    cpu_seconds,
    free_port,
    header,
    parser,
    table,
    wait_ready,
    wrk,
)

PATHS = {
    "flexportal": "/v1/payments?limit=50&status=paid",
    "exsited": "/api/v3/payments?limit=50",
    "notify": "/v2/payments?limit=50",
    "zuora": "/v1/payments?pageSize=40&status=Processed",
    # An invoice's payments: the path is filled from the tenant's path selectors and the invoice its
    # credentials name (``params``); unpaginated, a few payments.
    "zutax": "/api/v1/tenants/{tenant_id}/workspaces/{workspace_id}/invoices/{invoice_id}/payments",
}


@dataclass(frozen=True)
class Config:
    """One server to measure: a name, a source tree and extra ``serve`` options."""

    name: str
    tree: Path
    options: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Config:
        """``NAME=TREE[:OPTIONS]``."""
        name, sep, rest = text.partition("=")
        if not sep or not name:
            raise SystemExit(f"--config {text!r}: expected NAME=TREE[:SERVE OPTIONS]")
        tree, _, options = rest.partition(":")
        return cls(name, (ROOT if tree in ("", ".") else Path(tree)).resolve(), tuple(shlex.split(options)))


def start(config: Config, data: Path) -> Server:
    """``paymock serve`` of ``config``'s tree on a free port (seeding ``data`` first if need be)."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix=f"serve-cpu-{config.name}-", suffix=".log")[1])
    cmd = [PYTHON, "-c", "from mock_server.cli import main; main()", "serve", "--data", str(data)]
    cmd += [*config.options, "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(config.tree)}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=config.tree, env=env)
    ready = wait_ready(proc, f"http://127.0.0.1:{port}/__paymock/health", log, 600)
    return Server(proc, port, log, ready)


def _path(api: str, cl: Any) -> str:
    """The API's list path, with the tenant's path selectors and known parameters filled in."""
    return PATHS[api].format(**cl.tenant.get("selectors", {}), **cl.tenant.get("params", {}))


def db_pids(pgdata: Path) -> list[int]:
    """The postmaster of a PostgreSQL data directory and every process under it."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    return [postmaster, *children(postmaster)]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--config", action="append", required=True, help="NAME=TREE[:SERVE OPTIONS] (repeatable)")
    p.add_argument("--apis", nargs="*", default=list(PATHS), choices=list(PATHS))
    p.add_argument("--rounds", type=int, default=5, help="rounds, each server once per round (default 5)")
    p.add_argument("--seconds", type=float, default=3, help="seconds of wrk per server and round (default 3)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    p.add_argument("--postgres", action="store_true", help="start an embedded PostgreSQL: {store} in options")
    p.add_argument("--payments", type=int, help="payments per tenant (default: serve's default world)")
    args = p.parse_args()
    configs = [Config.parse(c) for c in args.config]
    pg: Any = None
    if args.postgres:
        sys.path.insert(0, str(ROOT / "tests"))
        from postgres import Postgres  # tests/postgres.py

        pg = Postgres()
        # A database per configuration: trees of different data layouts refuse each other's.
        urls = {c.name: pg.database("serve_cpu") for c in configs}
        configs = [
            Config(c.name, c.tree, tuple(o.replace("{store}", urls[c.name]) for o in c.options)) for c in configs
        ]
    if args.payments:
        configs = [Config(c.name, c.tree, (*c.options, "--payments", str(args.payments))) for c in configs]
    rounds = 2 if args.quick else args.rounds
    header("CPU per list request of paymock serve under wrk: " + ", ".join(c.name for c in configs))
    servers: dict[str, Server] = {}
    with tempfile.TemporaryDirectory() as scratch:
        try:
            for c in configs:
                servers[c.name] = start(c, Path(scratch) / f"{c.name}.sqlite3")
            for api in args.apis:
                clients = {name: client(s, api) for name, s in servers.items()}
                per: dict[str, list[float]] = {c.name: [] for c in configs}
                db: dict[str, list[float]] = {c.name: [] for c in configs}
                for r in range(rounds):
                    names = [c.name for c in configs]
                    for name in names[r % len(names) :] + names[: r % len(names)]:
                        s, cl = servers[name], clients[name]
                        pids, backends = s.pids(), db_pids(Path(pg.server.pgdata)) if pg else []
                        before, db_before = sum(cpu_seconds(pids)), sum(cpu_seconds(backends))
                        load = wrk(cl.base + _path(api, cl), cl.headers, args.seconds, args.connections)
                        used = sum(cpu_seconds(pids)) - before
                        # Backends that started during the round are not counted: the pools are warm by then.
                        db_used = sum(cpu_seconds(backends)) - db_before
                        per[name].append(used / max(1, load.requests) * 1000)
                        db[name].append(db_used / max(1, load.requests) * 1000)
                base = per[configs[0].name]
                rows = []
                for c in configs:
                    ratios = [x / b for x, b in zip(per[c.name], base, strict=True)]
                    spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
                    median = f"{statistics.median(per[c.name]):.3f}"
                    rows.append([api, c.name, median, f"{statistics.median(ratios):.3f}", spread])
                    if pg is not None:
                        both = [x + y for x, y in zip(per[c.name], db[c.name], strict=True)]
                        rows[-1] += [f"{statistics.median(db[c.name]):.3f}", f"{statistics.median(both):.3f}"]
                head = ["api", "server", "ms CPU/request", f"/ {configs[0].name}", "min-max"]
                table(rows, head + (["PostgreSQL ms", "together ms"] if pg is not None else []))
        finally:
            for s in servers.values():
                s.stop()
            if pg is not None:
                pg.stop()


if __name__ == "__main__":
    main()
