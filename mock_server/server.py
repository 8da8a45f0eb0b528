"""Serve the app through gunicorn: a real WSGI server, several workers, one shared data file."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

from mock_server.app import create_app

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
) -> None:
    """Run gunicorn until interrupted.

    A file store is shared by every worker (each opens its own connections after the fork); an
    in-memory store lives in one process, so it gets exactly one worker.
    """
    memory = served.store.features.private
    if memory and workers not in (None, 1):
        raise SystemExit("--data ':memory:' lives in one process: use --workers 1 (or a data file)")
    count = 1 if memory else (workers or os.cpu_count() or 2)
    # Connections opened while seeding must not cross the fork.
    if not memory:
        served.store.close()

    def factory() -> Any:
        return create_app(rts, root=root, on_reset=served.reset, control=control, guard=guard)

    options = {
        "bind": f"{host}:{port}",
        "workers": count,
        "threads": threads,
        "worker_class": "gthread",
        "preload_app": memory,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "keepalive": 5,
        "timeout": 60,
    }
    _Gunicorn(factory, options).run()
