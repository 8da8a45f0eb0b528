"""New instalments over HTTP: an active subscription's next payment appears as the clock passes its
creation moment, documented, in list and detail, filters and counts, and moves on like the others;
a reset removes what appeared and a snapshot keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from documented import assert_documented
from live import AS_OF, LiveServer
from test_clock import advance, raw_pages
from vendors import Session, walk

from mock_server.spec import ApiSpec

#: API -> (ID field, status field, creation field, the status a new instalment starts in).
APPEARING = {
    "flexportal": ("paymentId", "status", "createdAt", "pending"),
    "zuora": ("id", "status", "createdDate", "Draft"),
}
#: The document's list of payments (zuora serves no detail of one).
LIST = "/v1/payments"


def _ids(session: Session, api: str, params: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    field = APPEARING[api][0]
    return {p[field]: p for p in walk(session, api, params or {}, 40 if api == "zuora" else 100)}


def _rentals(session: Session) -> dict[str, dict[str, Any]]:
    """Every FlexPortal rental of the session's tenant, by ID."""
    found: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {"limit": 100}
    while True:
        body = session.get("/v1/subscriptions", params=params).json()
        found.update((r["rentalId"], r) for r in body["subscriptions"])
        if not body["hasMore"]:
            return found
        params["startAfter"] = body["nextCursor"]


@pytest.mark.parametrize("api", sorted(APPEARING))
def test_instalments_appear_documented_listed_and_moving(live: LiveServer, specs: dict[str, ApiSpec], api: str) -> None:
    _, status_field, created_field, initial = APPEARING[api]
    s = Session(live.url, api)
    before = _ids(s, api)
    # When the clock passes six weeks of instalments
    moved = advance(live.url, by="45d", api=api, tenant=1)
    report = moved[api]["1"]
    after = _ids(s, api)
    # Then the answer counts what appeared, and names some of it
    new = set(after) - set(before)
    assert set(before) <= set(after)
    assert report["appeared"] == {"payments": len(new)} and len(new) > 0
    assert set(report["appeared_examples"]["payments"]) <= new
    # Each was created after the world's as-of moment and before the clock, and reads the same in detail
    as_of = datetime.fromisoformat(AS_OF).replace(tzinfo=UTC)
    clock = as_of + timedelta(days=45)
    for k in sorted(new):
        created = datetime.fromisoformat(after[k][created_field].replace("Z", "+00:00"))
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        assert as_of < created <= clock, after[k][created_field]
    assert_documented(specs[api], LIST, "get", s.get(LIST, params={"status": initial}))
    if api == "flexportal":
        for k in sorted(new)[:10]:
            answer = s.get(f"{LIST}/{k}")
            assert assert_documented(specs[api], f"{LIST}/{{paymentId}}", "get", answer)["payment"] == after[k]
    # Some started in their initial status and stayed; others came due and moved in the same advance
    statuses = {after[k][status_field] for k in new}
    assert initial in statuses and statuses - {initial}
    # The status filter and the list's total include them
    waiting = _ids(s, api, {"status": initial})
    assert {k for k in new if after[k][status_field] == initial} <= set(waiting)
    assert all(p[status_field] == initial for p in waiting.values())
    if api == "flexportal":
        _billed_to_active_rentals(s, [after[k] for k in sorted(new)])


def _billed_to_active_rentals(s: Session, new: list[dict[str, Any]]) -> None:
    """Each new payment is of an active rental, its customer, amount and currency; the rental filter finds it."""
    rentals = _rentals(s)
    for payment in new:
        rental = rentals[payment["rentalId"]]
        assert rental["status"] == "active" and rental["customerId"] == payment["customerId"]
        assert (payment["amount"], payment["currency"]) == (rental["amount"], rental["currency"])
    some = new[0]["rentalId"]
    listed = _ids(s, "flexportal", {"rentalId": some})
    assert {p["paymentId"] for p in new if p["rentalId"] == some} <= set(listed)


