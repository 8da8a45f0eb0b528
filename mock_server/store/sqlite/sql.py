"""SQLite's spelling of the store's vocabulary: tables, columns, conditions, orders, schema.

Everything here turns typed values (:class:`~mock_server.store.base.Condition`, sort keys,
:class:`~mock_server.store.base.TableSpec`) into SQL text with ``?`` placeholders; nothing outside
the store package writes SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mock_server.store.base import CREATION, Condition, SortKey, TableSpec
from mock_server.store.dialect import Dialect
from mock_server.store.dialect import column as column
from mock_server.store.dialect import full_order as full_order
from mock_server.store.dialect import rows as rows

#: SQLite's bound values: ``?`` each.
DIALECT = Dialect("?")
#: A keyset condition (see :meth:`~mock_server.store.dialect.Dialect.keyset`).
keyset = DIALECT.keyset

#: The SQLite type affinity of each stored kind.
AFFINITY = {"text": "TEXT", "integer": "INTEGER"}

#: Each condition operator's SQL, ``{}`` standing for the column.
_OPERATORS = DIALECT.operators()


def column_name(sql_name: str) -> str:
    """The store's name of a column of a rows table, as SQLite lists it (the inverse of :func:`column`)."""
    return sql_name.removeprefix("c_") if sql_name.startswith("c_") else sql_name


def where(conditions: Sequence[Condition]) -> tuple[str, tuple[Any, ...]]:
    """The SQL of every condition, joined by AND, and their arguments (``1`` when there are none)."""
    parts = [_OPERATORS[c.op].format(column(c.column)) for c in conditions]
    args = tuple(a for c in conditions for a in c.values)
    return " AND ".join(parts) or "1", args


def order_by(order: Sequence[SortKey], hint: str = "") -> str:
    """An ORDER BY list; ``hint`` prefixes each column (``+`` keeps SQLite from choosing an index by it)."""
    return ", ".join(f"{hint}{column(col)} {'DESC' if desc else 'ASC'}" for col, desc in order)


def keys(order: Sequence[SortKey]) -> str:
    """The result columns after ``pk, id, doc`` that give a row its sort-key values."""
    return "".join(f", {column(col)}" for col, _ in order)


def doc_subquery(table: str, rows_sql: str) -> str:
    """A result column with a row's document: read from the side table only for rows returned."""
    return f'(SELECT doc FROM "d_{table}" WHERE "d_{table}".pk = {rows_sql}.pk)'


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` on ``db`` (``ROLLBACK`` on an exception).

    The write lock is taken up front, not at the first write, so a read-check-write inside is
    atomic, and two writers never both read and then wait for each other's lock.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# -- schema -------------------------------------------------------------------------------------


def _columns(table: TableSpec) -> str:
    return "".join(f", {column(name)} {AFFINITY[kind]}" for name, kind in table.columns)


def create_entities(db: sqlite3.Connection) -> None:
    """Create the table of entities records refer to (customers, invoices, ...), if missing."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS entities (api TEXT NOT NULL, tenant INTEGER NOT NULL, kind TEXT NOT NULL,"
        " seq INTEGER NOT NULL, facts BLOB NOT NULL, PRIMARY KEY (api, tenant, kind, seq)) WITHOUT ROWID"
    )


def create_table(db: sqlite3.Connection, table: TableSpec) -> None:
    """(Re)create a collection's documents and its shadow of original rows (for reset), without rows.

    Every tenant's table of rows is dropped; :func:`create_rows` makes them. Documents and facts
    live beside the rows, not in them: indexes are built by scanning the rows and deep pages by
    walking them, and a row of ids and numbers is a tenth of a row that carries a kilobyte of JSON.
    """
    tenants = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB ?", (f"{table.name}:*",))
    for (name,) in tenants.fetchall():
        db.execute(f'DROP TABLE "{name}"')
    for prefix in ("", "d_", "o_"):
        db.execute(f'DROP TABLE IF EXISTS "{prefix}{table.name}"')
    db.execute(f'CREATE TABLE "d_{table.name}" (pk INTEGER PRIMARY KEY, doc BLOB NOT NULL, facts BLOB NOT NULL)')
    db.execute(
        f'CREATE TABLE "o_{table.name}" (pk INTEGER PRIMARY KEY, tenant INTEGER NOT NULL,'
        f" id TEXT NOT NULL{_columns(table)}, doc BLOB NOT NULL, facts BLOB NOT NULL)"
    )


def create_rows(db: sqlite3.Connection, table: TableSpec, tenant: int) -> None:
    """Create a tenant's (empty) table of rows of a collection."""
    db.execute(f"CREATE TABLE {rows(table.name, tenant)} (pk INTEGER PRIMARY KEY, id TEXT NOT NULL{_columns(table)})")


def create_indexes(db: sqlite3.Connection, table: TableSpec, tenant: int) -> None:
    """Create the indexes of a tenant's rows; done after bulk loading, which is much faster."""
    rows_sql = rows(table.name, tenant)
    db.execute(f'CREATE UNIQUE INDEX "{table.name}:{tenant}__id" ON {rows_sql} (id)')
    for i, columns in enumerate(table.indexes):
        # Every index entry ends with the rowid, which is pk: an order ending in pk needs no
        # column of its own for it (SQLite plans keyset conditions on it all the same), and an
        # order of pk alone is the table's own.
        indexed = columns[:-1] if columns[-1:] == (CREATION,) else columns
        if indexed:
            listed = ", ".join(column(c) for c in indexed)
            db.execute(f'CREATE INDEX "{table.name}:{tenant}__{i}" ON {rows_sql} ({listed})')


def next_pk(db: sqlite3.Connection, table: TableSpec) -> int:
    """The primary key the next inserted row of ``table`` gets, whatever its tenant."""
    return int(db.execute(f'SELECT coalesce(max(pk), 0) FROM "d_{table.name}"').fetchone()[0]) + 1


def insert_rows(
    db: sqlite3.Connection,
    table: TableSpec,
    tenant: int,
    rows_: Iterable[Sequence[Any]],
    documents: Iterable[Sequence[Any]],
) -> None:
    """Bulk insert a tenant's ``(pk, id, *columns)`` rows and their ``(pk, doc, facts)``."""
    marks = ", ".join("?" * (2 + len(table.columns)))
    db.executemany(f"INSERT INTO {rows(table.name, tenant)} VALUES ({marks})", rows_)
    db.executemany(f'INSERT INTO "d_{table.name}" VALUES (?, ?, ?)', documents)


def insert_entities(db: sqlite3.Connection, entities: Iterable[tuple[str, int, str, int, bytes]]) -> None:
    """Bulk insert ``(api, tenant, kind, seq, facts)`` entities."""
    db.executemany("INSERT INTO entities VALUES (?, ?, ?, ?, ?)", entities)
