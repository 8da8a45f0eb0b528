"""No list query scans a collection where an index can serve it (issue #4: depth). SQLite only.

These tests read SQLite's query plans (``EXPLAIN QUERY PLAN``) of the SQLite store.

Every list operation of every document is planned by SQLite as the mock runs it: the first page
and a keyset page after it, for each filter (and scope) with the default order, and for each
order the operation can be asked for without a filter. The indexes come from the same
``x-paymock`` declarations (:func:`mock_server.seeding.list_indexes`), so a document that adds a
filter gets its index, and this test fails if it does not.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from live import AS_OF

from mock_server.actions import ListAction
from mock_server.sandbox import Sandbox
from mock_server.sorting import DirectionSort, FixedSort, SignedFieldsSort, SortKey
from mock_server.spec import OperationSpec
from mock_server.store import Condition, SQLiteStore
from mock_server.store.sqlite import sql as spelled

Served = Sandbox


def _list_operations(served: Served) -> Iterator[tuple[str, OperationSpec, ListAction]]:
    for spec in served.specs:
        for op in spec.operations:
            if isinstance(op.action, ListAction):
                yield f"{spec.name} {op.method} {op.path}", op, op.action


def _orders(action: ListAction) -> list[list[SortKey]]:
    sorter = action.sorter
    if sorter is None:
        return [[]]
    if isinstance(sorter, FixedSort):
        return [list(sorter.keys)]
    if isinstance(sorter, DirectionSort):
        return [sorter.order(None), *(sorter.order(v) for v in sorter.values)]
    if isinstance(sorter, SignedFieldsSort):
        fields = [sorter.order(f"{op}{name}") for name in sorter.fields for op in (sorter.ascending, sorter.descending)]
        return [sorter.order(None), *fields]
    raise AssertionError(f"unknown sorter {sorter!r}")


@contextmanager
def _captured(store: SQLiteStore) -> Iterator[list[str]]:
    statements: list[str] = []
    with store.reading() as db:
        db.set_trace_callback(statements.append)
        try:
            yield statements
        finally:
            db.set_trace_callback(None)


def _full_scans(db: sqlite3.Connection, sql: str, table: str, order: list[SortKey]) -> list[str]:
    """Plan lines reading every row of ``table`` outside an index: wrong, unless the order is the table's own.

    A tenant's rows are stored in creation order: a page in that order reads the table from
    its start (or end) and stops after its last record.
    """
    if [col for col, _ in order] == ["pk"]:
        return []
    plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
    return [line for line in plan if line.startswith(f"SCAN {table}") and "USING" not in line]


def _unindexed(db: sqlite3.Connection, sql: str, table: str, column: str) -> list[str]:
    """Plan lines reading ``table`` through an index that does not hold ``column`` (or no index)."""
    bad = []
    for line in (row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")):
        if not line.startswith((f"SCAN {table}", f"SEARCH {table}")):
            continue
        found = re.search(r"USING (?:COVERING )?INDEX (\S+)", line)
        held = [r[2] for r in db.execute(f'PRAGMA index_info("{found.group(1)}")')] if found else []
        if spelled.column(column).strip('"') not in held:
            bad.append(line)
    return bad


def _sorts(db: sqlite3.Connection, sql: str) -> list[str]:
    return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}") if "TEMP B-TREE" in row[3]]


def _run(store: SQLiteStore, action: ListAction, conditions: list[Condition], order: list[SortKey]) -> list[str]:
    """The SQL of a first page and of the keyset page after its last record, as the paginators read them."""
    table = action.collection.table
    with _captured(store) as statements:
        first = store.page(table, 1, conditions, order, limit=20, ids=True)
        anchor = store.find(table, 1, first.ids[-1], order) if first.ids else None
        if anchor is not None:
            store.page(table, 1, conditions, order, limit=20, after=(anchor, False))
    # The anchor's lookup by ID is not a list query.
    pages = [s for s in statements if s.lstrip().upper().startswith("SELECT COUNT(*)")]
    assert pages and all(spelled.rows(table, 1) in s for s in pages)
    return pages


def _condition(column: str, value: Any, is_range: bool) -> Condition:
    return Condition(column, "gte" if is_range else "eq", (value,))  # as the filter operators make them


def test_every_filter_and_every_order_is_served_by_an_index(served: Served) -> None:
    store = served.store
    assert isinstance(store, SQLiteStore)
    checked = 0
    problems: list[str] = []
    for name, op, action in _list_operations(served):
        table = action.collection.table
        scope = [_condition(s.column.key, store.sample(table, 1, s.column.key, 1)[0], False) for s in action.scopes]
        default = _orders(action)[0]
        narrowing = [(p.filter.column, p.filter.is_range) for p in op.params if p.filter is not None]
        for column, is_range in narrowing:
            value = store.sample(table, 1, column, 1)
            if not value:
                continue  # a column with no value in this world (no filter can narrow it)
            for sql in _run(store, action, [*scope, _condition(column, value[0], is_range)], default):
                with store.reading() as db:
                    unindexed = _unindexed(db, sql, f"{table}:1", column)
                    problems += [f"{name} filter {column}: {line}" for line in unindexed]
                checked += 1
        for order in _orders(action):
            for sql in _run(store, action, scope, order):
                with store.reading() as db:
                    problems += [f"{name} order {order}: {line}" for line in _full_scans(db, sql, f"{table}:1", order)]
                    mixed = len({desc for _, desc in order}) > 1
                    if not mixed:
                        problems += [f"{name} order {order}: {line}" for line in _sorts(db, sql)]
                checked += 1
    assert checked > 60
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("api", ["zuora"])
def test_a_requested_sort_breaks_ties_by_the_default_order(served: Served, api: str) -> None:
    (op,) = [op for name, op, _ in _list_operations(served) if name.startswith(api) and "payments" in op.path]
    assert isinstance(op.action, ListAction)
    sorter = op.action.sorter
    assert isinstance(sorter, SignedFieldsSort)
    # Payment numbers are creation-ordered: ties by number are ties by the primary key, and a
    # key after the number could never decide anything.
    assert sorter.order("-amount") == [("amount", False), ("pk", False)]
    assert sorter.order("+amount") == [("amount", True), ("pk", True)]
    assert sorter.order("-number,+amount") == [("pk", False)]
    assert sorter.order(None) == [("pk", True)]


def test_creation_ordered_columns_sort_as_creation_order(served: Served) -> None:
    """What ``creation-order: true`` promises holds for every record of every tenant."""
    checked = 0
    for spec in served.specs:
        for collection in spec.collections.values():
            for column in (c for c in collection.columns.values() if c.creation_ordered):
                assert isinstance(served.store, SQLiteStore)
                with served.store.reading() as db:
                    for tenant in range(1, served.settings.tenant_count(spec) + 1):
                        rows = spelled.rows(collection.table, tenant)
                        by_column = f"SELECT pk FROM {rows} ORDER BY {spelled.column(column.key)}"
                        by_pk = f"SELECT pk FROM {rows} ORDER BY pk"
                        assert db.execute(by_column).fetchall() == db.execute(by_pk).fetchall()
                        checked += 1
    assert checked >= 2  # zuora's payment numbers, in more than one tenant


def _broad_values(store: SQLiteStore, table: str, column: str) -> list[Any]:
    """Values of ``column`` held by at least a fifth of tenant 1's rows."""
    with store.reading() as db:
        total = db.execute(f"SELECT count(*) FROM {spelled.rows(table, 1)}").fetchone()[0]
        col = spelled.column(column)
        sql = f"SELECT {col}, count(*) FROM {spelled.rows(table, 1)} WHERE {col} IS NOT NULL GROUP BY 1"
        return [value for value, n in db.execute(sql) if n * 5 >= total]