@pytest.fixture
def snapshots(live: LiveServer) -> Iterator[str]:
    """The snapshots URL of the live server; every snapshot is deleted afterwards."""
    url = f"{live.url}/__paymock/snapshots"
    yield url
    for snapshot in requests.get(url, timeout=10).json()["snapshots"]:
        requests.delete(f"{url}/{snapshot['name']}", timeout=10)


def _pages(url: str) -> dict[int, list[bytes]]:
    """Every list page of FlexPortal's payments, both tenants."""
    return {t: raw_pages(Session(url, "flexportal", t), "flexportal") for t in (0, 1)}


def test_reset_removes_and_a_snapshot_restores_what_appeared(live: LiveServer, snapshots: str) -> None:
    seeded = _pages(live.url)
    # Given instalments that appeared, saved
    moved = advance(live.url, by="20d", api="flexportal")
    assert sum(n for t in moved["flexportal"].values() for n in t["appeared"].values()) > 0
    saved = requests.post(snapshots, json={"name": "appeared"}, timeout=30)
    assert saved.status_code == 201, saved.text
    pages = _pages(live.url)
    # When the world is reset, then the snapshot restored
    requests.post(f"{live.url}/__paymock/reset", timeout=30)
    assert _pages(live.url) == seeded
    restored = requests.post(f"{snapshots}/appeared/restore", timeout=30)
    assert restored.status_code == 200, restored.text
    # Then the pages are the saved ones, byte for byte, and the clock goes on from there as it would have
    assert _pages(live.url) == pages
    advance(live.url, by="10d", api="flexportal")
    onwards = _pages(live.url)
    requests.post(f"{live.url}/__paymock/reset", timeout=30)
    advance(live.url, by="30d", api="flexportal")
    assert _pages(live.url) == onwards


def test_exsited_instalments_appear_submitted_and_are_reconciled(live: LiveServer, specs: dict[str, ApiSpec]) -> None:
    # Exsited's instalments appear PENDING, submitted and dated the moment they appear
    # (``moments``), so the reconcile move takes them one to three days later like any other.
    s = Session(live.url, "exsited")
    path = "/api/v3/payments"
    before = {p["id"] for p in walk(s, "exsited", {}, 100)}
    moved = advance(live.url, by="45d", api="exsited", tenant=1)
    after = {p["id"]: p for p in walk(s, "exsited", {}, 100)}
    new = set(after) - before
    assert moved["exsited"]["1"]["appeared"] == {"payments": len(new)} and len(new) > 0
    assert_documented(specs["exsited"], path, "get", s.get(path, params={"limit": 100}))
    statuses = {after[k]["status"] for k in new}
    assert statuses <= {"PENDING", "ACTIVE", "FAILED"} and "ACTIVE" in statuses, statuses
    # Recorded once submitted: the payment's date is never after its created_on
    assert all(after[k]["date"][:10] <= after[k]["created_on"][:10] for k in new)


def test_a_move_too_long_for_appearing_records_is_refused_whole(live: LiveServer) -> None:
    clocks = requests.get(f"{live.url}/__paymock/clock", timeout=30).json()["clocks"]
    pages = _pages(live.url)
    # When every clock is asked to the year 9999: FlexPortal's instalments would appear by the million
    answer = requests.post(f"{live.url}/__paymock/clock", json={"to": "9999-01-01"}, timeout=60)
    # Then the move is refused with the span allowed and how to go on, and nothing moved, on any API
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_body"
    message = answer.json()["message"]
    assert "at most 1830 days" in message and "move in steps" in message and "nothing was moved" in message
    assert requests.get(f"{live.url}/__paymock/clock", timeout=30).json()["clocks"] == clocks
    assert _pages(live.url) == pages
    # An API whose records only move (none appear) may still move that far in one step
    far = advance(live.url, to="9999-01-01", api="notify", tenant=1)
    assert far["notify"]["1"]["clock"].startswith("9999-01-01")
    # And the longest span allowed is allowed
    start = datetime.fromisoformat(clocks["zuora"]["1"].replace("Z", "+00:00"))
    step = advance(live.url, by="P1830D", api="zuora", tenant=1)
    assert datetime.fromisoformat(step["zuora"]["1"]["clock"].replace("Z", "+00:00")) == start + timedelta(days=1830)
