"""The store: deep pages and cached counts agree with plain SQL, and writes invalidate them (SQLite only).

These tests read the SQLite store's own file and settings (plain SQL, PRAGMAs, its trace).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from stores import fill

from mock_server.store import ID, KEYS, TABLE_REPLACED, Condition, SQLiteStore, TableSpec
from mock_server.store.sqlite import DEEP_OFFSET
from mock_server.store.sqlite import sql as spelled

TABLE = TableSpec("r_unit_items", (("kind", "text"), ("rank", "integer")), (("kind", "rank"),))
ROWS = DEEP_OFFSET * 2 + 500
ROWS_1 = spelled.rows(TABLE.name, 1)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SQLiteStore:
    store = SQLiteStore(tmp_path_factory.mktemp("store") / "unit.sqlite3")
    fill(store, TABLE, [(1, (f"id{i}", b"{}", b'{"i":%d}' % i, "ab"[i % 2], (i * 7919) % 1000)) for i in range(ROWS)])
    return store


def _plain(store: SQLiteStore, where: str, args: tuple[object, ...], order: str, limit: int, offset: int) -> list[str]:
    db = sqlite3.connect(store.path)
    sql = f"SELECT id FROM {ROWS_1} WHERE 1 {where} ORDER BY {order} LIMIT ? OFFSET ?"
    return [r[0] for r in db.execute(sql, (*args, limit, offset))]


@pytest.mark.parametrize("offset", [DEEP_OFFSET - 1, DEEP_OFFSET, DEEP_OFFSET + 1234, ROWS // 2 - 7, ROWS + 50])
def test_deep_pages_match_plain_offset(store: SQLiteStore, offset: int) -> None:
    condition = Condition("kind", "eq", ("a",))
    got = store.select(TABLE.name, 1, [condition], [("rank", True)], 25, offset=offset)
    assert [r[ID] for r in got] == _plain(store, 'AND "c_kind" = ?', ("a",), '"c_rank" DESC, pk DESC', 25, offset)
    assert all(r[KEYS] is not None for r in got)


def test_writes_invalidate_counts_and_deep_pages(store: SQLiteStore) -> None:
    condition = Condition("kind", "eq", ("b",))
    before = store.count(TABLE.name, 1, [condition])
    deep = store.select(TABLE.name, 1, [condition], [], 10, offset=DEEP_OFFSET)
    with store.transaction() as db:
        # Another process's write is only a committed row and a generation bump to us.
        db.execute(f'UPDATE {ROWS_1} SET "c_kind" = ? WHERE id = ?', ("a", "id1"))
        store.bump(db, TABLE.name)
    assert store.count(TABLE.name, 1, [condition]) == before - 1
    again = store.select(TABLE.name, 1, [condition], [], 10, offset=DEEP_OFFSET)
    assert [r[ID] for r in again] == _plain(store, 'AND "c_kind" = ?', ("b",), "pk ASC", 10, DEEP_OFFSET)
    assert [r[ID] for r in again] != [r[ID] for r in deep]


def test_data_written_by_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '0')")
    db.commit()
    db.close()
    from mock_server.errors import StoreError

    with pytest.raises(StoreError, match="another paymock data version"):
        SQLiteStore(path)


def test_bulk_indexing_sorts_with_helper_threads_and_restores_serving_settings(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "bulk.sqlite3")
    db = store.connection()

    def settings() -> tuple[int, int, int]:
        return tuple(db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("threads", "cache_size", "temp_store"))  # type: ignore[return-value]

    serving = settings()
    with store.transaction() as tx:
        spelled.create_table(tx, TABLE)
        spelled.create_rows(tx, TABLE, 1)
        rows = [(i + 1, f"id{i}", "ab"[i % 2], i % 97) for i in range(2000)]
        spelled.insert_rows(tx, TABLE, 1, rows, [(i + 1, b"{}", b"{}") for i in range(2000)])
    with store.bulk_indexing():
        threads, _, temp_store = settings()
        # Helper threads only sort when runs spill to temporary files (temp_store FILE = 1).
        assert threads >= 1 and temp_store == 1
        with store.transaction() as tx:
            spelled.create_indexes(tx, TABLE, 1)
    assert settings() == serving
    plan = " ".join(
        r[3]
        for r in db.execute(
            f'EXPLAIN QUERY PLAN SELECT pk FROM {ROWS_1} WHERE "c_kind" = ? ORDER BY "c_rank"',
            ("a",),
        )
    )
    assert f"{TABLE.name}:1__0" in plan


def test_bulk_loading_leaves_the_log_only_when_alone_and_comes_back_to_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "load.sqlite3")
    db = store.connection()

    def mode() -> tuple[str, int]:
        return db.execute("PRAGMA journal_mode").fetchone()[0], db.execute("PRAGMA synchronous").fetchone()[0]

    assert mode() == ("wal", 1)
    with store.bulk_loading():
        assert mode() == ("delete", 0)  # rows and index pages written once, straight into the file
    assert mode() == ("wal", 1)
    other = sqlite3.connect(store.path)
    other.execute("SELECT count(*) FROM meta").fetchone()
    with store.bulk_loading():
        assert mode() == ("wal", 0)  # a reader has the file open: it keeps its log
    assert mode() == ("wal", 1)
    other.close()


def test_bulk_indexing_counts_cores_where_the_os_has_no_affinity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)  # macOS, for one
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    store = SQLiteStore(tmp_path / "cores.sqlite3")
    with store.bulk_indexing():
        assert store.connection().execute("PRAGMA threads").fetchone()[0] == 2 * 3


def test_the_index_choice_counts_again_only_once_writes_may_have_moved_a_count_by_a_sixteenth(
    tmp_path: Path,
) -> None:
    # An index per column: a kind filter sorted by rank weighs the kind's index against rank's.
    table = TableSpec("r_unit_weighed", TABLE.columns, (("kind", "pk"), ("rank", "pk")))
    store = SQLiteStore(tmp_path / "estimate.sqlite3")
    fill(store, table, [(1, (f"id{i}", b"{}", b"{}", "ab"[i % 2], i)) for i in range(1600)])
    kind_a = [Condition("kind", "eq", ("a",))]
    counted: list[str] = []
    store.connection().set_trace_callback(lambda sql: counted.append(sql) if "count(*)" in sql else None)
    kind_a_ids = (f"id{i}" for i in range(0, 1600, 2))

    def write(rows: int) -> None:  # one "a" becomes a "b"; the bump claims ``rows`` rows changed
        with store.transaction() as db:
            db.execute(f'UPDATE {spelled.rows(table.name, 1)} SET "c_kind" = ? WHERE id = ?', ("b", next(kind_a_ids)))
            store.bump(db, table.name, rows)

    def sorted_page() -> list[str]:
        return [r[ID] for r in store.select(table.name, 1, kind_a, [("rank", False)], 5)]

    assert sorted_page() == ["id0", "id2", "id4", "id6", "id8"]
    assert len(counted) == 2  # the matches and all rows, to weigh the two indexes
    write(1)
    assert sorted_page() == ["id2", "id4", "id6", "id8", "id10"] and len(counted) == 2  # not again
    # Exact counts (an envelope's total) are made again after any write; the estimate is not.
    assert store.count(table.name, 1, kind_a) == 799 and len(counted) == 3
    write(48)  # 48 rows changed since the matches were counted: within 799 // 16 = 49
    assert store.estimate(table.name, 1, kind_a) == 799 and len(counted) == 3
    write(2)  # 50 changed of the 49 allowed: counted again
    assert store.estimate(table.name, 1, kind_a) == 797 and len(counted) == 4
    with store.transaction() as db:
        store.bump(db, table.name, TABLE_REPLACED)  # a table seeded anew: nothing before holds
    assert store.estimate(table.name, 1, kind_a) == 797 and len(counted) == 5
