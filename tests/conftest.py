"""Shared fixtures: the documents, an in-process app and test client, a live server over loopback,
sandbox credentials, and hypothesis profiles.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from live import AS_OF, PAYMENTS, LiveServer, start_server

from mock_server.handling import ApiRuntime
from mock_server.sandbox import Sandbox
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


@pytest.fixture(scope="session")
def specs() -> dict[str, ApiSpec]:
    """Every bundled document, loaded and validated."""
    return {s.name: s for s in load_apis()}


@pytest.fixture(scope="session")
def served() -> Sandbox:
    """An in-memory store seeded with every API (shared by the in-process tests)."""
    return Sandbox.open(store=":memory:", payments=PAYMENTS, as_of=AS_OF).seed()


@pytest.fixture(scope="session")
def runtimes(served: Sandbox) -> dict[str, ApiRuntime]:
    """Every API bound to the in-memory store."""
    return served.runtimes()


@pytest.fixture(scope="session")
def app(served: Sandbox) -> Flask:
    """The Flask app over the in-memory store."""
    return served.app()


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    """A test client; any state a test changes is rolled back afterwards."""
    client = app.test_client()
    yield client
    client.post("/__paymock/reset")


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
