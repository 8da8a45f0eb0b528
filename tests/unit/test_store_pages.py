"""Store.page: one row from the database per list page, the same records as Store.select's rows.

Every paginator reads its page through :meth:`BaseStore.page` (documents and IDs joined by the
database); :meth:`BaseStore.select` is the plain per-row query. Both must give the same
records in the same order for every shape of list query the paginators make, on every store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stores import fill

from mock_server.sorting import SortKey
from mock_server.store import DOC, ID, KEYS, SEP, BaseStore, Condition, Page, Row, TableSpec, open_store
from mock_server.store.sqlite import DEEP_OFFSET

TABLE = TableSpec(
    "r_unit_pages",
    (("kind", "text"), ("rank", "integer"), ("day", "text")),
    (("kind", "pk"), ("rank", "pk"), ("day", "rank", "pk")),
)
# IDs with the characters a JSON array or a comma-joined list could trip over, and documents of
# varied length with multi-byte characters (sizes are bytes, not characters).
IDS = [f"id-{i}" if i % 5 else f'id,"{i}"\\é' for i in range(300)]
DOCS = [
    json.dumps({"i": i, "note": "ü€" * (i % 7), "pad": "x" * (i * 13 % 200)}, ensure_ascii=False).encode()
    for i in range(300)
]


Store = BaseStore


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def kind(request: pytest.FixtureRequest) -> str:
    """The store these tests run on (each runs on both)."""
    return str(request.param)


@pytest.fixture
def new_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], BaseStore]]:
    """Opens a new, empty store of the kind under test (closed after the test)."""
    opened: list[BaseStore] = []

    def opening() -> BaseStore:
        if kind == "sqlite":
            store = open_store(tmp_path / "unit.sqlite3")
        else:
            store = open_store(request.getfixturevalue("postgres").database("unit"))
        opened.append(store)
        return store

    yield opening
    for store in opened:
        store.close()  # a PostgreSQL pool left to the garbage collector may be collected in its own thread


@pytest.fixture(scope="module")
def store(kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    target = tmp_path_factory.mktemp("pages") / "pages.sqlite3" if kind == "sqlite" else None
    store = open_store(target or request.getfixturevalue("postgres").database("pages"))
    rows = [(IDS[i], b"{}", DOCS[i], "abc"[i % 3], (i * 37) % 11, f"2024-01-{1 + i % 28:02d}") for i in range(300)]
    # Records of two tenants, interleaved in creation order; a third tenant has none.
    fill(store, TABLE, [(_tenant_of(i), row) for i, row in enumerate(rows)], tenants=3)
    yield store
    store.close()


def _tenant_of(i: int) -> int:
    return 1 + (i % 3 == 0)


COLUMNS = ["kind", "rank", "day"]
orders = st.lists(st.tuples(st.sampled_from(COLUMNS), st.booleans()), max_size=2, unique_by=lambda k: k[0])
conditions = st.sampled_from(
    [[], [Condition("kind", "eq", ("b",))], [Condition("rank", "gte", (5,))], [Condition("kind", "eq", ("z",))]]
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


def test_a_value_holding_nul_matches_nothing(store: Store) -> None:
    # PostgreSQL text cannot hold NUL (sending one is an error); on either store no row matches it.
    condition = Condition("kind", "eq", ("a\x00",))
    assert store.count(TABLE.name, 1, [condition]) == 0
    assert store.select(TABLE.name, 1, [condition], [], 10) == []


def test_an_empty_page_has_no_documents(store: Store) -> None:
    page = store.page(TABLE.name, 3, [], [], 50, ids=True)
    assert (page.count, page.ids, page.items()) == (0, [], b"[]")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=12), min_size=1, max_size=6))
def test_documents_holding_control_characters_page_whole(new_store: Callable[[], BaseStore], texts: list[str]) -> None:
    # Pages are split at SEP without counting it: the store relies on a document (orjson's JSON,
    # as seeding and state changes write it) never holding that byte, whatever text it carries.
    docs = [orjson.dumps({"t": f"\x1e{t}\x00\x1f"}) for t in texts]
    assert not any(SEP in doc for doc in docs)
    store = new_store()
    table = TableSpec("r_unit_odd", (("rank", "integer"),))
    fill(store, table, [(1, (f"o{i}", b"{}", doc, i)) for i, doc in enumerate(docs)])
    page = store.page(table.name, 1, [], [], None, ids=True)
    assert orjson.loads(page.items()) == [{"t": f"\x1e{t}\x00\x1f"} for t in texts]
    assert page.head(len(docs) - 1).items() == b"[" + b",".join(docs[:-1]) + b"]"


def test_an_id_holding_the_separator_is_read_row_by_row(new_store: Callable[[], BaseStore]) -> None:
    # IDs come joined by the separator too (PostgreSQL); one holding it must not split in two.
    store = new_store()
    table = TableSpec("r_unit_odd_ids", (("rank", "integer"),))
    ids = ["o0", "o\x1e1", "o2"]
    fill(store, table, [(1, (id_, b"{}", b'{"i":%d}' % i, i)) for i, id_ in enumerate(ids)])
    page = store.page(table.name, 1, [], [], None, ids=True)
    assert (page.count, page.ids) == (3, ids)
    assert page.head(2).ids == ids[:2]


def test_deep_pages_come_from_the_cached_order_as_pages(new_store: Callable[[], BaseStore]) -> None:
    store = new_store()
    table = TableSpec("r_unit_deep", (("rank", "integer"),), (("rank", "pk"),))
    fill(store, table, [(1, (f"d{i}", b"{}", b'{"i":%d}' % i, i % 13)) for i in range(DEEP_OFFSET + 300)])
    order: list[SortKey] = [("rank", True)]
    for offset in (DEEP_OFFSET - 5, DEEP_OFFSET, DEEP_OFFSET + 290):
        rows = store.select(table.name, 1, [], order, 20, offset=offset)
        _same(store.page(table.name, 1, [], order, 20, offset=offset, ids=True), rows)
        _same(store.page(table.name, 1, [], order, 20, offset=offset), rows, ids=False)


def test_a_shape_read_again_with_other_values_gives_their_own_records(store: Store) -> None:
    # A first or offset page's statement is written once per shape and bound to each request's
    # values: the second query of a shape must not answer with the first's records.
    order: list[SortKey] = [("rank", True)]
    for kind_ in ("b", "c", "a", "b\x00", "b"):  # tenant 1 holds no "a"
        for offset in (0, 7, 3):
            condition = Condition("kind", "eq", (kind_,))
            rows = store.select(TABLE.name, 1, [condition], order, 9, offset=offset)
            _same(store.page(TABLE.name, 1, [condition], order, 9, offset=offset, ids=True), rows)
            assert all(DOCS[IDS.index(r[ID])] == r[DOC] for r in rows)
            if not offset:
                assert (rows == []) == (kind_ in ("a", "b\x00"))


fixing = st.sampled_from(
    [
        Condition("kind", "eq", ("b",)),
        Condition("rank", "eq", (3,)),
        Condition("day", "eq", ("2024-01-05",)),
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
    plain = Condition(condition.column, "between", (condition.value, condition.value))  # fixes nothing
    expected = store.select(TABLE.name, tenant, [plain], order, 40, after=(anchor, inclusive), reverse=reverse)
    got = store.select(TABLE.name, tenant, [condition], order, 40, after=(anchor, inclusive), reverse=reverse)
    assert got == expected


def test_a_keyset_walk_of_the_null_rows_sorted_by_that_column_reads_them_all(
    new_store: Callable[[], BaseStore],
) -> None:
    # In a row value, a null key made every later page empty: (NULL, pk) > (NULL, ?) is never true.
    store = new_store()
    table = TableSpec("r_unit_nulls", (("ref", "text"),), (("ref", "pk"),))
    fill(store, table, [(1, (f"n{i}", b"{}", b"{}", None if i % 2 else f"r{i}")) for i in range(30)])
    null = Condition("ref", "null")
    order: list[SortKey] = [("ref", False)]
    seen: list[str] = []
    after = None
    while True:
        rows = store.select(table.name, 1, [null], order, 4, after=after)
        if not rows:
            break
        seen += [r[ID] for r in rows]
        after = (rows[-1], False)
    assert seen == [f"n{i}" for i in range(1, 30, 2)]


def test_reset_restores_each_tenants_changed_rows_into_its_own_table(new_store: Callable[[], BaseStore]) -> None:
    store = new_store()
    table = TableSpec("r_unit_reset", (("kind", "text"), ("rank", "integer")))
    fill(store, table, [(t, (f"t{t}-{i}", b"{}", b'{"v":%d}' % i, "a", i)) for t in (1, 2) for i in range(5)], 2)

    def change(facts: dict[str, object]) -> tuple[dict[str, object], bytes, list[object]]:
        return facts, b'{"v":"changed"}', ["b", 99]

    for tenant in (1, 2):
        assert store.update(table, tenant, f"t{tenant}-3", change) == b'{"v":"changed"}'
    assert store.update(table, 1, "t2-3", change) is None  # another tenant's record is not found
    kind_b = [Condition("kind", "eq", ("b",))]
    assert [r[ID] for r in store.select(table.name, 2, kind_b, [], None)] == ["t2-3"]
    before = store.generation(table.name)
    assert store.reset([table.name]) == 2
    assert store.generation(table.name) == before + 2  # advanced by the rows it restored
    for tenant in (1, 2):
        assert store.select(table.name, tenant, kind_b, [], None) == []
        row = store.find(table.name, tenant, f"t{tenant}-3", [("rank", False)])
        assert row is not None and (row[DOC], row[KEYS]) == (b'{"v":3}', 3)


def test_a_page_brings_its_tables_generation_and_a_count_at_it_follows_another_stores_write(
    new_store: Callable[[], BaseStore], kind: str
) -> None:
    store = new_store()
    table = TableSpec("r_unit_generation", (("kind", "text"),))
    fill(store, table, [(1, (f"g-{i}", b"{}", b'{"v":%d}' % i, "a")) for i in range(6)])
    # Another process (SQLite) or replica (PostgreSQL) on the same data: its own store object.
    other = open_store(store.location if kind == "sqlite" else store.url)  # type: ignore[attr-defined]
    kind_a = [Condition("kind", "eq", ("a",))]
    page = store.page(table.name, 1, kind_a, [], 2, generation=True)
    assert page.generation == store.generation(table.name)
    assert store.page(table.name, 1, kind_a, [], 2).generation is None  # not asked for: not read
    assert store.count(table.name, 1, kind_a, page.generation) == 6

    def change(facts: dict[str, object]) -> tuple[dict[str, object], bytes, list[object]]:
        return facts, b'{"v":"b"}', ["b"]

    try:
        assert other.update(table, 1, "g-2", change) == b'{"v":"b"}'
    finally:
        other.close()
    after = store.page(table.name, 1, kind_a, [], 2, generation=True)
    assert after.generation is not None and page.generation is not None and after.generation > page.generation
    assert store.count(table.name, 1, kind_a, after.generation) == 5  # the cached 6 was of the old generation
    assert store.page(table.name, 1, kind_a, [], 2, offset=DEEP_OFFSET, generation=True).generation is None


@pytest.fixture(scope="module")
def both(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BaseStore, BaseStore]]:
    """The same records in a SQLite store and in a PostgreSQL store."""
    stores = (
        open_store(tmp_path_factory.mktemp("both") / "both.sqlite3"),
        open_store(request.getfixturevalue("postgres").database("both")),
    )
    rows = [(IDS[i], b"{}", DOCS[i], "abc"[i % 3], (i * 37) % 11, f"2024-01-{1 + i % 28:02d}") for i in range(300)]
    for store in stores:
        fill(store, TABLE, [(_tenant_of(i), row) for i, row in enumerate(rows)], tenants=3)
    yield stores
    for store in stores:
        store.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order=orders,
    where=st.one_of(conditions, fixing.map(lambda c: [c])),
    at=st.one_of(st.none(), st.integers(0, 299)),
    inclusive=st.booleans(),
    reverse=st.booleans(),
    limit=st.one_of(st.none(), st.integers(0, 80)),
    offset=st.integers(0, 320),
)
def test_both_stores_give_the_same_pages(
    both: tuple[BaseStore, BaseStore],
    order: list[SortKey],
    where: list[Condition],
    at: int | None,
    inclusive: bool,
    reverse: bool,
    limit: int | None,
    offset: int,
) -> None:
    """SQLite and PostgreSQL order, filter, cut and walk pages alike (nulls, ties and text order included)."""
    pages = []
    for store in both:
        if at is None:
            page = store.page(TABLE.name, 1, where, order, limit, offset=offset, ids=True)
        else:
            tenant, anchor = _anchor(store, at, order)
            page = store.page(
                TABLE.name, tenant, where, order, limit or 1, after=(anchor, inclusive), reverse=reverse, ids=True
            )
        pages.append((page.ids, page.items(), store.count(TABLE.name, 1, where)))
    assert pages[0] == pages[1]
