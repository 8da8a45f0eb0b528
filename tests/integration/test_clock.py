"""The sandbox clock over HTTP: records move through their declared lifecycle, every field and
list follows, the same moves give the same bytes however they are cut, and a clock never goes back.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from documented import assert_documented
from live import AS_OF, LiveServer, start_server
from vendors import LISTS, Session, walk

from mock_server.spec import ApiSpec

#: API -> (status field of its payments, the statuses some declared move leaves).
MOVING = {
    "flexportal": ("status", {"pending", "processing", "failed"}),
    "exsited": ("status", {"PENDING", "FAILED"}),
    "zuora": ("status", {"Draft", "Processing", "Error"}),
}
#: API -> the status its new instalments appear in (``appear`` in its lifecycle).
APPEARING = {"flexportal": "pending", "exsited": "PENDING", "zuora": "Draft"}
#: The lists whose records never move (ledgers of money received).
STILL = ("notify",)


def advance(url: str, **body: Any) -> dict[str, Any]:
    """``POST /__paymock/clock``; the answer's ``moved``."""
    answer = requests.post(f"{url}/__paymock/clock", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    moved: dict[str, Any] = answer.json()["moved"]
    return moved


def raw_pages(session: Session, api: str, limit: int = 40) -> list[bytes]:
    """Every page of an API's list, as the bytes it answered, following its own pagination."""
    path, _ = LISTS[api]
    pages: list[bytes] = []
    params: dict[str, Any] = {}
    for _ in range(1000):
        if api == "zuora":
            page = params.get("page", 1)
            answer = session.get(path, params={"pageSize": limit, "page": page})
        else:
            answer = session.get(path, params={**params, "limit": limit})
        assert answer.status == 200, answer.body
        pages.append(answer.body)
        body = answer.json()
        if api == "flexportal":
            if not body["hasMore"]:
                return pages
            params["startAfter"] = body["nextCursor"]
        elif api == "exsited":
            nxt = body["pagination"]["next_page"]
            if not nxt:
                return pages
            params["offset"] = int(nxt.split("offset=")[1].split("&")[0])
        elif api == "notify":
            if body["links"]["next"] is None:
                return pages
            params["from"] = body["links"]["next"]["href"].split("from=")[1].split("&")[0]
        else:
            if "nextPage" not in body:
                return pages
            params["page"] = page + 1
    raise AssertionError("pagination did not terminate")


def world_pages(url: str) -> dict[tuple[str, int], list[bytes]]:
    """Every list page of every API and tenant."""
    return {(api, t): raw_pages(Session(url, api, t), api) for api in LISTS for t in (0, 1)}


def test_every_clock_starts_at_the_as_of_moment(live: LiveServer) -> None:
    clocks = requests.get(f"{live.url}/__paymock/clock", timeout=10).json()
    assert clocks["as_of"] == f"{AS_OF}T00:00:00Z"
    assert set(clocks["clocks"]) == {"exsited", "flexportal", "notify", "zuora", "zutax"}
    assert {m for tenants in clocks["clocks"].values() for m in tenants.values()} == {f"{AS_OF}T00:00:00Z"}


@pytest.mark.parametrize("api", sorted(MOVING))
def test_advancing_moves_records_and_every_field_follows(live: LiveServer, api: str) -> None:
    s = Session(live.url, api)
    field_, leaving = MOVING[api]
    before = {p["id" if api != "flexportal" else "paymentId"]: p for p in walk(s, api, {}, 40)}

    moved = advance(live.url, by="30d", api=api, tenant=1)

    after = {p["id" if api != "flexportal" else "paymentId"]: p for p in walk(s, api, {}, 40)}
    # Counts and pages: the same records, each once, and the instalments that appeared.
    assert set(after) >= set(before)
    assert len(after) - len(before) == sum(moved[api]["1"]["appeared"].values())
    differs = {k for k in before if before[k] != after[k]}
    # A record that did not move but shows an invoice a move paid on changed only there (exsited).
    shown_again = {k for k in differs if _without_balances(before[k]) == _without_balances(after[k])}
    changed = differs - shown_again
    steps = Counter(f"{before[k][field_]} -> {after[k][field_]}" for k in changed)
    report = moved[api]["1"]
    # Instalments that appeared and came due moved too (they start in the status APPEARING names;
    # an exsited one that failed and was resubmitted is back in it, its version counting the moves).
    appeared_moved = {
        k
        for k in set(after) - set(before)
        if after[k][field_] != APPEARING.get(api) or after[k].get("version", "1") != "1"
    }
    assert report["records"] == len(differs) + len(appeared_moved) and len(changed) > 0
    assert report["clock"] == "2026-12-01T00:00:00Z"
    # Every record that changed left a status some move leaves; none is left due.
    assert {before[k][field_] for k in changed} <= leaving
    assert sum(steps.values()) == len(changed)
    for k in changed:
        check_fields(api, before[k], after[k])
    for k in shown_again:
        assert _outstanding(after[k]) < _outstanding(before[k])
    assert bool(shown_again) == (api == "exsited")
    # The status filter reads the changed column (where the API has one).
    if api in ("flexportal", "zuora"):
        settled = "paid" if api == "flexportal" else "Processed"
        listed = {p["id" if api == "zuora" else "paymentId"] for p in walk(s, api, {"status": settled}, 40)}
        assert {k for k in changed if after[k][field_] == settled} <= listed
        assert all(after[k][field_] == settled for k in listed)


def _without_balances(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its invoices' outstanding amounts (exsited's ``invoices[].outstanding``)."""
    if "invoices" not in record:
        return record
    return {**record, "invoices": [{**i, "outstanding": None} for i in record["invoices"]]}


def _outstanding(record: dict[str, Any]) -> int:
    """Cents still owed on a record's invoices."""
    return sum(round(float(i["outstanding"]) * 100) for i in record["invoices"])


def check_fields(api: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """The fields a move sets agree with the status it ended in."""
    if api == "flexportal":
        if new["status"] == "paid":
            assert new["paidAt"] is not None and new["lastCaptureError"] is None
            assert new["paidAt"] >= new["dueDate"][:10]
        elif new["status"] == "failed":
            assert new["paidAt"] is None and new["lastCaptureError"]
        assert new["createdAt"] == old["createdAt"] and new["amount"] == old["amount"]
    elif api == "zuora":
        assert new["updatedDate"] > old["updatedDate"]
        if new["status"] == "Processed":
            assert new["appliedAmount"] == new["amount"] and new["gatewayResponse"] is None
        if new["status"] == "Error":
            assert new["gatewayResponse"] and new["gatewayResponseCode"] == "card_declined"
        assert new["createdDate"] == old["createdDate"]
    else:
        assert new["last_updated_on"] > old["last_updated_on"]
        assert int(new["version"]) > int(old["version"])  # one more per move taken
        if new["status"] == "ACTIVE":
            assert new["total_applied"] == new["payment_applied"][0]["amount"]
            assert new["reconcile_status"] != old["reconcile_status"]


def test_a_moved_record_reads_the_same_in_detail_and_list(live: LiveServer, specs: dict[str, ApiSpec]) -> None:
    s = Session(live.url, "flexportal")
    advance(live.url, by="30d", api="flexportal")
    for payment in walk(s, "flexportal", {"status": "paid"}, 100)[:20]:
        answer = s.get(f"/v1/payments/{payment['paymentId']}")
        assert_documented(specs["flexportal"], "/v1/payments/{paymentId}", "get", answer)
        assert answer.json()["payment"] == payment


def test_ledgers_never_move(live: LiveServer) -> None:
    before = {api: raw_pages(Session(live.url, api), api) for api in STILL}
    moved = advance(live.url, by="60d")
    assert {t["records"] for api in ("notify", "zutax") for t in moved[api].values()} == {0}
    assert {api: raw_pages(Session(live.url, api), api) for api in STILL} == before


def test_other_tenants_keep_their_clock_and_records(live: LiveServer) -> None:
    other = raw_pages(Session(live.url, "zuora", 1), "zuora")
    advance(live.url, by="10d", api="zuora", tenant=1)
    clocks = requests.get(f"{live.url}/__paymock/clock", timeout=10).json()["clocks"]
    assert clocks["zuora"] == {"1": "2026-11-11T00:00:00Z", "2": "2026-11-01T00:00:00Z"}
    assert clocks["flexportal"]["1"] == "2026-11-01T00:00:00Z"
    assert raw_pages(Session(live.url, "zuora", 1), "zuora") == other


def test_one_long_move_equals_many_short_ones_byte_for_byte(live: LiveServer) -> None:
    # Given ten one-day moves of every clock
    seeded = world_pages(live.url)
    appeared: Counter[str] = Counter()
    for _ in range(10):
        appeared.update(_appeared(advance(live.url, by="1d")))
    stepped = world_pages(live.url)
    # When the world starts again and moves ten days at once
    requests.post(f"{live.url}/__paymock/reset", timeout=30)
    at_once = _appeared(advance(live.url, to="2026-11-11"))
    # Then every page of every API and tenant is the same, byte for byte (what appeared included)
    assert world_pages(live.url) == stepped
    assert stepped != seeded
    assert at_once == appeared and set(at_once) == set(APPEARING)


def test_moves_at_once_take_turns(live: LiveServer) -> None:
    # Given eight one-day moves of one tenant's clocks sent at once to a server of two workers
    # (as a running clock's tick meets an admin request)
    before = requests.get(f"{live.url}/__paymock/clock", timeout=10).json()["clocks"]["flexportal"]["1"]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _post_clock(live.url, by="1d", api="flexportal", tenant=1), range(8)))
    # Then each one moved the clock on from where the one before left it, and none failed
    assert [a.status_code for a in answers] == [200] * 8, [a.text[:200] for a in answers]
    after = requests.get(f"{live.url}/__paymock/clock", timeout=10).json()["clocks"]["flexportal"]["1"]
    assert _moment(after) - _moment(before) == 8 * 86_400
    # And the instalments that appeared were added once each (eight days of them, as one move adds)
    appeared = sum(sum(a.json()["moved"]["flexportal"]["1"]["appeared"].values()) for a in answers)
    ids = [item["paymentId"] for item in walk(Session(live.url, "flexportal", 1), "flexportal", {}, 100)]
    assert len(ids) == len(set(ids))
    requests.post(f"{live.url}/__paymock/reset", timeout=30)
    at_once = advance(live.url, by="8d", api="flexportal", tenant=1)
    assert sum(at_once["flexportal"]["1"]["appeared"].values()) == appeared


