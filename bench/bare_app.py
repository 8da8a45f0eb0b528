"""The bare ceiling for ``bench/throughput.py``: a minimal Flask app returning precomputed bytes.

Run under gunicorn with the same worker class, workers, threads and listening sockets (one per
worker) as ``paymock serve``::

    BARE_BODY=/tmp/page.json BARE_CONTENT_TYPE=application/json \
        .venv/bin/gunicorn --chdir bench --worker-class gthread --workers 2 --threads 4 --reuse-port bare_app:app

Every path answers the body of the file ``BARE_BODY`` (read once at start-up) with
``BARE_CONTENT_TYPE``; ``/__health`` answers ``ok``. It does no auth, validation or query: it is
what a WSGI worker costs on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

BODY = Path(os.environ["BARE_BODY"]).read_bytes() if "BARE_BODY" in os.environ else b"{}"
CONTENT_TYPE = os.environ.get("BARE_CONTENT_TYPE", "application/json")

app = Flask("bare")


@app.get("/__health")
def health() -> Response:
    return Response(b"ok", content_type="text/plain")


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def page(path: str) -> Response:
    return Response(BODY, content_type=CONTENT_TYPE)
