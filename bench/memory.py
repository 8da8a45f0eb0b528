"""Figure 4, memory: peak RSS of the serving processes with 1,000,000 payments, under load.

Serves one API (flexportal by default) seeded with ``--payments N --tenants 1`` (the file from
seeding.py/depth.py is reused) with ``paymock serve``'s default workers and threads, and loads it
with wrk rotating over first pages, status-filtered pages, single payments spread evenly over the
collection and the page after each. Meanwhile /proc/<pid>/status of the gunicorn master and every worker is sampled; the
figure is the largest sum of VmRSS over one sample (target < 1 GiB), with each process's
VmHWM (its own peak) summed at the end as an upper bound.

    .venv/bin/python bench/memory.py [--quick] [--api flexportal] [--seconds 30]
"""

from __future__ import annotations

import sqlite3
import threading
import time

from _common import (
    Client,
    client,
    header,
    memory_kib,
    parser,
    running,
    start_paymock,
    table,
    wrk,
)
from depth import world

from mock_server.store.sqlite import sql as spelled

TARGET_MIB = 1024.0


def paths(c: Client, api: str, prefix: str, data: str, payments: int) -> list[str]:
    """A mix of requests that touches the whole collection.

    IDs spread evenly over the collection are read from the data file (read-only): a payment
    deep in the list and the page after it are requested like any near the top.
    """
    if api != "flexportal":
        raise SystemExit("memory.py knows flexportal's requests; pass --api flexportal")
    out = [f"{prefix}/v1/payments?limit=50", f"{prefix}/v1/payments?limit=100"]
    for status in ("paid", "pending", "failed", "cancelled"):
        out.append(f"{prefix}/v1/payments?limit=50&status={status}")
    step = max(1, payments // 60)
    db = sqlite3.connect(f"file:{data}?mode=ro", uri=True)
    try:
        marks = ",".join(str(pk) for pk in range(1, payments + 1, step))
        rows = spelled.rows("r_flexportal_payments", 1)
        ids = [r[0] for r in db.execute(f"SELECT id FROM {rows} WHERE pk IN ({marks})")]
    finally:
        db.close()
    for pid in ids:
        out.append(f"{prefix}/v1/payments/{pid}")
        out.append(f"{prefix}/v1/payments?limit=50&startAfter={pid}")
    return out


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--api", default="flexportal")
    p.add_argument("--payments", type=int, help="payments (default 1,000,000; 20,000 with --quick)")
    p.add_argument("--seconds", type=float, help="load duration (default 30; 5 with --quick)")
    p.add_argument("--connections", type=int, default=16)
    args = p.parse_args()
    payments = args.payments or (20_000 if args.quick else 1_000_000)
    seconds = args.seconds or (5.0 if args.quick else 30.0)
    header(f"memory: peak RSS serving {payments:,} {args.api} payments under load")
    data, seeded = world(args.api, payments)
    if seeded:
        print(f"   seeded in {seeded:.1f}s", flush=True)
    opts = [args.api, "--payments", str(payments), "--tenants", "1", "--data", data]
    with running(start_paymock(opts)) as server:
        c = client(server, args.api)
        prefix = c.base[len(f"http://127.0.0.1:{server.port}") :]
        mix = paths(c, args.api, prefix, data, payments)
        idle = sum(rss for rss, _ in memory_kib(server.pids()).values()) / 1024
        peak = [idle, 0.0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                now = memory_kib(server.pids())
                peak[0] = max(peak[0], sum(rss for rss, _ in now.values()) / 1024)
                peak[1] = float(len(now))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        load = wrk(f"http://127.0.0.1:{server.port}/", c.headers, seconds, args.connections, paths=mix)
        stop.set()
        sampler.join()
        final = memory_kib(server.pids())
        hwm = sum(h for _, h in final.values()) / 1024
        per = ", ".join(f"{pid}: {rss / 1024:.0f}/{h / 1024:.0f}" for pid, (rss, h) in sorted(final.items()))
    target = f"< {TARGET_MIB:,.0f} MiB"
    latency = f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms"
    table(
        [
            ["idle RSS (sum)", f"{idle:,.0f} MiB", "", ""],
            ["peak RSS (sum, one sample)", f"{peak[0]:,.0f} MiB", target, "met" if peak[0] < TARGET_MIB else "MISSED"],
            ["sum of VmHWM (upper bound)", f"{hwm:,.0f} MiB", target, "met" if hwm < TARGET_MIB else "MISSED"],
            ["load", f"{load.rps:,.0f} rps", latency, f"errors {load.errors + load.non_2xx}"],
        ],
        ["what", "figure", "target", ""],
    )  # fmt: skip
    print(f"   processes {int(peak[1])} (pid: RSS/HWM MiB at the end): {per}")


if __name__ == "__main__":
    main()
