"""A pytest plugin for people testing *their* code against paymock (entry point ``paymock-server``).

It does not import the contract kit (nor schemathesis). The ``paymock_server`` fixture serves
paymock from the test process on a free loopback port and yields a :class:`PaymockServer`: each
API's base URL and sandbox credentials, fault rules, the request journal and verification. After
each test the data is reset, the rules deleted and the journal emptied.

Choose what is served per test or per module with the ``paymock_server`` marker::

    pytestmark = pytest.mark.paymock_server(apis=["acmepay"], seed=1, payments=100)

    @pytest.mark.paymock_server(apis=["acmepay"], faults=[{"effect": {"fault": "status", "status": 503}}])
    def test_outage(paymock_server): ...

Servers are shared by the tests that ask for the same APIs, seed and size, and stopped at the end
of the session.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from mock_server.control.verification import Pattern, Verdict, explain

MARKER = "paymock_server"
DEFAULT_PAYMENTS = 100
DEFAULT_AS_OF = "2026-11-01"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """What a server serves: APIs (all when empty), seed and payments per tenant."""

    apis: tuple[str, ...] = ()
    seed: int = 1
    payments: int = DEFAULT_PAYMENTS


class PaymockServer:
    """A paymock server for consumer tests, driven through its admin API.

    Args:
        url: The server root (``http://127.0.0.1:PORT``); APIs are under ``/<name>``.
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self._credentials: dict[str, Any] | None = None

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.url}/__paymock{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            # A mistake in a rule or pattern is the test's: show the server's explanation.
            raise AssertionError(f"paymock refused {method} {path}: {response.status_code} {response.text}")
        return response.json()

    # -- APIs --------------------------------------------------------------------------------

    def base_url(self, api: str) -> str:
        """The base URL to give the API's client."""
        return str(self._all_credentials()[api]["base_url"])

    def credentials(self, api: str, tenant: int = 0) -> dict[str, Any]:
        """Sandbox credentials of one tenant (0: the first), as ``/__paymock/credentials`` lists them."""
        found: dict[str, Any] = self._all_credentials()[api]["tenants"][tenant]
        return found

    def _all_credentials(self) -> dict[str, Any]:
        if self._credentials is None:
            self._credentials = self._admin("GET", "/credentials")
        return self._credentials

    # -- faults ------------------------------------------------------------------------------

    def fault(self, **rule: Any) -> dict[str, Any]:
        """Add one fault rule (keys as in a faults file: ``api``, ``operation``, ``effect``, ``schedule``...)."""
        created: dict[str, Any] = self._admin("POST", "/faults", json=rule)["rules"][0]
        return created

    def add_faults(self, rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add rules, all or none."""
        created: list[dict[str, Any]] = self._admin("POST", "/faults", json=list(rules))["rules"]
        return created

    def faults(self) -> list[dict[str, Any]]:
        """Every rule, with how many requests it matched."""
        rules: list[dict[str, Any]] = self._admin("GET", "/faults")["rules"]
        return rules

    def clear_faults(self) -> None:
        """Delete every rule."""
        self._admin("DELETE", "/faults")

    # -- journal -----------------------------------------------------------------------------

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Journaled requests, newest first (filters: api, tenant, operation, method, path, status, since, limit)."""
        filters.setdefault("limit", 1000)
        found: list[dict[str, Any]] = self._admin("GET", "/requests", params=filters)["requests"]
        return found

    def clear_requests(self) -> None:
        """Empty the journal."""
        self._admin("DELETE", "/requests")

    def verify(self, count: int = 1, **pattern: Any) -> Verdict:
        """Assert that exactly ``count`` journaled requests match the pattern.

        Args:
            count: How many requests must match.
            **pattern: Any of api, tenant, operation, method, path, status, fault, rule, and
                ``query`` (a mapping of values that must be present and equal).

        Raises:
            AssertionError: listing each near miss and why it did not match.
        """
        parsed = Pattern.load(pattern)
        found = self._admin("POST", "/requests/verify", json=pattern)
        verdict = Verdict(found["count"], found["matched"], found["near_misses"])
        if verdict.count != count:
            raise AssertionError(explain(parsed, count, verdict))
        return verdict

    def reset(self) -> None:
        """Seeded data back, no rules, an empty journal."""
        self._admin("POST", "/reset")
        self.clear_faults()
        self.clear_requests()


class _InProcess:
    """paymock served by Werkzeug's threaded server in this process (``:memory:`` store)."""

    def __init__(self, config: ServerConfig) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        from mock_server.sandbox import Sandbox

        sandbox = Sandbox.open(
            config.apis, store=":memory:", seed=config.seed, payments=config.payments, as_of=DEFAULT_AS_OF
        ).seed()
        app = sandbox.app()

        class Quiet(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass

        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, name="paymock-server", daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(apis=(), seed=1, payments={DEFAULT_PAYMENTS}, faults=()): what the paymock_server fixture serves",
    )


@pytest.fixture(scope="session")
def _paymock_servers() -> Iterator[dict[ServerConfig, _InProcess]]:
    servers: dict[ServerConfig, _InProcess] = {}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def paymock_server(
    request: pytest.FixtureRequest, _paymock_servers: dict[ServerConfig, _InProcess]
) -> Iterator[PaymockServer]:
    """A paymock server on a free loopback port, reset after the test (see the module's docstring)."""
    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker else {}
    faults = options.pop("faults", ())
    unknown = set(options) - {"apis", "seed", "payments"}
    if unknown:
        raise pytest.UsageError(
            f"@{MARKER}: unknown option(s) {', '.join(sorted(unknown))}; allowed: apis, seed, payments, faults"
        )
    config = ServerConfig(
        tuple(options.get("apis", ())), int(options.get("seed", 1)), int(options.get("payments", DEFAULT_PAYMENTS))
    )
    if config not in _paymock_servers:
        _paymock_servers[config] = _InProcess(config)
    server = PaymockServer(_paymock_servers[config].url)
    server.reset()
    if faults:
        server.add_faults(faults)
    try:
        yield server
    finally:
        server.reset()
