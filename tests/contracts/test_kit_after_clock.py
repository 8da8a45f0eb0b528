"""The mock keeps every API's contract after its sandbox clock moved ten days: moved records are
still documented records, in their lists' orders, filters and pages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from harness import zutax_invoice

from contracts.suite import CheckOptions, check_api
from contracts.testing import MockServer

SEED = 20261101


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def moved(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """A mock of its own, on each store, whose every clock moved ten days (some records moved twice, some are due)."""
    store = ":memory:" if request.param == "sqlite" else request.getfixturevalue("postgres").database("moved")
    with MockServer(store=store) as server:
        answer = requests.post(f"{server.url}/__paymock/clock", json={"by": "10d"}, timeout=60)
        assert answer.status_code == 200, answer.text
        moves = answer.json()["moved"]
        assert sum(t["records"] for api in moves.values() for t in api.values()) > 0
        yield server


@pytest.mark.parametrize("api", ["exsited", "flexportal", "notify", "zuora", "zutax"])
def test_every_api_keeps_its_contract_after_ten_days(moved: MockServer, api: str) -> None:
    params = [f"invoice_id={zutax_invoice(moved)}"] if api == "zutax" else []
    report = check_api(api, moved.base(api), CheckOptions(seed=SEED, params=params))
    report.assert_ok()
    assert not [o for o in report.outcomes if o.status == "error"]
