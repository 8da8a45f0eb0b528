"""Serve the app through gunicorn: a real WSGI server, several workers, one shared data file."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

from mock_server.admin.sandbox import register_sandbox_admin
from mock_server.app import create_app
from mock_server.lifecycle.clock import ClockTicker

if TYPE_CHECKING:
    from mock_server.admin.guard import Guard
    from mock_server.control.plane import ControlPlane
    from mock_server.handling import ApiRuntime
    from mock_server.sandbox import Sandbox


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._factory()


def run(
    served: Sandbox,
    rts: dict[str, ApiRuntime],
    *,
    host: str,
    port: int,
    root: str | None,
    workers: int | None,
    threads: int,
    control: ControlPlane | None = None,
    guard: Guard | None = None,
    clock_rate: float = 0.0,
) -> None:
    """Run gunicorn until interrupted.

    A file store is shared by every worker (each opens its own connections after the fork); an
    in-memory store lives in one process, so it gets exactly one worker. With ``clock_rate``, one
    :class:`~mock_server.lifecycle.clock.ClockTicker` moves every tenant's clock: in the arbiter
    for a file store (so that exactly one runs, whichever workers come and go), in the one worker
    for an in-memory store (whose data lives there).
    """
    memory = served.store.features.private
    if memory and workers not in (None, 1):
        raise SystemExit("--data ':memory:' lives in one process: use --workers 1 (or a data file)")
    count = 1 if memory else (workers or os.cpu_count() or 2)
    # Connections opened while seeding must not cross the fork.
    if not memory:
        served.store.close()

    def factory() -> Any:
        app = create_app(rts, root=root, on_reset=served.reset, control=control, guard=guard)
        register_sandbox_admin(app, served)
        return app

    apart = _listening_apart(host, port, count)
    options = {
        "bind": f"{host}:{port}",
        "reuse_port": apart,
        "workers": count,
        "threads": threads,
        "worker_class": "gthread",
        "preload_app": memory,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "keepalive": 5,
        "timeout": 60,
        # A request line or header of any length reaches the app, which refuses bad input in the
        # vendor's error format; gunicorn's own refusal (414, 400) is an HTML page no vendor sends.
        "limit_request_line": 0,
        "limit_request_field_size": 0,
    }
    if clock_rate > 0:

        def tick(_: Any) -> None:  # gunicorn checks a hook takes exactly one argument
            ClockTicker(served.clock, clock_rate).start()

        options["post_worker_init" if memory else "when_ready"] = tick
    _Gunicorn(factory, options).run()


def _listening_apart(host: str, port: int, workers: int) -> bool:
    """Whether each worker listens on a socket of its own (``SO_REUSEPORT``), checking the port is free.

    With one listening socket shared by every worker, the worker that is awake accepts a burst
    of new connections (a client's pool opening eight at once) nearly alone: eight to one and
    none to the other, measured, so that worker's one core serves them all. With a socket per
    worker the kernel spreads connections over the workers. Such sockets would share the port
    with another server of the same user too, so the port is first bound once without the
    option: a port already listened on is refused, as it is with one socket.

    Raises:
        SystemExit: The port is in use (the message names it).
    """
    if workers < 2 or port == 0 or not hasattr(socket, "SO_REUSEPORT"):
        return False  # nothing to spread, or a port each worker would choose for itself
    try:
        # The family and options gunicorn binds with: IPv6 for an IPv6 literal, else IPv4.
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host.strip("[]"), port))
    except OSError as exc:
        raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return True
