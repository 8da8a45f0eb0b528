"""Shared fixtures: the documents, an in-process app and test client, a live server over loopback,
sandbox credentials, and hypothesis profiles.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

from mock_server.app import create_app
from mock_server.cli import Served, build_runtimes, prepare
from mock_server.handling import ApiRuntime
from mock_server.spec import ApiSpec, load_apis

settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-01"
#: Small but not trivial: several pages for every page size the tests use.
PAYMENTS = 150
PAYMOCK = str(Path(sys.executable).with_name("paymock"))


@pytest.fixture(scope="session")
def specs() -> dict[str, ApiSpec]:
    """Every bundled document, loaded and validated."""
    return {s.name: s for s in load_apis()}


@pytest.fixture(scope="session")
def served() -> Served:
    """An in-memory store seeded with every API (shared by the in-process tests)."""
    return prepare((), ":memory:", 1, PAYMENTS, None, AS_OF, quiet=True)


@pytest.fixture(scope="session")
def runtimes(served: Served) -> dict[str, ApiRuntime]:
    """Every API bound to the in-memory store."""
    return build_runtimes(served)


@pytest.fixture(scope="session")
def app(served: Served, runtimes: dict[str, ApiRuntime]) -> Flask:
    """The Flask app over the in-memory store."""
    tables = [c.table for s in served.specs for c in s.collections.values()]
    return create_app(runtimes, on_reset=lambda: served.store.reset(tables))


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    """A test client; any state a test changes is rolled back afterwards."""
    client = app.test_client()
    yield client
    client.post("/__paymock/reset")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A ``paymock serve`` process on loopback."""

    url: str
    data: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    args: list[str] = field(default_factory=list)
    _credentials: dict[str, Any] | None = None

    def credentials(self, api: str, tenant: int = 0) -> dict[str, Any]:
        """The sandbox credentials of one tenant of an API."""
        if self._credentials is None:
            self._credentials = requests.get(f"{self.url}/__paymock/credentials", timeout=10).json()
        result: dict[str, Any] = self._credentials[api]["tenants"][tenant]
        return result

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def start_server(data: Path, *extra: str, workers: int = 2, apis: tuple[str, ...] = ()) -> LiveServer:
    """Start ``paymock serve`` and wait until it answers."""
    port = free_port()
    args = [
        PAYMOCK,
        "serve",
        *apis,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data",
        str(data),
        "--payments",
        str(PAYMENTS),
        "--as-of",
        AS_OF,
        "--workers",
        str(workers),
        "--threads",
        "4",
        *extra,
    ]
    log = open(data.with_suffix(".log"), "ab")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            raise RuntimeError(
                f"paymock serve exited with {process.returncode}: {data.with_suffix('.log').read_text()[-3000:]}"
            )
        try:
            if requests.get(f"{url}/__paymock/health", timeout=1).ok:
                return LiveServer(url, data, process, log, args)
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    log.close()
    raise RuntimeError(f"paymock serve did not answer within 90 s: {data.with_suffix('.log').read_text()[-3000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live ``paymock serve`` (two gunicorn workers, one data file) serving all five APIs."""
    live = start_server(tmp_path_factory.mktemp("live") / "paymock.sqlite3")
    yield live
    live.stop()


@pytest.fixture
def live(server: LiveServer) -> Iterator[LiveServer]:
    """The live server, reset to its seeded state after the test."""
    yield server
    requests.post(f"{server.url}/__paymock/reset", timeout=30)
