"""Documented state changes: visible to every later read, refused when the lifecycle forbids
them, atomic under concurrency across worker processes, and kept across a restart.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from documented import assert_documented
from live import LiveServer, start_server
from vendors import Session

from mock_server.spec import ApiSpec


def _pending(s: Session, n: int = 1) -> list[str]:
    return [p["paymentId"] for p in s.get("/v1/payments", params={"status": "pending", "limit": n}).json()["payments"]]


def test_mark_paid_is_visible_to_every_later_read(live: LiveServer, specs: dict[str, ApiSpec]) -> None:
    s = Session(live.url, "flexportal")
    (pid,) = _pending(s)
    answer = s.post(f"/v1/payments/{pid}/mark-paid")
    assert answer.status == 200
    paid = assert_documented(specs["flexportal"], "/v1/payments/{paymentId}/mark-paid", "post", answer)["payment"]
    assert paid["status"] == "paid" and paid["paidAt"] >= paid["createdAt"]
    assert s.get(f"/v1/payments/{pid}").json()["payment"] == paid
    listed = {
        p["paymentId"]: p for p in s.get("/v1/payments", params={"status": "paid", "limit": 100}).json()["payments"]
    }
    assert listed[pid] == paid  # the list's filter column changed too
    assert pid not in {
        p["paymentId"] for p in s.get("/v1/payments", params={"status": "pending", "limit": 100}).json()["payments"]
    }


def test_mark_paid_takes_paid_at_from_the_body(live: LiveServer) -> None:
    s = Session(live.url, "flexportal")
    (pid,) = _pending(s)
    created = s.get(f"/v1/payments/{pid}").json()["payment"]["createdAt"]
    answer = s.post(f"/v1/payments/{pid}/mark-paid", json={"paidAt": "2026-11-01T01:00:00+01:00"})
    assert answer.json()["payment"]["paidAt"] == "2026-11-01T00:00:00Z" > created  # the clock, at as-of


def test_mark_paid_and_cancel_follow_the_tenant_clock(live: LiveServer) -> None:
    s = Session(live.url, "flexportal")
    pending = _pending(s, 40)
    # Given the tenant's clock moved five days past the as-of moment
    moved = requests.post(
        f"{live.url}/__paymock/clock", json={"by": "5d", "api": "flexportal", "tenant": 1}, timeout=60
    )
    clock = moved.json()["moved"]["flexportal"]["1"]["clock"]
    assert clock == "2026-11-06T00:00:00Z"
    still = [p for p in pending if s.get(f"/v1/payments/{p}").json()["payment"]["status"] in ("pending", "failed")]
    # When a payment is marked paid without a paidAt, it is paid at the tenant's clock, not the machine's
    paid = s.post(f"/v1/payments/{still[0]}/mark-paid").json()["payment"]
    assert paid["paidAt"] == clock
    # And a paidAt after the tenant's clock is refused precisely
    late = s.post(f"/v1/payments/{still[1]}/mark-paid", json={"paidAt": "2026-11-06T00:00:01Z"})
    assert late.status == 400
    assert "is in the future: the sandbox clock of this tenant shows 2026-11-06T00:00:00Z" in late.body.decode()
    # And moving on leaves the paid payment as it was marked
    requests.post(f"{live.url}/__paymock/clock", json={"by": "30d", "api": "flexportal", "tenant": 1}, timeout=60)
    assert s.get(f"/v1/payments/{still[0]}").json()["payment"] == paid


@pytest.mark.parametrize(
    ("first", "then", "status"),
    [
        ("mark-paid", "mark-paid", 409),
        ("mark-paid", "cancel", 409),
        ("cancel", "cancel", 409),
        ("cancel", "mark-paid", 409),
    ],
)
def test_forbidden_transitions_are_refused(
    first: str, then: str, status: int, live: LiveServer, specs: dict[str, ApiSpec]
) -> None:
    s = Session(live.url, "flexportal")
    (pid,) = _pending(s)
    assert s.post(f"/v1/payments/{pid}/{first}").status == 200
    before = s.get(f"/v1/payments/{pid}").json()["payment"]
    answer = s.post(f"/v1/payments/{pid}/{then}")
    assert answer.status == status
    message = assert_documented(specs["flexportal"], f"/v1/payments/{{paymentId}}/{then}", "post", answer)["error"][
        "message"
    ]
    assert pid in message and before["status"] in message
    assert s.get(f"/v1/payments/{pid}").json()["payment"] == before


def test_processing_payment_cannot_be_cancelled(live: LiveServer) -> None:
    s = Session(live.url, "flexportal")
    pid = s.get("/v1/payments", params={"status": "processing", "limit": 1}).json()["payments"][0]["paymentId"]
    assert s.post(f"/v1/payments/{pid}/cancel").status == 409
    assert s.post(f"/v1/payments/{pid}/mark-paid").status == 200


def test_exactly_one_of_racing_cancels_wins(live: LiveServer) -> None:
    # Given 16 simultaneous cancels of one payment over separate connections (so both workers serve
    # some), exactly one succeeds and the others are told why.
    s = Session(live.url, "flexportal")
    (pid,) = _pending(s)

    def cancel(_: int) -> int:
        return requests.post(
            f"{live.url}/flexportal/v1/payments/{pid}/cancel", headers=s.headers, timeout=30
        ).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(cancel, range(16)))
    assert sorted(statuses) == [200] + [409] * 15
    assert s.get(f"/v1/payments/{pid}").json()["payment"]["status"] == "cancelled"


def test_concurrent_changes_to_many_payments_lose_nothing(live: LiveServer) -> None:
    s = Session(live.url, "flexportal")
    pending = _pending(s, 20)
    actions = [(pid, "mark-paid" if i % 2 else "cancel") for i, pid in enumerate(pending)]

    def act(item: tuple[str, str]) -> int:
        pid, action = item
        return requests.post(
            f"{live.url}/flexportal/v1/payments/{pid}/{action}", headers=s.headers, timeout=30
        ).status_code

    with ThreadPoolExecutor(10) as pool:
        assert set(pool.map(act, actions)) == {200}
    for pid, action in actions:
        assert s.get(f"/v1/payments/{pid}").json()["payment"]["status"] == (
            "paid" if action == "mark-paid" else "cancelled"
        )


def test_reset_restores_the_seeded_state(live: LiveServer) -> None:
    s = Session(live.url, "flexportal")
    (pid,) = _pending(s)
    original = s.get(f"/v1/payments/{pid}").json()["payment"]
    s.post(f"/v1/payments/{pid}/cancel")
    answer = requests.post(f"{live.url}/__paymock/reset", timeout=30).json()
    assert answer == {"status": "reset", "restored": 1}
    assert s.get(f"/v1/payments/{pid}").json()["payment"] == original


def test_state_survives_a_restart_on_the_same_data_file(tmp_path: Path) -> None:
    data = tmp_path / "kept.sqlite3"
    first = start_server(data, workers=1, apis=("flexportal",))
    try:
        s = Session(first.url, "flexportal")
        (pid,) = _pending(s)
        paid = s.post(f"/v1/payments/{pid}/mark-paid").json()["payment"]
        key = s.headers["Authorization"]
    finally:
        first.stop()
    second = start_server(data, workers=1, apis=("flexportal",))
    try:
        again = Session(second.url, "flexportal")
        assert again.headers["Authorization"] == key  # same seed, same sandbox credentials
        assert again.get(f"/v1/payments/{pid}").json()["payment"] == paid
        log = data.with_suffix(".log").read_text()
        assert log.count("seeded flexportal") == 1  # the second start reused the data file
    finally:
        second.stop()
