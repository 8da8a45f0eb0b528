"""Pagination, filters and sort over HTTP, against a live `paymock serve`, for every API."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from live import PAYMENTS, LiveServer
from vendors import LISTS, Session, walk

PAGED = ("flexportal", "exsited", "notify", "zuora")
MAX_PAGE = {"flexportal": 100, "exsited": 100, "notify": 250, "zuora": 40}


@pytest.fixture(scope="module")
def sessions(server: LiveServer) -> dict[str, Session]:
    return {api: Session(server.url, api) for api in (*PAGED, "zutax")}


@pytest.fixture(scope="module")
def everything(sessions: dict[str, Session]) -> dict[str, list[dict[str, Any]]]:
    return {api: walk(sessions[api], api, {}, MAX_PAGE[api]) for api in PAGED}


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [str(i["id"] if "id" in i else i["paymentId"]) for i in items]


@pytest.mark.parametrize("api", PAGED)
@pytest.mark.parametrize("limit", [1, 7, 50])
def test_walk_returns_every_payment_exactly_once(
    api: str, limit: int, sessions: dict[str, Session], everything: dict[str, list[dict[str, Any]]]
) -> None:
    seen = ids(walk(sessions[api], api, {}, min(limit, MAX_PAGE[api])))
    assert len(seen) == len(set(seen)) == PAYMENTS
    assert seen == ids(everything[api])  # same order whatever the page size


@pytest.mark.parametrize("api", PAGED)
def test_page_never_exceeds_limit_and_defaults_hold(api: str, sessions: dict[str, Session]) -> None:
    path, key = LISTS[api]
    default = {"flexportal": 50, "exsited": 20, "notify": 50, "zuora": 20}[api]
    assert len(sessions[api].get(path).json()[key]) == default
    size_param = "pageSize" if api == "zuora" else "limit"
    assert len(sessions[api].get(path, params={size_param: 3}).json()[key]) == 3


def test_flexportal_cursor_envelope(sessions: dict[str, Session]) -> None:
    s = sessions["flexportal"]
    first = s.get("/v1/payments", params={"limit": 10}).json()
    assert first["success"] is True and first["count"] == 10 and first["hasMore"] is True
    assert first["nextCursor"] == first["payments"][-1]["paymentId"]
    created = [p["createdAt"] for p in first["payments"]]
    assert created == sorted(created, reverse=True)  # newest first, as documented
    last = s.get(
        "/v1/payments",
        params={
            "limit": 100,
            "startAfter": s.get("/v1/payments", params={"limit": 100}).json()["nextCursor"],
        },
    ).json()
    assert last["hasMore"] is False and last["nextCursor"] is None and last["count"] == PAYMENTS - 100


def test_notify_from_is_inclusive_and_links_are_hal(sessions: dict[str, Session]) -> None:
    s = sessions["notify"]
    first = s.get("/v2/payments", params={"limit": 5}).json()
    assert first["links"]["previous"] is None
    nxt = first["links"]["next"]
    assert nxt["type"] == "application/hal+json" and nxt["href"].startswith(s.transport.target + "/notify/v2/payments?")
    start = nxt["href"].split("from=")[1]
    second = s.get("/v2/payments", params={"limit": 5, "from": start}).json()
    assert second["payments"][0]["id"] == start  # inclusive
    assert second["count"] == 5
    back = second["links"]["previous"]["href"]
    assert (
        s.get("/v2/payments", params={"limit": 5, "from": back.split("from=")[1]}).json()["payments"]
        == first["payments"]
    )


def test_exsited_offset_pagination_object(sessions: dict[str, Session]) -> None:
    s = sessions["exsited"]
    body = s.get("/api/v3/payments", params={"limit": 40, "offset": 40, "direction": "None"}).json()
    page = body["pagination"]
    assert page["records"] == PAYMENTS and page["limit"] == 40 and page["offset"] == 40
    assert "offset=80" in page["next_page"] and "offset=0" in page["previous_page"]
    assert "direction=None" in page["next_page"]  # other parameters are kept in links
    last = s.get("/api/v3/payments", params={"limit": 40, "offset": 120}).json()["pagination"]
    assert last["next_page"] == ""
    assert s.get("/api/v3/payments").json()["pagination"]["previous_page"] == ""


def test_zuora_next_page_absent_on_last_page(sessions: dict[str, Session]) -> None:
    s = sessions["zuora"]
    body = s.get("/v1/payments", params={"pageSize": 40, "page": 3}).json()
    assert "page=4" in body["nextPage"] and body["success"] is True
    assert "nextPage" not in s.get("/v1/payments", params={"pageSize": 40, "page": 4}).json()
    beyond = s.get("/v1/payments", params={"pageSize": 40, "page": 99}).json()
    assert beyond["payments"] == [] and "nextPage" not in beyond


# -- filters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["status", "customerId", "rentalId", "billingGroupId"])
def test_flexportal_equality_filters(
    field: str, sessions: dict[str, Session], everything: dict[str, list[dict[str, Any]]]
) -> None:
    items = everything["flexportal"]
    value = Counter(i[field] for i in items if i[field] is not None).most_common(1)[0][0]
    got = walk(sessions["flexportal"], "flexportal", {field: value}, 9)
    assert got and all(i[field] == value for i in got)
    assert ids(got) == ids([i for i in items if i[field] == value])


def test_flexportal_due_date_range_is_inclusive_of_whole_days(
    sessions: dict[str, Session], everything: dict[str, list[dict[str, Any]]]
) -> None:
    items = everything["flexportal"]
    days = sorted({i["dueDate"][:10] for i in items})
    lo, hi = days[len(days) // 4], days[len(days) // 2]
    got = walk(sessions["flexportal"], "flexportal", {"dueDateFrom": lo, "dueDateTo": hi}, 13)
    expected = [i for i in items if lo <= i["dueDate"][:10] <= hi]
    assert ids(got) == ids(expected) and got
    # A date-time bound is exact to the second.
    at = expected[0]["dueDate"]
    exact = walk(sessions["flexportal"], "flexportal", {"dueDateFrom": at, "dueDateTo": at}, 50)
    assert {i["dueDate"] for i in exact} == {at}


ZUORA_FILTERS = [
    "accountId",
    "amount",
    "appliedAmount",
    "createdById",
    "createdDate",
    "creditBalanceAmount",
    "currency",
    "effectiveDate",
    "number",
    "refundAmount",
    "status",
    "type",
    "unappliedAmount",
    "updatedById",
    "updatedDate",
]


@pytest.mark.parametrize("field", ZUORA_FILTERS)
def test_zuora_every_filterable_field(
    field: str, sessions: dict[str, Session], everything: dict[str, list[dict[str, Any]]]
) -> None:
    items = everything["zuora"]
    value = Counter(i[field] for i in items if i[field] is not None).most_common(1)[0][0]
    raw = str(value)
    if field in ("createdDate", "updatedDate"):
        raw = raw.replace(" ", "T") + "Z"  # the parameter is a date-time
    got = walk(sessions["zuora"], "zuora", {field: raw}, 40)
    expected = [i for i in items if i[field] == value]
    assert got and ids(got) == ids(expected)


def test_zuora_filters_combine_and_null_matches_null(
    sessions: dict[str, Session], everything: dict[str, list[dict[str, Any]]]
) -> None:
    items = everything["zuora"]
    got = walk(sessions["zuora"], "zuora", {"status": "Processed", "type": "Electronic"}, 40)
    assert ids(got) == ids([i for i in items if i["status"] == "Processed" and i["type"] == "Electronic"])
    assert walk(sessions["zuora"], "zuora", {"currency": "null"}, 40) == []  # no payment lacks a currency


def test_zuora_filters_accept_the_official_sdk_datetime_layout(
    sessions: dict[str, Session], everything: dict[str, list[dict[str, Any]]]
) -> None:
    item = everything["zuora"][0]
    sdk_style = item["createdDate"].replace(" ", "T") + ".000000+0000"
    got = sessions["zuora"].get("/v1/payments", params={"createdDate": sdk_style}).json()["payments"]
    assert item["id"] in ids(got)


# -- sort --------------------------------------------------------------------------------------


def _key(value: Any) -> Any:
    return Decimal(str(value)) if isinstance(value, int | float) else value


@pytest.mark.parametrize(
    ("sort", "field", "descending"),
    [
        ("-amount", "amount", False),
        ("+amount", "amount", True),
        ("amount", "amount", True),
        (" amount", "amount", True),
        ("-number", "number", False),
        ("-createdDate", "createdDate", False),
        ("+effectiveDate", "effectiveDate", True),
    ],
)
def test_zuora_sort_operators(sort: str, field: str, descending: bool, sessions: dict[str, Session]) -> None:
    # Zuora's own meaning: '-' ascending, '+' descending, no operator descending.
    got = walk(sessions["zuora"], "zuora", {"sort": sort}, 40)
    keys = [_key(i[field]) for i in got]
    assert keys == sorted(keys, reverse=descending) and len(got) == PAYMENTS


def test_zuora_two_key_sort_and_default(sessions: dict[str, Session]) -> None:
    got = walk(sessions["zuora"], "zuora", {"sort": "-accountId,+amount"}, 40)
    keys = [(i["accountId"], -_key(i["amount"])) for i in got]
    assert keys == sorted(keys)
    default = walk(sessions["zuora"], "zuora", {}, 40)
    numbers = [i["number"] for i in default]
    assert numbers == sorted(numbers, reverse=True)  # default: descending by number


@pytest.mark.parametrize("order_by", ["asc", "desc"])
def test_exsited_order_by(order_by: str, sessions: dict[str, Session]) -> None:
    got = walk(sessions["exsited"], "exsited", {"order_by": order_by}, 30)
    created = [i["created_on"] for i in got]
    assert created == sorted(created, reverse=order_by == "desc") and len(got) == PAYMENTS


# -- list and detail, nested collections -------------------------------------------------------


def test_list_and_detail_agree(sessions: dict[str, Session], everything: dict[str, list[dict[str, Any]]]) -> None:
    for item in everything["flexportal"][:25]:
        assert sessions["flexportal"].get(f"/v1/payments/{item['paymentId']}").json()["payment"] == item
    for item in everything["exsited"][:25]:
        assert sessions["exsited"].get(f"/api/v3/payments/{item['id']}").json()["payment"] == item


def test_invoice_payments_are_exactly_the_payments_applied_to_it(
    sessions: dict[str, Session], everything: dict[str, list[dict[str, Any]]]
) -> None:
    by_invoice: dict[str, list[str]] = {}
    for item in everything["exsited"]:
        by_invoice.setdefault(item["invoices"][0]["code"], []).append(item["id"])
    multi = [code for code, pays in by_invoice.items() if len(pays) > 1]
    assert multi, "the data should have invoices paid in installments"
    for code in [*multi[:5], *list(by_invoice)[:5]]:
        body = sessions["exsited"].get(f"/api/v3/invoices/{code}/payments").json()
        assert sorted(ids(body["invoice"]["payments"])) == sorted(by_invoice[code])
        assert body["invoice"]["pagination"]["records"] == len(by_invoice[code])


def test_invoice_totals_equal_applied_plus_outstanding(
    everything: dict[str, list[dict[str, Any]]],
) -> None:
    applied: dict[str, Decimal] = {}
    invoices: dict[str, dict[str, Any]] = {}
    for item in everything["exsited"]:
        inv = item["invoices"][0]
        invoices[inv["code"]] = inv
        applied[inv["code"]] = applied.get(inv["code"], Decimal(0)) + Decimal(inv["applied"])
    for code, inv in invoices.items():
        assert Decimal(inv["total"]) == applied[code] + Decimal(inv["outstanding"]), inv


def test_zutax_ledger_of_an_invoice(sessions: dict[str, Session]) -> None:
    s = sessions["zutax"]
    unknown = s.get(s.zutax_path("00000000-0000-4000-8000-000000000000"))
    assert unknown.status == 404 and isinstance(unknown.json()["detail"], str)
    # Find invoices through the ledger itself: every entry names its invoice.
    entries: list[dict[str, Any]] = []
    for invoice in _zutax_invoices(s):
        body = s.get(s.zutax_path(invoice)).json()
        assert isinstance(body, list) and body
        assert {e["invoice_id"] for e in body} == {invoice}
        paid = [e["paid_at"] for e in body]
        assert paid == sorted(paid)
        entries += body
    assert len({e["id"] for e in entries}) == len(entries)


def _zutax_invoices(s: Session) -> list[str]:
    samples = s.transport.request("GET", "/__paymock/samples").json()
    return list(samples["zutax"]["tenants"][0]["invoice_payments"]["invoice"])


def test_flexportal_subscriptions_are_the_rentals_payments_belong_to(
    sessions: dict[str, Session], everything: dict[str, list[dict[str, Any]]]
) -> None:
    s = sessions["flexportal"]
    subs: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 37}
    while True:
        body = s.get("/v1/subscriptions", params=params).json()
        subs += body["subscriptions"]
        if not body["hasMore"]:
            break
        params["startAfter"] = body["nextCursor"]
    by_id = {sub["rentalId"]: sub for sub in subs}
    assert len(by_id) == len(subs)
    for payment in everything["flexportal"]:
        rental = by_id[payment["rentalId"]]  # every payment belongs to a listed subscription
        assert rental["customerId"] == payment["customerId"]
        assert rental["currency"] == payment["currency"]
    active = s.get("/v1/subscriptions", params={"status": "active", "limit": 100}).json()["subscriptions"]
    assert active and {sub["status"] for sub in active} == {"active"}
