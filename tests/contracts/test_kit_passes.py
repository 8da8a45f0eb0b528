"""The kit raises no false alarm: every API of paymock's mock keeps its contract, on either store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from harness import zutax_invoice

from contracts import Report
from contracts.testing import DEFAULT_PAYMENTS, MockServer

SEED = 20261101

#: Promises that must actually run (not be skipped) against each API: proof that they looked.
MUST_RUN = {
    "zuora": {
        "pagination_covers_exactly_once",
        "filters_hold",
        "sort_order",
        "counts_agree",
        "limits_and_defaults",
        "last_page_has_no_next",
        "echoed_headers",
        "auth_required",
        "tenant_isolation",
        "negative_data_rejection",
    },
    "exsited": {
        "pagination_covers_exactly_once",
        "counts_agree",
        "sort_order",
        "list_detail_agree",
        "nested_agrees_with_top_level",
        "auth_required",
        "tenant_isolation",
        "limits_and_defaults",
    },
    "flexportal": {
        "pagination_covers_exactly_once",
        "filters_hold",
        "sort_order",
        "list_detail_agree",
        "state_changes_visible",
        "forbidden_transition_refused",
        "openapi_links",
        "tenant_isolation",
        "missing_required_header",
        "page_size_within_limit",
    },
    "notify": {
        "pagination_covers_exactly_once",
        "sort_order",
        "last_page_has_no_next",
        "limits_and_defaults",
        "auth_required",
        "tenant_isolation",
    },
    "zutax": {"nested_agrees_with_top_level", "sort_order", "auth_required", "tenant_isolation", "ignored_auth"},
}


@pytest.fixture(scope="module")
def postgresql_mock(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """The mock in a child ``paymock serve``, its state in a database of the embedded PostgreSQL server."""
    url = request.getfixturevalue("postgres").database("kit")
    with MockServer(payments=DEFAULT_PAYMENTS, store=url) as server:
        yield server


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
@pytest.mark.parametrize("api", sorted(MUST_RUN))
def test_every_api_of_the_mock_keeps_its_contract(
    paymock_mock: MockServer, paymock_check: Callable[..., Report], api: str, store: str, request: pytest.FixtureRequest
) -> None:
    mock = paymock_mock if store == "sqlite" else request.getfixturevalue("postgresql_mock")
    # zutax cannot list its invoices, so the user names one, as they would for a real sandbox.
    params = [f"invoice_id={zutax_invoice(mock)}"] if api == "zutax" else []

    report = paymock_check(api, url=mock.base(api), seed=SEED, params=params)

    report.assert_ok()
    passed = {o.check for o in report.outcomes if o.status == "passed"}
    assert MUST_RUN[api] <= passed, f"did not run: {sorted(MUST_RUN[api] - passed)}\n{report.render()}"
    assert not [o for o in report.outcomes if o.status == "error"]
    assert report.requests > 20
