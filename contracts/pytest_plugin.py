"""The pytest plugin (entry point ``paymock``): run the contract checks from a test suite.

Fixtures:

* ``paymock_check(api, url=None, **options)`` runs the kit and returns a
  :class:`~contracts.report.Report` (``report.assert_ok()`` fails the test with the readable
  report). ``options`` are the fields of :class:`~contracts.suite.CheckOptions`, e.g.
  ``checks=["sort_order"]``, ``max_examples=10``, ``headers=["Authorization: Bearer ..."]``.
* ``paymock_url``: the server root the checks run against: ``--paymock-url`` when given, else
  the test mock's.
* ``paymock_mock``: paymock's mock (``paymock serve`` in a child process), on a free loopback
  port of this process (started on first use, once per session).

Nothing heavy is imported until a fixture is used, so the plugin costs nothing to suites that do
not use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from contracts.report import Report
    from contracts.testing import MockServer


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--paymock-url``, ``--paymock-seed``, ``--paymock-max-examples``, ``--paymock-payments``."""
    group = parser.getgroup("paymock", "paymock contract checks")
    group.addoption(
        "--paymock-url", default=None, help="Server root to check (APIs under /<name>); default: a test mock."
    )
    group.addoption(
        "--paymock-seed", type=int, default=None, help="Seed of every paymock_check run (default: random, reported)."
    )
    group.addoption("--paymock-max-examples", type=int, default=None, help="Generated requests per operation and mode.")
    group.addoption("--paymock-payments", type=int, default=None, help="Payments per tenant of the test mock.")


@pytest.fixture(scope="session")
def paymock_mock(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """Paymock's mock serving every API from this process, on a free loopback port."""
    from contracts.testing import DEFAULT_PAYMENTS, MockServer

    payments = request.config.getoption("--paymock-payments") or DEFAULT_PAYMENTS
    with MockServer(payments=payments) as server:
        yield server


@pytest.fixture(scope="session")
def paymock_url(request: pytest.FixtureRequest) -> str:
    """The server root to check: ``--paymock-url``, or the test mock's."""
    given: str | None = request.config.getoption("--paymock-url")
    if given:
        return given.rstrip("/")
    mock: MockServer = request.getfixturevalue("paymock_mock")
    return mock.url


@pytest.fixture
def paymock_check(request: pytest.FixtureRequest, paymock_url: str) -> Callable[..., Report]:
    """A function ``(api, url=None, **options) -> Report`` that runs the contract checks."""
    from contracts.suite import CheckOptions, check_api

    seed = request.config.getoption("--paymock-seed")
    max_examples = request.config.getoption("--paymock-max-examples")

    def run(api: str, url: str | None = None, **options: Any) -> Report:
        if seed is not None:
            options.setdefault("seed", seed)
        if max_examples is not None:
            options.setdefault("max_examples", max_examples)
        return check_api(api, url or f"{paymock_url}/{api}", CheckOptions(**options))

    return run
