"""No list query scans a collection where an index can serve it (issue #4: depth).

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

from mock_server.actions import ListAction
from mock_server.cli import Served
from mock_server.filtering import Condition
from mock_server.sorting import DirectionSort, FixedSort, SignedFieldsSort, SortKey
from mock_server.spec import OperationSpec
from mock_server.store import Store


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
def _captured(store: Store) -> Iterator[list[str]]:
    statements: list[str] = []
    with store.reading() as db:
        db.set_trace_callback(statements.append)
        try:
            yield statements
        finally:
            db.set_trace_callback(None)


def _full_scans(db: sqlite3.Connection, sql: str, table: str) -> list[str]:
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
        if column.strip('"') not in held:
            bad.append(line)
    return bad


def _sorts(db: sqlite3.Connection, sql: str) -> list[str]:
    return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}") if "TEMP B-TREE" in row[3]]


def _run(store: Store, action: ListAction, conditions: list[Condition], order: list[SortKey]) -> list[str]:
    """The SQL of a first page and of the keyset page after its last record, as the paginators read them."""
    table = action.collection.table
    with _captured(store) as statements:
        first = store.page(table, 1, conditions, order, limit=20, ids=True)
        anchor = store.find(table, 1, first.ids[-1], order) if first.ids else None
        if anchor is not None:
            store.page(table, 1, conditions, order, limit=20, after=(anchor, False))
    # The anchor's lookup by ID is not a list query.
    pages = [s for s in statements if s.lstrip().upper().startswith("SELECT COUNT(*)")]
    assert pages and all(f'"{table}"' in s for s in pages)
    return pages


def _condition(column: str, value: Any, is_range: bool) -> Condition:
    return Condition(f"{column} {'>=' if is_range else '='} ?", (value,))


def test_every_filter_and_every_order_is_served_by_an_index(served: Served) -> None:
    store = served.store
    checked = 0
    problems: list[str] = []
    for name, op, action in _list_operations(served):
        table = action.collection.table
        scope = [_condition(s.column.sql, store.sample(table, 1, s.column.sql, 1)[0], False) for s in action.scopes]
        default = _orders(action)[0]
        narrowing = [(p.filter.column, p.filter.is_range) for p in op.params if p.filter is not None]
        for column, is_range in narrowing:
            value = store.sample(table, 1, column, 1)
            if not value:
                continue  # a column with no value in this world (no filter can narrow it)
            for sql in _run(store, action, [*scope, _condition(column, value[0], is_range)], default):
                with store.reading() as db:
                    problems += [f"{name} filter {column}: {line}" for line in _unindexed(db, sql, table, column)]
                checked += 1
        for order in _orders(action):
            for sql in _run(store, action, scope, order):
                with store.reading() as db:
                    problems += [f"{name} order {order}: {line}" for line in _full_scans(db, sql, table)]
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
    assert sorter.order("-amount") == [('"c_amount"', False), ('"c_number"', False)]
    assert sorter.order("+amount") == [('"c_amount"', True), ('"c_number"', True)]
    assert sorter.order("-number,+amount") == [('"c_number"', False), ('"c_amount"', True)]