def _post_clock(url: str, **body: Any) -> requests.Response:
    return requests.post(f"{url}/__paymock/clock", json=body, timeout=120)


def _moment(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _appeared(moved: dict[str, Any]) -> Counter[str]:
    """How many records appeared per API, over its tenants."""
    return Counter(
        {api: n for api, tenants in moved.items() if (n := sum(sum(t["appeared"].values()) for t in tenants.values()))}
    )


def test_iso_8601_durations_move_the_clock(live: LiveServer) -> None:
    # Each move starts where the one before left the clock (one tenant of a ledger: nothing moves).
    steps = [
        ("PT12H", "2026-11-01T12:00:00Z"),
        ("PT90M", "2026-11-01T13:30:00Z"),
        ("P1DT2H3M4S", "2026-11-02T15:33:04Z"),
        ("P1W", "2026-11-09T15:33:04Z"),
        ("P30D", "2026-12-09T15:33:04Z"),
        ("3d", "2026-12-12T15:33:04Z"),
    ]
    for by, clock in steps:
        assert advance(live.url, by=by, api="notify", tenant=2)["notify"]["2"]["clock"] == clock


def test_reset_takes_clocks_back(live: LiveServer) -> None:
    pages = world_pages(live.url)
    advance(live.url, by="30d")
    assert world_pages(live.url) != pages
    requests.post(f"{live.url}/__paymock/reset", timeout=30)
    assert world_pages(live.url) == pages
    clocks = requests.get(f"{live.url}/__paymock/clock", timeout=10).json()["clocks"]
    assert clocks["zuora"]["2"] == f"{AS_OF}T00:00:00Z"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"to": "2026-10-01"}, 409, "only moves forward; restore a snapshot"),
        ({"by": "30 days"}, 400, "by: '30 days' is not a duration; accepted: '<n><unit>' with units s, m, h, d, w"),
        ({"by": "P1M"}, 400, "P[nW][nD][T[nH][nM][nS]]' in whole numbers ('P30D', 'PT12H', 'P1DT2H'); months and"),
        ({"by": "PT"}, 400, "by: 'PT' is not a duration; accepted:"),
        ({"by": "P1.5D"}, 400, "by: 'P1.5D' is not a duration; accepted:"),
        ({"by": 30}, 400, "by: 30 is not a duration; accepted:"),
        ({"by": "1d", "to": "2026-12-01"}, 400, 'give exactly one of "by"'),
        ({}, 400, 'give exactly one of "by"'),
        ({"to": "next tuesday"}, 400, "to: 'next tuesday' is not an ISO 8601 date"),
        ({"by": "1d", "api": "stripe"}, 400, "unknown api 'stripe'; served: exsited, flexportal"),
        ({"by": "1d", "tenant": 9}, 400, "unknown tenant 9; tenants are numbered 1 to 2"),
        ({"by": "1d", "when": "now"}, 400, "unknown key(s) when; allowed: by, to, api, tenant"),
    ],
)
def test_bad_clock_moves_are_refused_precisely(
    live: LiveServer, body: dict[str, Any], status: int, message: str
) -> None:
    answer = requests.post(f"{live.url}/__paymock/clock", json=body, timeout=10)
    assert answer.status_code == status
    assert message in answer.json()["message"]
    clocks = requests.get(f"{live.url}/__paymock/clock", timeout=10).json()["clocks"]
    assert clocks["flexportal"]["1"] == f"{AS_OF}T00:00:00Z"  # nothing moved


def test_a_running_clock_moves_every_tenant_on(tmp_path: Path) -> None:
    server = start_server(tmp_path / "paymock.sqlite3", "--clock-rate", "86400", apis=("flexportal",))
    try:
        # Wait until the clock (a day a second) has passed three days; it is written after the records moved.
        reading = f"{AS_OF}T00:00:00Z"
        for _ in range(600):
            reading = requests.get(f"{server.url}/__paymock/clock", timeout=10).json()["clocks"]["flexportal"]["2"]
            if reading >= "2026-11-04":
                break
            time.sleep(0.1)
        assert reading >= "2026-11-04"
        # No pending payment of the tenant is left whose due date the clock has passed.
        due = walk(Session(server.url, "flexportal", 1), "flexportal", {"status": "pending", "dueDateTo": reading}, 100)
        assert due == []
        assert walk(Session(server.url, "flexportal", 1), "flexportal", {"status": "pending"}, 100) != []
    finally:
        server.stop()
