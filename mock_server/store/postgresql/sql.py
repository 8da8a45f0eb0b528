"""PostgreSQL's spelling of the store's vocabulary: tables, columns, conditions, orders, schema.

The layout is SQLite's (:mod:`mock_server.store.sqlite.sql`) but for one thing: a table of rows
per collection and tenant, a shadow of original rows for reset, and each record's document and
facts held in its own row rather than in a table beside it, so that a list page is one walk of
the tenant's index with nothing looked up per record (a table beside cost an index probe per
record of every page, a fifth of the database's time for a page). Orders and indexes
put nulls first ascending and last descending, and text compares byte by byte (``COLLATE "C"``),
as SQLite does, so both stores give the same pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mock_server.store.base import CREATION, Condition, SortKey, TableSpec
from mock_server.store.dialect import Dialect
from mock_server.store.dialect import column as column
from mock_server.store.dialect import full_order as full_order
from mock_server.store.dialect import rows as rows

#: psycopg's bound values: ``%s`` each.
DIALECT = Dialect("%s")
#: A keyset condition (see :meth:`~mock_server.store.dialect.Dialect.keyset`).
keyset = DIALECT.keyset

#: The PostgreSQL type of each stored kind.
TYPES = {"text": 'text COLLATE "C"', "integer": "bigint"}
#: The same types as a binary COPY names them (it needs each column's type; stored values are
#: exactly ``str`` or ``int``, see mock_server/columns.py).
COPY_TYPES = {"text": "text", "integer": "int8"}

#: Each condition operator's SQL, ``{}`` standing for the column.
_OPERATORS = DIALECT.operators()


def unstorable(value: Any) -> bool:
    """Whether ``value`` is text PostgreSQL cannot hold: a NUL, or a lone surrogate (no UTF-8 for it).

    No row holds such a value, so a lookup of one finds nothing, without asking the database
    (which would refuse the query).
    """
    if not isinstance(value, str):
        return False
    if "\x00" in value:
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


def where(conditions: Sequence[Condition]) -> tuple[str, tuple[Any, ...]]:
    """The SQL of every condition joined by AND, and their arguments (``TRUE`` when there are none)."""
    parts: list[str] = []
    args: list[Any] = []
    for c in conditions:
        if any(unstorable(v) for v in c.values):
            # No row holds a value PostgreSQL text cannot hold (sending one is an error).
            parts.append("FALSE")
            continue
        parts.append(_OPERATORS[c.op].format(column(c.column)))
        args.extend(c.values)
    return " AND ".join(parts) or "TRUE", tuple(args)


def direction(desc: bool) -> str:
    """An ORDER BY direction, nulls placed where SQLite places them (smallest)."""
    return "DESC NULLS LAST" if desc else "ASC NULLS FIRST"


def order_by(order: Sequence[SortKey], names: Sequence[str] | None = None) -> str:
    """An ORDER BY list; ``names`` replace the columns' SQL (aliases of an outer query)."""
    cols = names if names is not None else [column(col) for col, _ in order]
    return ", ".join(f"{name} {direction(desc)}" for name, (_, desc) in zip(cols, order, strict=True))


def keys(order: Sequence[SortKey]) -> str:
    """The result columns after ``pk, id, doc`` that give a row its sort-key values, as ``k0, k1...``."""
    return "".join(f", {column(col)} AS k{i}" for i, (col, _) in enumerate(order))


# -- schema -------------------------------------------------------------------------------------

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS entities (api text NOT NULL, tenant integer NOT NULL, kind text NOT NULL,"
    " seq integer NOT NULL, facts bytea NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS entities_key ON entities (api, tenant, kind, seq)",
)


def columns(table: TableSpec) -> str:
    """The typed column definitions of a table of rows after ``pk`` and ``id``."""
    return "".join(f", {column(name)} {TYPES[kind]}" for name, kind in table.columns)


def listed(table: TableSpec) -> list[str]:
    """The column names of a table of rows, in order (the document and its facts last)."""
    return ["pk", "id", *(f"c_{name}" for name, _ in table.columns), "doc", "facts"]


def copied(table: TableSpec) -> list[str]:
    """The types of :func:`listed`'s columns, for a binary COPY."""
    return ["int8", "text", *(COPY_TYPES[kind] for _, kind in table.columns), "bytea", "bytea"]


def create_table(table: TableSpec) -> list[str]:
    """Statements that (re)create a collection's shadow of original rows.

    Tables of rows are dropped by the loader, which lists them.
    """
    t = table.name
    return [
        f'DROP TABLE IF EXISTS "o_{t}"',
        f'CREATE TABLE "o_{t}" (pk bigint PRIMARY KEY, tenant integer NOT NULL,'
        f' id text COLLATE "C" NOT NULL{columns(table)}, doc bytea NOT NULL, facts bytea NOT NULL)',
    ]


def create_rows(table: TableSpec, tenant: int) -> str:
    """A tenant's (empty) table of rows of a collection, documents and facts included.

    Its primary key comes with the indexes, after the bulk load.
    """
    return (
        f'CREATE TABLE {rows(table.name, tenant)} (pk bigint NOT NULL, id text COLLATE "C" NOT NULL{columns(table)},'
        " doc bytea NOT NULL, facts bytea NOT NULL)"
    )


def create_indexes(table: TableSpec, tenant: int) -> list[str]:
    """The primary key, the unique ID and the list indexes of a tenant's rows (after the bulk load)."""
    rows_sql, prefix = rows(table.name, tenant), f"{table.name}:{tenant}"
    statements = [
        f'ALTER TABLE {rows_sql} ADD CONSTRAINT "{prefix}__pk" PRIMARY KEY (pk)',
        f'CREATE UNIQUE INDEX "{prefix}__id" ON {rows_sql} (id)',
    ]
    for i, cols in enumerate(table.indexes):
        if cols == (CREATION,):
            continue  # the primary key's own order
        listed_cols = ", ".join(f"{column(c)} NULLS FIRST" for c in cols)
        statements.append(f'CREATE INDEX "{prefix}__{i}" ON {rows_sql} ({listed_cols})')
    return statements


def bump() -> str:
    """Advance a table's generation (key, first value, step)."""
    return "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + %s)::text"
