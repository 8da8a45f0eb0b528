"""Figure 6, contract checks: wall time of a full default ``paymock check <api>`` of all five APIs.

Starts ``paymock serve`` on a fresh default data file, then runs
``paymock check <api> --url <base URL>`` for each API in turn and prints each one's wall time,
exit code and last output line, and the total. If the ``check`` command is not installed yet,
says so and prints nothing else (the figure is pending).

    .venv/bin/python bench/check_all.py [--quick] [--apis zuora notify]
"""

from __future__ import annotations

import subprocess
import time

from _common import PAYMOCK, ROOT, data_file, get, header, parser, running, start_paymock, table

APIS = ("flexportal", "exsited", "notify", "zuora", "zutax")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--apis", nargs="*", default=list(APIS))
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per API")
    args = p.parse_args()
    header("check_all: full default 'paymock check <api>' against a local mock")
    probe = subprocess.run([PAYMOCK, "check", "--help"], capture_output=True, text=True, cwd=ROOT, check=False)
    if probe.returncode != 0:
        print(
            "   PENDING: 'paymock check' is not available yet:",
            (probe.stderr or probe.stdout).strip().splitlines()[-1:],
        )
        return
    if args.quick:
        print("   --quick: the check runs its defaults; only the API list is shortened to flexportal")
        args.apis = ["flexportal"]
    rows = []
    total = 0.0
    with running(start_paymock(["--data", str(data_file("check-default"))])) as server:
        bases = {name: v["base_url"] for name, v in get(f"{server.url}/__paymock/credentials").json().items()}
        for api in args.apis:
            cmd = [PAYMOCK, "check", api, "--url", bases[api]]
            started = time.perf_counter()
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=args.timeout, check=False)
                rc, text = out.returncode, (out.stdout + out.stderr).strip()
            except subprocess.TimeoutExpired:
                rc, text = -1, f"timed out after {args.timeout:g}s"
            took = time.perf_counter() - started
            total += took
            last = text.splitlines()[-1] if text else ""
            rows.append([api, f"{took:.1f} s", rc, last[:100]])
            print(f"   {api}: {took:.1f}s rc={rc}", flush=True)
    rows.append(["all", f"{total:.1f} s", "", ""])
    print()
    table(rows, ["api", "wall time", "exit", "last line of output"])


if __name__ == "__main__":
    main()
