"""paymock's mock for tests, on a free loopback port.

It is the target of the pytest plugin's fixtures and of the kit's own tests. The mock runs as
``paymock serve`` in a child process (a ``:memory:`` store, one worker): the kit never imports
the mock's app, so nothing of the server's code is shared by its judge. This process answers on
its own port and forwards every request to the child.

A WSGI middleware can be put in front of the forwarding for a while (:meth:`MockServer.wrapped`),
which is how a test builds a deliberately broken implementation without touching the mock.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import requests

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

#: A WSGI application.
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Payments per tenant of the test world: several pages at every page size, seeded in a second.
DEFAULT_PAYMENTS = 200
DEFAULT_AS_OF = "2026-11-01"
#: Seconds the child may take to seed and answer.
STARTUP_SECONDS = 120

#: Headers that belong to one connection, not to the message (RFC 9110, 7.6.1).
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _paymock() -> list[str]:
    """The ``paymock`` command of this environment."""
    beside = Path(sys.executable).with_name("paymock")
    found = str(beside) if beside.exists() else shutil.which("paymock")
    if found is None:
        raise RuntimeError("the 'paymock' command is not installed in this environment (pip install paymock)")
    return [found]


def _path(environ: dict[str, Any]) -> str:
    """The request path as the client sent it (percent-encoded), unless a fault in front changed it."""
    decoded = str(environ.get("PATH_INFO", ""))
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "").split("?", 1)[0]
    if raw and unquote(raw, encoding="latin-1") == decoded:
        return raw
    return quote(decoded.encode("latin-1"), safe="/:@!$&'()*+,;=-._~")


class Forward:
    """A WSGI application that sends every request on to ``upstream`` and returns its answer as it is.

    Args:
        upstream: The server root to forward to (``http://127.0.0.1:PORT``).
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.session = requests.Session()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Forward one request; answer with the upstream's status, headers and bytes."""
        query = environ.get("QUERY_STRING", "")
        url = f"{self.upstream}{_path(environ)}" + (f"?{query}" if query else "")
        headers = {
            key[5:].replace("_", "-").title(): str(value) for key, value in environ.items() if key.startswith("HTTP_")
        }
        # Without the client's Accept-Encoding, none: a fault in front reads plain bodies.
        headers.setdefault("Accept-Encoding", "identity")
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").title()] = str(environ[key])
        # Host stays the front's: links the mock writes (next pages) must lead back through it.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        answer = self.session.request(
            environ["REQUEST_METHOD"], url, headers=headers, data=body, stream=True, allow_redirects=False
        )
        # The bytes as sent (a gzip body stays gzip, with its Content-Encoding and Content-Length).
        content = answer.raw.read(decode_content=False)
        answer.close()
        kept = [(k, v) for k, v in answer.raw.headers.items() if k.lower() not in _HOP_BY_HOP]
        start_response(f"{answer.status_code} {answer.reason}", kept)
        return [content]


class MockServer:
    """Serve paymock's APIs from a child ``paymock serve`` (one worker; a ``:memory:`` store by default).

    Args:
        apis: APIs to serve (all when empty).
        payments: Payments per tenant.
        seed: Seed of the generated world and its credentials.
        as_of: The date the world is "now" for.
        store: Where the state lives: ``:memory:``, a SQLite data file or a ``postgresql://`` URL.
    """

    def __init__(
        self,
        apis: Iterable[str] = (),
        *,
        payments: int = DEFAULT_PAYMENTS,
        seed: int = 1,
        as_of: str = DEFAULT_AS_OF,
        store: str = ":memory:",
    ) -> None:
        self.store = store
        self.apis = tuple(apis)
        self.payments = payments
        self.seed = seed
        self.as_of = as_of
        self.app: WSGIApp = Forward("http://127.0.0.1:0")
        self._front: WSGIApp | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return (self._front or self.app)(environ, start_response)

    @property
    def url(self) -> str:
        """The server root (``http://127.0.0.1:PORT``); each API is under ``/<name>``."""
        if self._server is None:
            raise RuntimeError("the mock is not started: call start() or use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_port}"

    def base(self, api: str) -> str:
        """The base URL of one API."""
        return f"{self.url}/{api}"

    def start(self) -> MockServer:
        """Start the child, wait until it answers, then bind a free loopback port in front of it."""
        from werkzeug.serving import WSGIRequestHandler, make_server

        port = _free_port()
        upstream = f"http://127.0.0.1:{port}"
        args = [
            *_paymock(),
            "serve",
            *self.apis,
            # With a shared store, `--data :memory:` keeps the child's fault rules and journal in its
            # own memory (not the database's, which every replica shares: starting would empty them).
            *(("--store", self.store, "--data", ":memory:") if self.store.startswith("postgresql") else ()),
            *(() if self.store.startswith("postgresql") else ("--data", self.store)),
            *("--workers", "1", "--threads", "8"),
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--payments", str(self.payments), "--seed", str(self.seed), "--as-of", self.as_of),
        ]
        self._log = tempfile.TemporaryFile()
        self._child = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait(upstream)
        self.app = Forward(upstream)

        class Quiet(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass  # a check sends thousands of requests; failures carry their own curl lines

        self._server = make_server("127.0.0.1", 0, self._dispatch, threaded=True, request_handler=Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, name="paymock-mock", daemon=True)
        self._thread.start()
        return self

    def _wait(self, upstream: str) -> None:
        assert self._child is not None
        assert self._log is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                self._log.seek(0)
                output = self._log.read().decode("utf-8", "replace")[-2000:]
                code = self._child.returncode
                self.stop()  # closes the log: a file left to the garbage collector warns in a later test
                raise RuntimeError(f"'paymock serve' exited with {code}:\n{output}")
            try:
                if requests.get(f"{upstream}/__paymock/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"'paymock serve' did not answer within {STARTUP_SECONDS} s")

    def stop(self) -> None:
        """Stop serving, release the port and end the child."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._child is not None:
            self._child.terminate()
            try:
                self._child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
            self._child = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def reset(self) -> None:
        """Restore the seeded state."""
        forward = self.app
        assert isinstance(forward, Forward)
        forward.session.post(f"{forward.upstream}/__paymock/reset", timeout=30).raise_for_status()

    @contextmanager
    def wrapped(self, middleware: Callable[[WSGIApp], WSGIApp]) -> Iterator[MockServer]:
        """Put ``middleware(app)`` in front of the mock until the block ends (then reset the state)."""
        self._front = middleware(self.app)
        try:
            yield self
        finally:
            self._front = None
            self.reset()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
