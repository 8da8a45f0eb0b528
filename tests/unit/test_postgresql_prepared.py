"""A kept statement run through libpq (``StoreConnection.first_row``): values, errors and a bounded session.

The list page's hot path skips psycopg's cursor; these check it still adapts values as psycopg
does, raises psycopg's own errors (a lost connection as ``OperationalError``, which the store
answers with the vendor's 503), and keeps a bounded number of statements prepared per connection.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from postgres import Postgres

from mock_server.store.postgresql import connections
from mock_server.store.postgresql.connections import StoreConnection
from mock_server.store.postgresql.prepared import Prepared


@pytest.fixture
def db(postgres: Postgres) -> Iterator[StoreConnection]:
    """A store connection in autocommit, as the pool lends them."""
    with StoreConnection.connect(postgres.database("prepared"), autocommit=True) as conn:
        yield conn


def _prepared(db: StoreConnection, prefix: str) -> int:
    """How many statements of the session are prepared under names starting with ``prefix``."""
    row = db.execute("SELECT count(*) FROM pg_prepared_statements WHERE starts_with(name, %s)", (prefix,)).fetchone()
    return int(row[0]) if row else 0


def _ours(db: StoreConnection) -> int:
    return _prepared(db, "paymock_")


def test_psycopg_placeholders_become_numbered_and_an_escaped_percent_stays_one() -> None:
    kept = Prepared.of(b"SELECT %s, '100%%', %s WHERE a LIKE %s", keep_plan=True)
    assert kept.text == b"SELECT $1, '100%', $2 WHERE a LIKE $3"
    with pytest.raises(ValueError, match=r"unsupported placeholder %b"):
        Prepared.of(b"SELECT %b", keep_plan=True)


@pytest.mark.parametrize("keep_plan", [True, False])
def test_values_go_and_come_back_as_psycopg_adapts_them(db: StoreConnection, keep_plan: bool) -> None:
    kept = Prepared.of(
        b"SELECT %s::text, %s::bigint, %s::numeric, %s::date, %s::bytea, %s::boolean, %s::text IS NULL", keep_plan
    )
    values = ("é\x1eb", 2**40, Decimal("12.50"), datetime.date(2026, 12, 6), b"\x00\x1e\xff", True, None)
    assert db.first_row(kept, values) == (*values[:-1], True)
    # Run again with values of other types: the same statement, prepared again for those types.
    assert db.first_row(kept, ("x", 1, 3, "2026-01-02", b"", False, "y")) == (
        "x", 1, Decimal(3), datetime.date(2026, 1, 2), b"", False, False,
    )  # fmt: skip
    assert _ours(db) == (2 if keep_plan else 0)


def test_no_row_is_none_and_an_error_is_psycopgs_own(db: StoreConnection) -> None:
    assert db.first_row(Prepared.of(b"SELECT 1 WHERE %s::int > 1", keep_plan=True), (0,)) is None
    with pytest.raises(psycopg.errors.UndefinedTable):
        db.first_row(Prepared.of(b"SELECT * FROM no_such_table WHERE %s::int > 1", keep_plan=True), (0,))
    with pytest.raises(psycopg.errors.DivisionByZero):
        db.first_row(Prepared.of(b"SELECT 1 / %s::int", keep_plan=True), (0,))
    assert db.first_row(Prepared.of(b"SELECT 1 / %s::int", keep_plan=True), (1,)) == (1,)  # the session goes on


def test_a_lost_connection_is_an_operational_error(postgres: Postgres) -> None:
    url = postgres.database("prepared")
    with StoreConnection.connect(url, autocommit=True) as db, psycopg.connect(url, autocommit=True) as killer:
        kept = Prepared.of(b"SELECT %s::int + 1", keep_plan=True)
        assert db.first_row(kept, (1,)) == (2,)
        killer.execute("SELECT pg_terminate_backend(%s)", (db.info.backend_pid,))
        with pytest.raises(psycopg.OperationalError):
            db.first_row(kept, (1,))
        assert db.closed or db.pgconn.status == psycopg.pq.ConnStatus.BAD


def test_statements_kept_on_a_connection_are_bounded(db: StoreConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connections, "PREPARED_MAX", 3)
    # psycopg prepares a statement it runs with prepare=True: dropping ours must not drop it.
    assert db.execute("SELECT %s::int * 2", (4,), prepare=True).fetchone() == (8,)
    for n in range(10):
        kept = Prepared.of(b"SELECT %s::int + " + str(n).encode(), keep_plan=True)
        assert db.first_row(kept, (1,)) == (1 + n,)
        assert 1 <= _ours(db) <= 3
    # Had it been dropped, psycopg would run it by name and fail ("prepared statement does not exist").
    assert db.execute("SELECT %s::int * 2", (5,), prepare=True).fetchone() == (10,)
    assert _prepared(db, "_pg3_") >= 1


def test_a_statement_dropped_with_psycopgs_own_is_prepared_again(db: StoreConnection) -> None:
    # psycopg answers a ROLLBACK it runs, on a connection where it prepared a statement of its own,
    # with DEALLOCATE ALL: a state change that rolls back did so on a pooled connection (a 500 once).
    kept = Prepared.of(b"SELECT %s::int + 1", keep_plan=True)
    assert db.first_row(kept, (1,)) == (2,)
    for _ in range(6):
        db.execute("SELECT %s::int", (1,), prepare=True)
    db.execute("BEGIN")
    db.execute("ROLLBACK")
    db.execute("SELECT 1")  # psycopg sends its DEALLOCATE ALL before its next statement
    assert _ours(db) == 0
    assert db.first_row(kept, (2,)) == (3,)
    assert _ours(db) == 1
