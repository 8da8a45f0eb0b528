"""The vendors' official Python clients work against the mock with only the base URL changed."""

from __future__ import annotations

import pytest
from live import LiveServer

# zuora-sdk calls pydantic APIs that pydantic deprecates; that is the SDK's business, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecationWarning")


@pytest.fixture
def zuora_client(server: LiveServer) -> object:
    from zuora_sdk.zuora_client import ZuoraClient

    cred = server.credentials("zuora")
    client = ZuoraClient(client_id=cred["client_id"], client_secret=cred["client_secret"], env=None)
    client.set_base_url(f"{server.url}/zuora")
    client.initialize()  # the SDK's own OAuth flow: POST /oauth/token
    return client


def test_zuora_sdk_lists_filters_sorts_and_pages(zuora_client: object) -> None:
    api = zuora_client.payments_api()  # type: ignore[attr-defined]
    page = api.get_retrieve_all_payments(page=1, page_size=10, status="Processed", sort="-amount")
    assert page.success is True and len(page.payments) == 10
    assert {p.status for p in page.payments} == {"Processed"}
    amounts = [p.amount for p in page.payments]
    assert amounts == sorted(amounts)
    assert "page=2" in page.next_page
    second = api.get_retrieve_all_payments(page=2, page_size=10, status="Processed", sort="-amount")
    assert not {p.id for p in page.payments} & {p.id for p in second.payments}
    one = page.payments[0]
    assert len(one.id) == 32 and one.number.startswith("P-") and one.account_id and one.currency
    assert one.finance_information is not None


def test_zuora_sdk_sends_its_datetime_filter_layout(zuora_client: object) -> None:
    from datetime import datetime

    api = zuora_client.payments_api()  # type: ignore[attr-defined]
    first = api.get_retrieve_all_payments(page_size=1).payments[0]
    created = datetime.strptime(first.created_date, "%Y-%m-%d %H:%M:%S").astimezone()
    found = api.get_retrieve_all_payments(created_date=created, page_size=40)
    assert first.id in {p.id for p in found.payments}


def test_exsited_sdk_token_flow_list_and_details(server: LiveServer) -> None:
    from exsited.exsited.auth.dto.token_dto import RequestTokenDTO
    from exsited.exsited.exsited_sdk import ExsitedSDK

    cred = server.credentials("exsited")
    sdk = ExsitedSDK().init_sdk(
        request_token_dto=RequestTokenDTO(
            grantType="client_credentials",
            clientId=cred["client_id"],
            clientSecret=cred["client_secret"],
            redirectUri="https://example.com/callback",
            exsitedUrl=f"{server.url}/exsited",
        )
    )
    # First call goes out without a token, gets 401, fetches one, retries: the client's own flow.
    listed = sdk.payment.list(limit=5, offset=5)
    assert len(listed.payments) == 5
    assert listed.pagination.records == 150 and listed.pagination.offset == 5
    first = listed.payments[0]
    assert first.id.startswith("PMT-") and first.reconcileStatus in ("RECONCILED", "UNRECONCILED")
    detail = sdk.payment.details(id=first.id)
    assert detail.payment.id == first.id and detail.payment.totalApplied == first.totalApplied