def _check_broad_filters_with_other_orders(served: Served) -> tuple[int, list[str]]:
    """A filter most rows pass, with another order: the order's index is walked, the matches not sorted.

    For a narrow filter (one account) reading its few rows through the filter's index and
    sorting them is right, and SQLite does so. For a broad one (a status most payments have)
    that plan sorts most of the collection for every page: 1.9 s for a first page of a million
    payments, where walking the order's index and skipping the rows that fail takes 2 ms.
    """
    store = served.store
    assert isinstance(store, SQLiteStore)
    checked, problems = 0, []
    for name, op, action in _list_operations(served):
        table = action.collection.table
        if action.scopes:
            continue  # a scoped list is narrow by construction
        default, *others = _orders(action)
        for p in (p for p in op.params if p.filter is not None and not p.filter.is_range):
            for value in _broad_values(store, table, p.filter.column)[:1]:
                for order in others:
                    if order == default or len({desc for _, desc in order}) > 1:
                        continue
                    for sql in _run(store, action, [_condition(p.filter.column, value, False)], order):
                        with store.reading() as db:
                            problems += [
                                f"{name} {p.filter.column}={value!r} order {order}: {line}" for line in _sorts(db, sql)
                            ]
                        checked += 1
    return checked, problems


@pytest.fixture(scope="module")
def one_tenant() -> Served:
    """The APIs with the most filters and orders, one tenant each, as the depth benchmark seeds them.

    Large enough for SQLite to weigh plans: the shared fixture's 150 payments a tenant are so
    few that sorting any filter's matches is cheap, and SQLite rightly does.
    """
    return Sandbox.open(("zuora", "flexportal"), store=":memory:", payments=4000, tenants=1, as_of=AS_OF).seed()


def test_a_broad_filter_with_another_order_walks_the_orders_index(one_tenant: Served) -> None:
    checked, problems = _check_broad_filters_with_other_orders(one_tenant)
    assert checked > 20
    assert not problems, "\n".join(problems)


def test_a_narrow_filter_with_another_order_reads_the_filters_index(one_tenant: Served) -> None:
    """One account's payments sorted by amount: read through the account's index and sorted.

    Walking the amount index would visit every payment to find the account's few.
    """
    store = one_tenant.store
    assert isinstance(store, SQLiteStore)
    checked, problems = 0, []
    for name, op, action in _list_operations(one_tenant):
        if not name.startswith("zuora") or "payments" not in op.path:
            continue
        column = "accountId"
        (value,) = store.sample(action.collection.table, 1, column, 1)
        for order in [o for o in _orders(action) if o[0][0] not in (column, "pk")][:4]:
            for sql in _run(store, action, [_condition(column, value, False)], order):
                with store.reading() as db:
                    unindexed = _unindexed(db, sql, f"{action.collection.table}:1", column)
                    problems += [f"{name} order {order}: {line}" for line in unindexed]
                checked += 1
    assert checked >= 2
    assert not problems, "\n".join(problems)


def test_one_tenant_worlds_serve_every_filter_and_order_by_an_index(one_tenant: Served) -> None:
    test_every_filter_and_every_order_is_served_by_an_index(one_tenant)
