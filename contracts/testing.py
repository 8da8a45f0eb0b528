"""paymock's mock in the test process, on a free loopback port.

It is the target of the pytest plugin's fixtures and of the kit's own tests.

A WSGI middleware can be put in front of it for a while (:meth:`MockServer.wrapped`), which is how
a test builds a deliberately broken implementation without touching the mock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

    from mock_server.handling import ApiRuntime
    from mock_server.sandbox import Sandbox

#: A WSGI application.
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Payments per tenant of the in-process world: several pages at every page size, seeded in a second.
DEFAULT_PAYMENTS = 200
DEFAULT_AS_OF = "2026-11-01"


class MockServer:
    """Serve paymock's APIs from this process (``:memory:`` store, one thread per request).

    Args:
        apis: APIs to serve (all when empty).
        payments: Payments per tenant.
        seed: Seed of the generated world and its credentials.
        as_of: The date the world is "now" for.
    """

    def __init__(
        self, apis: Iterable[str] = (), *, payments: int = DEFAULT_PAYMENTS, seed: int = 1, as_of: str = DEFAULT_AS_OF
    ) -> None:
        from mock_server.sandbox import Sandbox

        self.served: Sandbox = Sandbox.open(apis, store=":memory:", seed=seed, payments=payments, as_of=as_of).seed()
        self.runtimes: dict[str, ApiRuntime] = self.served.runtimes()
        self.app: WSGIApp = self.served.app()
        self._front: WSGIApp | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

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
        """Bind a free loopback port and serve in a background thread."""
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass  # a check sends thousands of requests; failures carry their own curl lines

        self._server = make_server("127.0.0.1", 0, self._dispatch, threaded=True, request_handler=Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, name="paymock-mock", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def reset(self) -> None:
        """Restore the seeded state."""
        self.served.reset()

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
