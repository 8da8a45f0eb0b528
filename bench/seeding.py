"""Figure 3, seeding and start-up: time to generate 1,000,000 payments, and to restart on the file.

1. ``paymock seed <api> --payments N --tenants 1 --data F`` on a fresh file: wall time (target
   < 60 s for 1,000,000), the seeding process's peak RSS and the data file's size.
2. ``paymock serve <api>`` with the same options on the existing file, three times: seconds
   from spawning the process until ``/__paymock/health`` answers (target < 2 s).

The data file is left in place ($PAYMOCK_BENCH_DATA, default /tmp/paymock-bench) for depth.py
and memory.py, which use the same name.

    .venv/bin/python bench/seeding.py [--quick] [--api flexportal] [--payments 1000000]
"""

from __future__ import annotations

import resource
import subprocess
import time
from pathlib import Path

from _common import PAYMOCK, data_file, header, parser, remove_data, running, start_paymock, table

SEED_TARGET_S = 60.0
START_TARGET_S = 2.0


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--api", default="flexportal")
    p.add_argument("--payments", type=int, help="payments (default 1,000,000; 20,000 with --quick)")
    p.add_argument("--restarts", type=int, default=3)
    args = p.parse_args()
    payments = args.payments or (20_000 if args.quick else 1_000_000)
    header(f"seeding: {payments:,} {args.api} payments in one tenant, then restarts on the file")
    data = data_file(f"{args.api}-{payments}x1")
    remove_data(data)
    opts = [args.api, "--payments", str(payments), "--tenants", "1", "--data", str(data)]
    started = time.perf_counter()
    out = subprocess.run([PAYMOCK, "seed", *opts], capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"paymock seed failed ({out.returncode}):\n{out.stderr[-3000:]}")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size_mib = sum(Path(str(data) + s).stat().st_size for s in ("", "-wal") if Path(str(data) + s).exists()) / 2**20
    reported = next((ln for ln in out.stderr.splitlines() if ln.startswith("seeded")), "")
    scaled = took * 1_000_000 / payments
    verdict = "met" if took < SEED_TARGET_S else "MISSED"
    if payments < 1_000_000:
        verdict = f"~{scaled:.0f} s per 1M (linear)"
    detail = (
        f"{payments / took:,.0f} payments/s; peak RSS {peak_mib:,.0f} MiB; file {size_mib:,.0f} MiB; CLI: {reported!r}"
    )
    rows: list[list[object]] = [["seed", f"{took:.1f} s", f"< {SEED_TARGET_S:g} s (1M)", verdict, detail]]
    print(f"   seeded in {took:.1f}s", flush=True)
    for n in range(1, args.restarts + 1):
        with running(start_paymock(opts, timeout=600)) as server:
            ready = server.ready_s
        rows.append(
            [
                f"restart {n}",
                f"{ready:.2f} s",
                f"< {START_TARGET_S:g} s",
                "met" if ready < START_TARGET_S else "MISSED",
                "spawn -> /__paymock/health 200",
            ]
        )
        print(f"   restart {n}: ready in {ready:.2f}s", flush=True)
    print()
    table(rows, ["step", "time", "target", "", "detail"])


if __name__ == "__main__":
    main()
