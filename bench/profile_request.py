"""Where a list request's time goes: in-process cost per request, and a cProfile of it.

Not one of issue #4's figures: a tool behind them. It builds paymock's WSGI app in this process
(no gunicorn, no sockets) on the throughput data file and calls it through Flask's test client,
next to a bare Flask view returning the same bytes; prints milliseconds per request for both,
their difference (what paymock itself adds) and paymock's hottest functions.

    .venv/bin/python bench/profile_request.py [--quick] [--apis flexportal zuora] [--top 25]
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from typing import Any

from _common import ROOT, data_file, header, parser

sys.path.insert(0, str(ROOT))

from flask import Flask, Response

from mock_server.sandbox import Sandbox

PATHS = {
    "flexportal": "/v1/payments?limit=50&status=paid",
    "exsited": "/api/v3/payments?limit=50",
    "notify": "/v2/payments?limit=50",
    "zuora": "/v1/payments?pageSize=40&status=Processed",
}


def headers_for(client: Any, api: str, creds: dict[str, Any]) -> dict[str, str]:
    """Request headers for the first tenant of ``api`` (tokens from the app itself)."""
    t = creds[api]["tenants"][0]
    out = {k: v for k, v in t.get("selectors", {}).items() if k[:1].isupper()}
    if "header" in t:
        out[t["header"]] = t["value"]
    elif api == "zuora":
        form = {"client_id": t["client_id"], "client_secret": t["client_secret"], "grant_type": "client_credentials"}
        out["Authorization"] = "Bearer " + client.post("/zuora/oauth/token", data=form).get_json()["access_token"]
    else:
        body = {
            "grant_type": "client_credentials", "client_id": t["client_id"],
            "client_secret": t["client_secret"], "redirect_uri": "http://localhost/cb",
        }  # fmt: skip
        answer = client.post("/exsited/api/v1/oauth2/token", json=body)
        out["Authorization"] = "Bearer " + answer.get_json()["access_token"]
    return out


def bare_app(body: bytes) -> Flask:
    """A Flask app answering ``body`` on every path."""
    bare = Flask("bare")
    bare.add_url_rule("/<path:p>", "page", lambda p: Response(body, content_type="application/json"))
    return bare


def per_request(call: Any, n: int) -> float:
    """Seconds per call, after a warm-up."""
    for _ in range(min(50, n)):
        call()
    started = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - started) / n


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--apis", nargs="*", default=list(PATHS))
    p.add_argument("--requests", type=int, help="requests per measurement (default 1000; 200 with --quick)")
    p.add_argument("--top", type=int, default=20, help="functions to list, by cumulative time")
    args = p.parse_args()
    n = args.requests or (200 if args.quick else 1000)
    header("profile_request: paymock's own cost per list request, in process")
    app = Sandbox.open(store=data_file("throughput-default")).seed().app()
    client = app.test_client()
    creds = client.get("/__paymock/credentials").get_json()
    for api in args.apis:
        url = f"/{api}{PATHS[api]}"
        hdrs = headers_for(client, api, creds)
        first = client.get(url, headers=hdrs)
        if first.status_code != 200:
            raise SystemExit(f"{url} answered {first.status_code}: {first.data[:300]!r}")
        body = first.data
        bare_client = bare_app(body).test_client()
        ours = per_request(lambda url=url, hdrs=hdrs: client.get(url, headers=hdrs), n)
        theirs = per_request(lambda hdrs=hdrs, bc=bare_client: bc.get("/page", headers=hdrs), n)
        print(f"\n-- {api} {PATHS[api]}  ({len(body) / 1024:.1f} KiB)")
        print(f"   paymock {ours * 1000:.3f} ms/request, bare Flask {theirs * 1000:.3f} ms/request:"
              f" paymock adds {(ours - theirs) * 1000:.3f} ms")  # fmt: skip
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(n):
            client.get(url, headers=hdrs)
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        # Only paymock's own functions: werkzeug's URL helpers showed up here too, but they are
        # the test client's (it rebuilds each request's URL), which the bare view pays as well.
        stats.sort_stats("cumulative").print_stats(r"mock_server|sqlite3|jsonschema", args.top)
        lines = [ln for ln in out.getvalue().splitlines() if ln.strip() and ("/" in ln or "{" in ln)]
        print(f"   cProfile, cumulative seconds over {n} requests (cProfile slows calls ~2x):")
        for line in lines[: args.top]:
            cols = line.split(None, 5)
            if len(cols) == 6 and cols[0][0].isdigit():
                print(f"   {float(cols[3]) / n * 1000:7.3f} ms/req  {cols[5].replace(str(ROOT) + '/', '')}")


if __name__ == "__main__":
    main()
