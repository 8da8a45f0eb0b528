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
from postgres import Postgres

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


#: The stores every backend-neutral test runs on.
STORES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """An embedded PostgreSQL server of this test process (a database per world: :meth:`Postgres.database`)."""
    server = Postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store a backend-neutral test runs on (each runs on both)."""
    return str(request.param)


def store_target(kind: str, request: pytest.FixtureRequest) -> str:
    """``:memory:`` for SQLite, a new database of the embedded server for PostgreSQL."""
    if kind == "sqlite":
        return ":memory:"
    postgres: Postgres = request.getfixturevalue("postgres")
    return postgres.database()


@pytest.fixture(scope="session")
def served(store_kind: str, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """Every API seeded, on each store in turn (shared by the in-process tests)."""
    sandbox = Sandbox.open(store=store_target(store_kind, request), payments=PAYMENTS, as_of=AS_OF).seed()
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="session")
def sqlite_served() -> Sandbox:
    """Every API seeded in an in-memory SQLite store (for the SQLite-only tests)."""
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
def server(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A live ``paymock serve`` (two gunicorn workers) serving all five APIs, on each store in turn.

    SQLite: one data file. PostgreSQL: a database of the embedded server.
    """
    folder = tmp_path_factory.mktemp("live")
    if store_kind == "sqlite":
        live = start_server(folder / "paymock.sqlite3")
    else:
        live = start_server(folder / "paymock.pg", store=store_target(store_kind, request))
    yield live
    live.stop()


@pytest.fixture
def live(server: LiveServer) -> Iterator[LiveServer]:
    """The live server, reset to its seeded state after the test."""
    yield server
    requests.post(f"{server.url}/__paymock/reset", timeout=30)
