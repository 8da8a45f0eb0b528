"""PostgreSQL: the fault rules' generation read by the store's own statements, one request at a time.

A request that changes nothing is answered first and its fault chosen after; inside the control
state's ``observing`` block, the store's page, record and generation reads return the rules'
generation as one more column, and ``generation()`` gives what the request's last statement read
instead of a round trip of its own. What must hold: the value is never older than the block's
statements, never seen outside the block (another request on the same thread reads anew), and a
store on another database does not carry it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postgres import Postgres
from stores import fill

from mock_server.store import DOC, TableSpec, open_store
from mock_server.store.postgresql.base import PostgreSQLStore
from mock_server.store.postgresql.control import PostgreSQLControlState

TABLE = TableSpec("r_unit_companion", (("kind", "text"),), (("kind", "pk"),))
RULE = {"api": "flexportal", "effect": {"fault": "status", "status": 503}}


@pytest.fixture(scope="module")
def url(postgres: Postgres) -> str:
    return postgres.database("companion")


@pytest.fixture(scope="module")
def store(url: str) -> Iterator[PostgreSQLStore]:
    store = open_store(url)
    assert isinstance(store, PostgreSQLStore)
    fill(store, TABLE, [(1, (f"id-{i}", b"{}", f'{{"i": {i}}}'.encode(), "ab"[i % 2])) for i in range(10)])
    yield store
    store.close()


@pytest.fixture
def states(url: str, store: PostgreSQLStore) -> Iterator[tuple[PostgreSQLControlState, PostgreSQLControlState]]:
    """The control state of this process, and another replica's (its own pools), rules cleared."""
    mine, theirs = PostgreSQLControlState(url, 0), PostgreSQLControlState(url, 0)
    mine.clear_rules()
    yield mine, theirs
    for state in (mine, theirs):
        state.close()


def test_a_page_read_in_the_block_is_the_generation_the_request_sees(
    store: PostgreSQLStore, states: tuple[PostgreSQLControlState, PostgreSQLControlState]
) -> None:
    mine, theirs = states
    theirs.add_rules([("first", RULE)])
    with mine.observing():
        page = store.page(TABLE.name, 1, [], [], 3)
        read = mine.generation()
        # A change committed after the page's statement is not the request's: it is seen next time
        theirs.add_rules([("second", RULE)])
        assert mine.generation() == read
    assert page.count == 3
    assert read == theirs.rules()[0] - 1  # the generation of the rules as the page was read
    assert mine.generation() == read + 1  # outside the block: read anew


def test_the_next_block_never_sees_the_last_ones_value(
    store: PostgreSQLStore, states: tuple[PostgreSQLControlState, PostgreSQLControlState]
) -> None:
    mine, theirs = states
    with mine.observing():
        store.page(TABLE.name, 1, [], [], 3)
        before = mine.generation()
    theirs.add_rules([("later", RULE)])
    with mine.observing():
        # No store statement yet in this request: the state reads the generation itself
        assert mine.generation() == before + 1


@pytest.mark.parametrize("id_", ["id-4", "no-such-id"])
def test_a_record_read_carries_it_found_or_not(
    store: PostgreSQLStore, states: tuple[PostgreSQLControlState, PostgreSQLControlState], id_: str
) -> None:
    mine, theirs = states
    with mine.observing():
        row = store.find(TABLE.name, 1, id_)
        read = mine.generation()
        theirs.add_rules([("after-find", RULE)])
        assert mine.generation() == read
    assert mine.generation() == read + 1
    # The record is the same as a read outside the block gives
    assert row == store.find(TABLE.name, 1, id_)
    assert (row is None) == (id_ == "no-such-id")
    if row is not None:
        assert bytes(row[DOC]) == b'{"i": 4}'


def test_a_store_on_another_database_does_not_carry_it(
    postgres: Postgres, store: PostgreSQLStore, states: tuple[PostgreSQLControlState, PostgreSQLControlState]
) -> None:
    mine, theirs = states
    other = open_store(postgres.database("companion_other"))
    try:
        fill(other, TABLE, [(1, ("x", b"{}", b"{}", "a"))])
        with mine.observing():
            other.page(TABLE.name, 1, [], [], 1)
            theirs.add_rules([("elsewhere", RULE)])
            # Nothing of this database was read in the block: the state reads, and sees the new rule
            assert mine.generation() == theirs.rules()[0]
    finally:
        other.close()
