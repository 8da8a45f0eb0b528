"""The store's changes of many records and its snapshots: only what changed is kept, and a
restore gives back every row, document and metadata value as it was saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from stores import fill

from mock_server.store import ID, BaseStore, Condition, Spread, TableSpec, open_store

TABLE = TableSpec("r_unit_history", (("kind", "text"), ("rank", "integer")), (("kind",),))
ROWS = 40


def _record(i: int) -> tuple[int, tuple[Any, ...]]:
    facts = orjson.dumps({"i": i, "kind": "ab"[i % 2]})
    return (1 + i % 2, (f"id{i}", facts, b'{"i":%d}' % i, "ab"[i % 2], i))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseStore]:
    """A store of two tenants' rows, seeded (each test runs on both backends)."""
    if request.param == "sqlite":
        store = open_store(tmp_path / "unit.sqlite3")
    else:
        store = open_store(request.getfixturevalue("postgres").database("history"))
    fill(store, TABLE, [_record(i) for i in range(ROWS)], tenants=2)
    yield store
    store.close()


def _promote(facts: dict[str, Any]) -> tuple[dict[str, Any], bytes, list[Any]] | None:
    """Every ``a`` record of an even ``i`` below 20 becomes ``c``, ranked 1000 up."""
    if facts["kind"] != "a" or facts["i"] >= 20:
        return None
    changed = {**facts, "kind": "c"}
    return changed, orjson.dumps(changed), ["c", 1000 + facts["i"]]


def _mark(facts: dict[str, Any]) -> tuple[dict[str, Any], bytes, list[Any]]:
    """A record spread to: its kind gets a ``!`` (on the facts the first change left, if it changed it)."""
    changed = {**facts, "kind": facts["kind"] + "!"}
    return changed, orjson.dumps(changed), [changed["kind"], facts["i"]]


def test_a_spread_changes_the_records_holding_its_values_after_the_first_change(store: BaseStore) -> None:
    # Given the promotion of tenant 1's ten low "a" records to "c", spreading to every "a" and "b" record
    asked: list[bool] = []

    def then() -> Spread:
        asked.append(True)
        return Spread("kind", frozenset({"a", "b"}), _mark)

    changed = store.revise(TABLE, 1, [Condition("rank", "lte", (18,))], _promote, then)
    # Then the promoted records are marked on their promoted facts, the others as they were: each written once
    assert asked == [True] and changed == 20
    assert store.count(TABLE.name, 1, [Condition("kind", "eq", ("c!",))]) == 10
    assert store.count(TABLE.name, 1, [Condition("kind", "eq", ("a!",))]) == 10
    assert store.count(TABLE.name, 1, [Condition("kind", "eq", ("c",))]) == 0
    # And a spread reaches records the first change did not select (tenant 2's "b" records)
    assert store.revise(TABLE, 2, [Condition("kind", "eq", ("z",))], _promote, then) == 20
    assert store.count(TABLE.name, 2, [Condition("kind", "eq", ("b!",))]) == 20
    assert store.reset([TABLE.name]) == 40


def _rows(store: BaseStore, tenant: int) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in store.select(TABLE.name, tenant, [], [], None)]


def test_revise_changes_only_what_the_change_changes(store: BaseStore) -> None:
    changed = store.revise(TABLE, 1, [Condition("kind", "eq", ("a",)), Condition("kind", "eq", ("b",))], _promote)
    assert changed == 10  # tenant 1 holds the even i; those below 20 are promoted
    assert store.count(TABLE.name, 1, [Condition("kind", "eq", ("c",))]) == 10
    assert store.count(TABLE.name, 2, [Condition("kind", "eq", ("c",))]) == 0  # tenants apart
    assert store.changed([TABLE.name]) == 10
    first = store.select(TABLE.name, 1, [Condition("kind", "eq", ("c",))], [("rank", False)], 1)[0]
    assert first[ID] == "id0" and orjson.loads(first[2]) == {"i": 0, "kind": "c"}
    assert store.reset([TABLE.name]) == 10
    assert store.count(TABLE.name, 1, [Condition("kind", "eq", ("c",))]) == 0


def test_revise_meeting_nothing_changes_nothing(store: BaseStore) -> None:
    generation = store.generation(TABLE.name)
    assert store.revise(TABLE, 1, [Condition("kind", "eq", ("z",))], _promote) == 0
    assert store.generation(TABLE.name) == generation


def test_a_snapshot_holds_only_changed_records_and_restores_them(store: BaseStore) -> None:
    seeded = {t: _rows(store, t) for t in (1, 2)}
    assert store.save_snapshot("seeded", [TABLE.name], {"clock:unit:1": "0"}, 1).records == 0
    store.revise(TABLE, 1, [Condition("kind", "eq", ("a",))], _promote)
    saved = store.save_snapshot("promoted", [TABLE.name], {"clock:unit:1": "86400"}, 2)
    assert saved.records == 10
    promoted = {t: _rows(store, t) for t in (1, 2)}
    # When everything is reset and the snapshot restored
    store.reset([TABLE.name])
    store.set_meta({"clock:unit:1": "5"})
    restored = store.restore_snapshot("promoted", [TABLE.name])
    # Then rows, documents and metadata are as saved, and a reset still goes back to the seed
    assert restored is not None and restored.records == 10
    assert {t: _rows(store, t) for t in (1, 2)} == promoted
    assert store.meta("clock:unit:1") == "86400"
    assert store.changed([TABLE.name]) == 10
    assert store.restore_snapshot("seeded", [TABLE.name]) is not None
    assert {t: _rows(store, t) for t in (1, 2)} == seeded
    assert store.meta("clock:unit:1") == "0"


def test_snapshots_are_listed_replaced_and_deleted(store: BaseStore) -> None:
    store.save_snapshot("b", [TABLE.name], {}, 1)
    store.save_snapshot("a", [TABLE.name], {}, 2)
    store.revise(TABLE, 1, [Condition("kind", "eq", ("a",))], _promote)
    store.save_snapshot("b", [TABLE.name], {}, 3)
    assert [(s.name, s.records, s.taken) for s in store.snapshots()] == [("a", 0, 2), ("b", 10, 3)]
    assert store.delete_snapshot("a") and not store.delete_snapshot("a")
    assert store.restore_snapshot("a", [TABLE.name]) is None
    assert [s.name for s in store.snapshots()] == ["b"]


def test_seeding_anew_forgets_snapshots(store: BaseStore) -> None:
    store.save_snapshot("kept", [TABLE.name], {}, 1)
    fill(store, TABLE, [_record(i) for i in range(ROWS)], tenants=2)
    assert store.snapshots() == []
