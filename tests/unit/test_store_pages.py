"""Store.page: one row from SQLite per list page, the same records as Store.select's rows.

Every paginator reads its page through :meth:`Store.page` (documents joined by SQLite, IDs as a
JSON array); :meth:`Store.select` is the plain per-row query. Both must give the same records
in the same order for every shape of list query the paginators make.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.filtering import Condition
from mock_server.sorting import SortKey
from mock_server.store import DEEP_OFFSET, DOC, ID, Page, Row, Store, TableSpec

TABLE = TableSpec(
    "r_unit_pages",
    (('"c_kind"', "TEXT"), ('"c_rank"', "INTEGER"), ('"c_day"', "TEXT")),
    (('"c_kind"', "pk"), ('"c_rank"', "pk"), ('"c_day"', '"c_rank"', "pk")),
)
# IDs with the characters a JSON array or a comma-joined list could trip over, and documents of
# varied length with multi-byte characters (sizes are bytes, not characters).
IDS = [f"id-{i}" if i % 5 else f'id,"{i}"\\é' for i in range(300)]
DOCS = [
    json.dumps({"i": i, "note": "ü€" * (i % 7), "pad": "x" * (i * 13 % 200)}, ensure_ascii=False).encode()
    for i in range(300)
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("pages") / "pages.sqlite3")
    rows = [(IDS[i], b"{}", DOCS[i], "abc"[i % 3], (i * 37) % 11, f"2024-01-{1 + i % 28:02d}") for i in range(300)]
    with store.transaction() as db:
        store.create_table(db, TABLE)
        # Records of two tenants, interleaved in creation order; a third tenant has none.
        for tenant in (1, 2, 3):
            store.create_rows(db, TABLE, tenant)
        for i, row in enumerate(rows):
            store.insert(db, TABLE, _tenant_of(i), [row])
        for tenant in (1, 2, 3):
            store.create_indexes(db, TABLE, tenant)
    return store


def _tenant_of(i: int) -> int:
    return 1 + (i % 3 == 0)


COLUMNS = ['"c_kind"', '"c_rank"', '"c_day"']
orders = st.lists(st.tuples(st.sampled_from(COLUMNS), st.booleans()), max_size=2, unique_by=lambda k: k[0])
conditions = st.sampled_from(
    [[], [Condition('"c_kind" = ?', ("b",))], [Condition('"c_rank" >= ?', (5,))], [Condition('"c_kind" = ?', ("z",))]]
)


def _same(page: Page, rows: list[Row], ids: bool = True, documents: bool = True) -> None:
    assert len(page) == len(rows)
    assert page.ids == ([r[ID] for r in rows] if ids else [])
    if documents:
        assert page.items() == b"[" + b",".join(r[DOC] for r in rows) + b"]"
        assert json.loads(page.items()) == [json.loads(r[DOC]) for r in rows]
    else:
        assert (page.joined, page.docs or []) == (b"", [])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order=orders,
    where=conditions,
    tenant=st.sampled_from([1, 2, 3]),
    limit=st.one_of(st.none(), st.integers(0, 120)),
    offset=st.integers(0, 320),
    ids=st.booleans(),
)
def test_a_page_is_the_rows_select_gives(
    store: Store, order: list[SortKey], where: list[Condition], tenant: int, limit: int | None, offset: int, ids: bool
) -> None:
    rows = store.select(TABLE.name, tenant, where, order, limit, offset=offset)
    _same(store.page(TABLE.name, tenant, where, order, limit, offset=offset, ids=ids), rows, ids)


def _anchor(store: Store, at: int, order: list[SortKey]) -> tuple[int, Row]:
    """The tenant of the ``at``-th record and the record as an anchor in ``order``."""
    tenant = _tenant_of(at)
    anchor = store.find(TABLE.name, tenant, IDS[at], order)
    assert anchor is not None
    return tenant, anchor


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order=orders,
    where=conditions,
    at=st.integers(0, 299),
    inclusive=st.booleans(),
    reverse=st.booleans(),
    documents=st.booleans(),
    limit=st.integers(1, 60),
)
def test_a_keyset_page_is_the_rows_select_gives(
    store: Store,
    order: list[SortKey],
    where: list[Condition],
    at: int,
    inclusive: bool,
    reverse: bool,
    documents: bool,
    limit: int,
) -> None:
    tenant, anchor = _anchor(store, at, order)
    after = (anchor, inclusive)
    rows = store.select(TABLE.name, tenant, where, order, limit, after=after, reverse=reverse)
    page = store.page(
        TABLE.name, tenant, where, order, limit, after=after, reverse=reverse, ids=True, documents=documents
    )
    _same(page, rows, documents=documents)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 50])
def test_head_keeps_the_first_records_whole(store: Store, n: int) -> None:
    page = store.page(TABLE.name, 1, [], [], 8, ids=True)
    rows = store.select(TABLE.name, 1, [], [], 8)
    _same(page.head(n), rows[:n])


def test_an_empty_page_has_no_documents(store: Store) -> None:
    page = store.page(TABLE.name, 3, [], [], 50, ids=True)
    assert (page.count, page.ids, page.items()) == (0, [], b"[]")


def test_a_document_holding_the_separator_is_read_row_by_row(tmp_path: Path) -> None:
    store = Store(tmp_path / "odd.sqlite3")
    table = TableSpec("r_unit_odd", (('"c_rank"', "INTEGER"),))
    docs = [b'{"a":1}', b'{"b":"\x1e"}', b'{"c":3}']  # the second holds a raw separator byte
    with store.transaction() as db:
        store.create_table(db, table)
        store.create_rows(db, table, 1)
        store.insert(db, table, 1, ((f"o{i}", b"{}", doc, i) for i, doc in enumerate(docs)))
    page = store.page(table.name, 1, [], [], None, ids=True)
    assert page.items() == b"[" + b",".join(docs) + b"]"
    assert page.ids == ["o0", "o1", "o2"]
    assert page.head(2).items() == b"[" + b",".join(docs[:2]) + b"]"


def test_deep_pages_come_from_the_cached_order_as_pages(tmp_path: Path) -> None:
    store = Store(tmp_path / "deep.sqlite3")
    table = TableSpec("r_unit_deep", (('"c_rank"', "INTEGER"),), (('"c_rank"', "pk"),))
    with store.transaction() as db:
        store.create_table(db, table)
        store.create_rows(db, table, 1)
        store.insert(db, table, 1, ((f"d{i}", b"{}", b'{"i":%d}' % i, i % 13) for i in range(DEEP_OFFSET + 300)))
        store.create_indexes(db, table, 1)
    order: list[SortKey] = [('"c_rank"', True)]
    for offset in (DEEP_OFFSET - 5, DEEP_OFFSET, DEEP_OFFSET + 290):
        rows = store.select(table.name, 1, [], order, 20, offset=offset)
        _same(store.page(table.name, 1, [], order, 20, offset=offset, ids=True), rows)
        _same(store.page(table.name, 1, [], order, 20, offset=offset), rows, ids=False)


fixing = st.sampled_from(
    [
        Condition('"c_kind" = ?', ("b",), fixes='"c_kind"'),
        Condition('"c_rank" = ?', (3,), fixes='"c_rank"'),
        Condition('"c_day" = ?', ("2024-01-05",), fixes='"c_day"'),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order=orders,
    condition=fixing,
    at=st.integers(0, 299),
    inclusive=st.booleans(),
    reverse=st.booleans(),
)
def test_an_equality_filter_on_an_order_key_gives_the_same_keyset_pages(
    store: Store, order: list[SortKey], condition: Condition, at: int, inclusive: bool, reverse: bool
) -> None:
    """Leaving a held column out of the keyset condition changes the plan, never the rows.

    Anchors are any record, so also ones the filter does not pass (a cursor from another list).
    """
    tenant, anchor = _anchor(store, at, order)
    plain = Condition(condition.sql, condition.args)
    expected = store.select(TABLE.name, tenant, [plain], order, 40, after=(anchor, inclusive), reverse=reverse)
    got = store.select(TABLE.name, tenant, [condition], order, 40, after=(anchor, inclusive), reverse=reverse)
    assert got == expected


def test_a_keyset_walk_of_the_null_rows_sorted_by_that_column_reads_them_all(tmp_path: Path) -> None:
    # In a row value, a null key made every later page empty: (NULL, pk) > (NULL, ?) is never true.
    store = Store(tmp_path / "nulls.sqlite3")
    table = TableSpec("r_unit_nulls", (('"c_ref"', "TEXT"),), (('"c_ref"', "pk"),))
    with store.transaction() as db:
        store.create_table(db, table)
        store.create_rows(db, table, 1)
        store.insert(db, table, 1, [(f"n{i}", b"{}", b"{}", None if i % 2 else f"r{i}") for i in range(30)])
        store.create_indexes(db, table, 1)
    null = Condition('"c_ref" IS NULL', (), fixes='"c_ref"')
    order: list[SortKey] = [('"c_ref"', False)]
    seen: list[str] = []
    after = None
    while True:
        rows = store.select(table.name, 1, [null], order, 4, after=after)
        if not rows:
            break
        seen += [r[ID] for r in rows]
        after = (rows[-1], False)
    assert seen == [f"n{i}" for i in range(1, 30, 2)]
