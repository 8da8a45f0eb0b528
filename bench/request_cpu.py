"""CPU time per list request, in process, of several source trees alternated: what a change costs.

Not one of issue #4's targets: a side-by-side tool for a change on the hot path when the machine
is too busy for ``throughput.py`` (wall-clock rates swing 3x under other load; CPU time of the
process swings far less). Each round runs, in a fresh process per tree, 1,500 list requests per
API through the Flask test client over a 500-payment world, and reads ``time.process_time``;
trees take turns in an order that rotates every round, and for each tree the median of its
per-round ratios to the base is printed.

    .venv/bin/python bench/request_cpu.py --base /tmp/old-tree [--other /tmp/t2 ...] [--rounds 8]

``--base`` is a checkout of the code to compare with (``git archive <commit> | tar -x -C DIR``);
``--other`` adds more checkouts (a bisection in one run); this tree is always measured. All run
with this tree's virtualenv. A tree that has a control plane (fault rules, journal) gets the one
``paymock serve`` builds, with ``--journal-capacity`` entries (default 0: the journal off, so
that its own cost, measured by ``journal.py``, is kept apart); older trees have none.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, parser

PATHS = {
    "flexportal": "/v1/payments?limit=50&status=paid",
    "exsited": "/api/v3/payments?limit=50",
    "notify": "/v2/payments?limit=50",
    "zuora": "/v1/payments?pageSize=40&status=Processed",
    # An invoice's payments: the path is filled from the tenant's path selectors and the invoice its
    # credentials name (``params``); unpaginated, a few payments.
    "zutax": "/api/v1/tenants/{tenant_id}/workspaces/{workspace_id}/invoices/{invoice_id}/payments",
}


def measure(tree: str, data: str, n: int, capacity: int) -> dict[str, float]:
    """Milliseconds of CPU per request for each API, with ``tree``'s mock_server (run in a child)."""
    sys.path.insert(0, tree)
    from mock_server import cli
    from mock_server.app import create_app

    served = cli.prepare((), data, 1, 500, None, "2026-11-01", quiet=True)
    runtimes = cli.build_runtimes(served)
    if hasattr(cli, "control_plane"):  # trees since the control plane (issue 17): as `serve` builds it
        plane = cli.control_plane(data, runtimes, 1, None, capacity)
        client = create_app(runtimes, control=plane).test_client()
    else:
        client = create_app(runtimes).test_client()
    creds = client.get("/__paymock/credentials").get_json()
    out = {}
    for api, path in PATHS.items():
        t = creds[api]["tenants"][0]
        headers = {k: v for k, v in t.get("selectors", {}).items() if k[:1].isupper()}
        pair = {k: t[k] for k in ("client_id", "client_secret") if k in t}
        if "header" in t:
            headers[t["header"]] = t["value"]
        elif api == "zuora":
            answer = client.post("/zuora/oauth/token", data={**pair, "grant_type": "client_credentials"})
            headers["Authorization"] = "Bearer " + answer.get_json()["access_token"]
        else:
            body = {**pair, "grant_type": "client_credentials", "redirect_uri": "http://x/cb"}
            answer = client.post("/exsited/api/v1/oauth2/token", json=body)
            headers["Authorization"] = "Bearer " + answer.get_json()["access_token"]
        url = f"/{api}" + path.format(**t.get("selectors", {}), **t.get("params", {}))
        if client.get(url, headers=headers).status_code != 200:
            raise SystemExit(f"{tree}: {url} does not answer 200")
        for _ in range(100):
            client.get(url, headers=headers)
        started = time.process_time()
        for _ in range(n):
            client.get(url, headers=headers)
        out[api] = (time.process_time() - started) / n * 1000
    return out


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--base", help="the tree to compare with (a checkout of another commit); required")
    p.add_argument("--other", nargs="*", default=[], help="more trees to measure against the base")
    p.add_argument("--rounds", type=int, default=8, help="rounds, each tree once per round (default 8)")
    p.add_argument("--requests", type=int, default=1500, help="requests per API and round (default 1500)")
    p.add_argument("--journal-capacity", type=int, default=0, help="journal entries kept (default 0: off)")
    p.add_argument("--child", nargs=2, metavar=("TREE", "DATA"), help="internal: one measurement, in a fresh process")
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], args.child[1], args.requests, args.journal_capacity)))
        return
    if args.base is None:
        p.error("--base is required")
    trees = {"base": str(Path(args.base).resolve())}
    trees.update({Path(t).name: str(Path(t).resolve()) for t in args.other})
    trees["this"] = str(ROOT)
    names = list(trees)
    results: dict[str, list[dict[str, float]]] = {t: [] for t in trees}
    with tempfile.TemporaryDirectory() as scratch:
        for r in range(args.rounds):
            # Rotate the order, so that no tree always runs first (or always after the same one).
            for name in names[r % len(names) :] + names[: r % len(names)]:
                data = f"{scratch}/{name}/data.sqlite3"
                Path(data).parent.mkdir(exist_ok=True)
                cmd = [sys.executable, __file__, "--child", trees[name], data, "--requests", str(args.requests)]
                cmd += ["--journal-capacity", str(args.journal_capacity)]
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise SystemExit(f"{name} ({trees[name]}) failed:\n{done.stderr[-3000:]}")
                results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(name, r, {a: round(v, 3) for a, v in results[name][-1].items()}, flush=True)
    for api in PATHS:
        base = statistics.median(b[api] for b in results["base"])
        print(f"{api}: base {base:.3f} ms CPU/request")
        for name in names[1:]:
            ratios = [t[api] / b[api] for t, b in zip(results[name], results["base"], strict=True)]
            this = statistics.median(t[api] for t in results[name])
            print(
                f"  {name}: {this:.3f} ms; /base, median of {len(ratios)} rounds {statistics.median(ratios):.3f}"
                f" (min {min(ratios):.3f}, max {max(ratios):.3f})"
            )


if __name__ == "__main__":
    main()
