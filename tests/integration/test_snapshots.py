"""Snapshots over HTTP: saved with the clocks, restored byte for byte, kept across a restart,
holding only what changed since seeding.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from live import AS_OF, LiveServer, start_server
from test_clock import advance, raw_pages, world_pages
from vendors import Session


@pytest.fixture
def snapshots(live: LiveServer) -> Iterator[str]:
    """The snapshots URL of the live server; every snapshot is deleted afterwards."""
    url = f"{live.url}/__paymock/snapshots"
    yield url
    for snapshot in requests.get(url, timeout=10).json()["snapshots"]:
        requests.delete(f"{url}/{snapshot['name']}", timeout=10)


def clocks(url: str) -> dict[str, dict[str, str]]:
    """Every tenant's clock."""
    result: dict[str, dict[str, str]] = requests.get(f"{url}/__paymock/clock", timeout=10).json()["clocks"]
    return result


def test_a_restored_snapshot_gives_back_every_page_and_clock(live: LiveServer, snapshots: str) -> None:
    # Given a world moved on, a mark-paid on top, and saved
    advance(live.url, by="5d")
    flex = Session(live.url, "flexportal")
    pending = flex.get("/v1/payments", params={"status": "pending", "limit": 1}).json()["payments"]
    assert flex.post(f"/v1/payments/{pending[0]['paymentId']}/mark-paid").status == 200
    saved = requests.post(snapshots, json={"name": "before-demo"}, timeout=30)
    assert saved.status_code == 201 and saved.json()["records"] > 0
    pages, moments = world_pages(live.url), clocks(live.url)
    # When it moves on again and the snapshot is restored
    advance(live.url, by="25d")
    assert world_pages(live.url) != pages
    restored = requests.post(f"{snapshots}/before-demo/restore", timeout=30)
    # Then every page of every API and tenant, and every clock, is back, byte for byte
    assert restored.status_code == 200, restored.text
    assert world_pages(live.url) == pages
    assert clocks(live.url) == moments
    assert {s["name"] for s in requests.get(snapshots, timeout=10).json()["snapshots"]} == {"before-demo"}


def test_a_snapshot_holds_only_what_changed(live: LiveServer, snapshots: str) -> None:
    empty = requests.post(snapshots, json={"name": "seeded"}, timeout=30).json()
    assert empty["records"] == 0
    moved = advance(live.url, by="3d", api="zuora", tenant=1)
    one = requests.post(snapshots, json={"name": "three-days"}, timeout=30).json()
    # The records that moved, and the instalments that appeared (some of which moved too)
    report = moved["zuora"]["1"]
    assert report["records"] <= one["records"] <= report["records"] + report["appeared"].get("payments", 0)
    assert report["records"] > 0


def test_restoring_a_seeded_snapshot_is_a_reset_that_keeps_later_moves_possible(
    live: LiveServer, snapshots: str
) -> None:
    pages = world_pages(live.url)
    requests.post(snapshots, json={"name": "seeded"}, timeout=30)
    advance(live.url, by="30d")
    requests.post(f"{snapshots}/seeded/restore", timeout=30)
    assert world_pages(live.url) == pages
    assert clocks(live.url)["notify"]["1"] == f"{AS_OF}T00:00:00Z"
    # The clock moves forward again from there, to the same world as before.
    advance(live.url, by="30d")
    moved = world_pages(live.url)
    requests.post(f"{live.url}/__paymock/reset", timeout=30)
    advance(live.url, by="30d")
    assert world_pages(live.url) == moved


def test_snapshots_are_deleted_and_unknown_ones_refused(live: LiveServer, snapshots: str) -> None:
    requests.post(snapshots, json={"name": "a"}, timeout=30)
    assert requests.delete(f"{snapshots}/a", timeout=10).json() == {"deleted": 1}
    missing = requests.post(f"{snapshots}/a/restore", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["message"].startswith("no snapshot named 'a'; saved: ")
    assert requests.delete(f"{snapshots}/a", timeout=10).status_code == 404
    bad = requests.post(snapshots, json={"name": "../etc"}, timeout=10)
    assert bad.status_code == 400 and "'../etc' is not a snapshot name" in bad.json()["message"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_snapshots_survive_a_restart(tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> None:
    data = tmp_path / "paymock.sqlite3"
    store = None if kind == "sqlite" else request.getfixturevalue("postgres").database("restart")
    server = start_server(data, workers=1, apis=("zuora", "flexportal"), store=store)
    try:
        advance(server.url, by="12d")
        requests.post(f"{server.url}/__paymock/snapshots", json={"name": "kept"}, timeout=30)
        pages = {api: _pages(server.url, api) for api in ("zuora", "flexportal")}
        requests.post(f"{server.url}/__paymock/reset", timeout=30)
    finally:
        server.stop()
    again = start_server(data, workers=1, apis=("zuora", "flexportal"), store=store)
    try:
        assert requests.post(f"{again.url}/__paymock/snapshots/kept/restore", timeout=30).status_code == 200
        assert {api: _pages(again.url, api) for api in ("zuora", "flexportal")} == pages
        assert clocks(again.url)["zuora"]["1"] == "2026-11-13T00:00:00Z"
    finally:
        again.stop()


def _pages(url: str, api: str) -> list[bytes]:
    """Every page of an API's list, links made independent of the server's port."""
    return [page.replace(url.encode(), b"<server>") for page in raw_pages(Session(url, api), api)]
