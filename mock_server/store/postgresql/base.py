"""The PostgreSQL store: one state for several ``paymock serve`` replicas, on other machines too.

The layout is the SQLite store's (a table of rows per collection and tenant, a shadow of original
rows for reset), so tenants are kept apart by construction here too; but each record's document
and facts are held in its own row, not in a table beside them: a list page is one scan of the
tenant's index, with no lookup per record, and a state change locks and reads its record in one
statement (see :mod:`~mock_server.store.postgresql.sql`). What makes replicas one sandbox:

- every cached result (counts, the ordered keys of deep offset pages) is keyed by its table's
  generation, a counter in ``meta`` that every commit of any replica advances in the same
  transaction, and read again for every list: a write through one replica is seen by the very
  next request through any other;
- a state change locks its record's row (``SELECT ... FOR UPDATE``) and reads its facts only
  then, so of two racing changes from any replicas exactly one sees the record as it was;
- the generation's row is locked first by every writer (changes and resets), so writers never
  wait for each other in opposite orders;
- the connection is lost: the operation raises :class:`~mock_server.errors.StoreUnavailableError`
  (answered with a 503 in the vendor's error shape) and the pool opens new connections once the
  database is back.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import psycopg

from mock_server.errors import StoreError, StoreUnavailableError
from mock_server.store.base import (
    Change,
    Condition,
    Features,
    SortKey,
    TableSpec,
)
from mock_server.store.counts import CountCache
from mock_server.store.orders import MAX_SQL_INT, OrderCache
from mock_server.store.page import PK, SEP, Page, Row
from mock_server.store.postgresql import snapshots, sql
from mock_server.store.postgresql.connections import CONNECT_TIMEOUT, Connections, StoreConnection, cause
from mock_server.store.postgresql.prepared import Prepared
from mock_server.store.shadowed import ShadowedStore
from mock_server.store.statements import Statements
from mock_server.world import pack_facts, unpack_facts

if TYPE_CHECKING:
    from mock_server.store.postgresql.loader import PostgreSQLLoader

#: The data's layout: ``pg-1`` kept documents in one table per collection beside the rows.
SCHEMA_VERSION = "pg-2"
#: Condition operators whose values decide the best plan (see :func:`_planned_once`).
_RANGES = frozenset({"between", "gte", "lte"})
#: Offsets from which pages are sliced from a cached ordering (as the SQLite store does).
DEEP_OFFSET = 10_000
SAMPLE_ROWS = 5000
#: Separates a page's IDs as the database joins them (text: the documents' separator, decoded).
ID_SEP = SEP.decode()
#: Connections per serving process: one per thread of a worker is plenty.
POOL_SIZE = 8


def describe(url: str) -> str:
    """A URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{user}{host}{parts.path}{query}"


class PostgreSQLStore(ShadowedStore[StoreConnection]):
    """Every API's collections in one PostgreSQL database, shared by every process of every replica.

    Args:
        url: A ``postgresql://`` connection URL.

    Raises:
        StoreUnavailableError: The database cannot be reached (the message names host and cause).
        StoreError: The database holds another paymock data version.
    """

    dialect = sql.DIALECT
    snapshot_statements = snapshots

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = describe(url)
        self.features = Features(shared=True)
        self._connections = Connections(url, self.location, POOL_SIZE, generic_plans=True)
        self._counts = CountCache()
        self._orders = OrderCache()
        self._statements: Statements[Prepared] = Statements()
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as db:
                # One replica at a time makes the schema (CREATE ... IF NOT EXISTS can race).
                db.execute("SELECT pg_advisory_lock(hashtext('paymock schema'))")
                try:
                    for statement in (*sql.SCHEMA, *snapshots.SCHEMA):
                        db.execute(statement)
                    found = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                    if found is None:
                        db.execute("INSERT INTO meta VALUES ('schema_version', %s)", (SCHEMA_VERSION,))
                finally:
                    db.execute("SELECT pg_advisory_unlock(hashtext('paymock schema'))")
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"cannot reach PostgreSQL at {self.location}: {cause(exc)}") from None
        except psycopg.Error as exc:
            raise StoreError(f"{self.location}: {cause(exc)}") from None
        if found is not None and found[0] != SCHEMA_VERSION:
            raise StoreError(
                f"{self.location} holds data of another paymock data version ({found[0]}, this is "
                f"{SCHEMA_VERSION}); use another database, or drop its tables to let paymock seed it"
            )

    # -- connections -----------------------------------------------------------------------

    def reading(self) -> AbstractContextManager[StoreConnection]:
        """A connection in autocommit mode: each statement sees what every replica committed."""
        return self._connections.reading()

    def transaction(self) -> AbstractContextManager[StoreConnection]:
        """A connection inside one transaction (committed on leaving, rolled back on an exception)."""
        return self._connections.transaction()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A session advisory lock keyed by ``name``, held on a connection of its own until the work ends."""
        with self.reading() as db:
            db.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"paymock {name}",))
            try:
                yield
            finally:
                db.execute("SELECT pg_advisory_unlock(hashtext(%s))", (f"paymock {name}",))

    def close(self) -> None:
        """Close this process's pool (a new one opens on next use)."""
        self._connections.close()

    # -- meta ------------------------------------------------------------------------------

    def set_meta(self, values: Mapping[str, str]) -> None:
        """Set meta values in one transaction."""
        with self.transaction() as db:
            write_meta(db, values)

    def generation(self, table: str) -> int:
        """The table's generation, as committed by any replica (and the request's companion with it)."""
        companion = self._connections.companion()
        extra = companion.expression if companion is not None else "NULL"
        with self.reading() as db:
            value, seen = one(db, f"SELECT (SELECT value FROM meta WHERE key = %s), {extra}", (f"generation:{table}",))
        if companion is not None:
            companion.observe(seen)
        return int(value) if value is not None else 0

    @staticmethod
    def bump(db: psycopg.Connection[Any], table: str, rows: int = 1) -> None:
        """Inside a transaction: advance ``table``'s generation by ``rows`` (at least one), locking it."""
        step = max(1, rows)
        db.execute(sql.bump(), (f"generation:{table}", str(step), step))

    # -- reads -----------------------------------------------------------------------------

    def select(
        self,
        table: str,
        tenant: int,
        conditions: Sequence[Condition],
        order: Sequence[SortKey],
        limit: int | None,
        offset: int = 0,
        after: tuple[Row, bool] | None = None,
        reverse: bool = False,
    ) -> list[Row]:
        """Rows of one tenant that meet every condition, in ``order`` (see :meth:`BaseStore.select`)."""
        query = self._listing(table, tenant, conditions, order, limit, offset, after, reverse)
        if isinstance(query, list):
            return query
        text, args, _ = query
        with self.reading() as db:
            rows = db.run(text, args, binary=True, prepare=_planned_once(conditions)).fetchall()
        return [tuple(r) for r in rows]

    def page(
        self,
        table: str,
        tenant: int,
        conditions: Sequence[Condition],
        order: Sequence[SortKey],
        limit: int | None,
        offset: int = 0,
        after: tuple[Row, bool] | None = None,
        reverse: bool = False,
        *,
        ids: bool = False,
        documents: bool = True,
        generation: bool = False,
    ) -> Page:
        """The records :meth:`select` gives, joined by PostgreSQL into one row (see :meth:`BaseStore.page`).

        With ``generation``, the table's generation comes in the same statement: an offset page
        and its count make one round trip, not two, and the count is of the page's own snapshot.
        """
        # The request's companion (the fault rules' generation) comes in this statement too: the
        # request needs no round trip of its own for it.
        companion = self._connections.companion()
        extra = companion.expression if companion is not None else "NULL"
        first = (f"generation:{table}",) if generation else ()
        # A first or offset page's statement depends on the values' shape only: it is written once
        # per shape (building it was ~5 % of a list request's CPU). A keyset page's depends on its
        # anchor's values, and a value PostgreSQL cannot hold changes the statement: both are
        # written for the request.
        shape = (
            (table, tenant, tuple((c.column, c.op) for c in conditions), tuple(order), limit, offset > 0,
             offset >= DEEP_OFFSET, reverse, ids, documents, generation, extra)
            if after is None and not any(sql.unstorable(v) for c in conditions for v in c.values)
            else None
        )  # fmt: skip
        kept = self._statements.get(shape) if shape is not None else None
        if kept is not None:
            args = tuple(v for c in conditions for v in c.values) + ((min(offset, MAX_SQL_INT),) if offset else ())
        else:
            query = self._listing(table, tenant, conditions, order, limit, offset, after, reverse, documents)
            if isinstance(query, list):
                return Page.of(query, ids)
            text, args, outer = query
            # IDs joined like the documents: json_agg cost the database a fifth of the page, and
            # decoding its JSON a fifth of the client's work.
            id_list = f"string_agg(id, E'\\x1e' ORDER BY {outer})" if ids else "NULL"
            docs = f"string_agg(doc, '\\x1e'::bytea ORDER BY {outer})" if documents else "NULL"
            read = "(SELECT value FROM meta WHERE key = %s)" if generation else "NULL"
            # As bytes: psycopg would encode a str at every run, and hash the new bytes to find
            # its converted query and prepared statement; a kept bytes object hashes once.
            statement = f"SELECT count(*), {id_list}, {docs}, {read}, {extra} FROM ({text}) s".encode()
            if shape is not None:
                kept = Prepared.of(statement, keep_plan=_planned_once(conditions) is None)
                self._statements.put(shape, kept)
        with self.reading() as db:
            # In binary, the documents come as they are stored: as text, bytea is hex, twice the bytes
            # for the server to write and send and the client to decode (a page is 25-50 KB). A kept
            # statement goes through libpq itself (prepared.py); one written for this request alone
            # (a keyset page's) through a cursor, which prepares it if it repeats.
            if kept is not None:
                row = db.first_row(kept, first + args)
                if row is None:
                    raise StoreError("expected a row from a list page's aggregate, got none")
                count, listed, joined, seen, also = row
            else:
                count, listed, joined, seen, also = one(
                    db, statement, first + args, binary=True, prepare=_planned_once(conditions)
                )
        if companion is not None:
            companion.observe(also)
        id_values = listed.split(ID_SEP) if listed else []
        if ids and len(id_values) != count:
            # An ID holding the separator is not one the API makes (a document cannot hold it:
            # see SEP); read the page row by row.
            return Page.of(self.select(table, tenant, conditions, order, limit, offset, after, reverse), ids)
        at = (int(seen) if seen is not None else 0) if generation else None
        return Page(count, id_values, bytes(joined or b""), generation=at)

    def _listing(
        self,
        table: str,
        tenant: int,
        conditions: Sequence[Condition],
        order: Sequence[SortKey],
        limit: int | None,
        offset: int,
        after: tuple[Row, bool] | None,
        reverse: bool,
        documents: bool = True,
    ) -> tuple[str, tuple[Any, ...], str] | list[Row]:
        """A list query's SQL, its arguments and its order as an outer query names it; or a deep page's rows."""
        full = sql.full_order(order)
        where, args = sql.where(conditions)
        if after is None and not reverse and limit is not None and offset >= DEEP_OFFSET:
            return self._deep_page(table, tenant, where, args, order, limit, offset)
        if after is not None:
            anchor, inclusive = after
            fixed = {c.column: c.value for c in conditions if c.fixes is not None}
            kw, kargs = sql.keyset(full, anchor, inclusive, reverse, fixed)
            where += f" AND ({kw})"
            args += kargs
        walked = [(col, desc != reverse) for col, desc in full]
        # The outer query names the order keys by their aliases (k0...), and the tie-breaker as pk.
        outer_names = [f"k{i}" for i in range(len(order))] + ["pk"] * (len(full) - len(order))
        rows = sql.rows(table, tenant)
        doc = "m.doc" if documents else "NULL::bytea"
        # The limit is written out (a few page sizes, a few statements): a plan made once for
        # any values then knows it needs a page, not a tenth of the table, as it assumes of a
        # parameter. A first or keyset page has no offset at all.
        bounds = "" if limit is None else f" LIMIT {int(min(limit, MAX_SQL_INT))}"
        if offset:
            bounds += " OFFSET %s"
            args += (min(offset, MAX_SQL_INT),)
        query = (
            f"SELECT m.pk, m.id, {doc} AS doc{sql.keys(order)} FROM {rows} m WHERE {where}"
            f" ORDER BY {sql.order_by(walked)}{bounds}"
        )
        return query, args, sql.order_by(walked, outer_names)

    def count(self, table: str, tenant: int, conditions: Sequence[Condition], generation: int | None = None) -> int:
        """How many rows of a tenant meet every condition (cached until any replica's next write).

        ``generation``: as read with the caller's page (see :meth:`BaseStore.count`).
        """
        where, args = sql.where(conditions)

        def read() -> int:
            query = f"SELECT count(*) FROM {sql.rows(table, tenant)} WHERE {where}"
            with self.reading() as db:
                return int(one(db, query, args, prepare=_planned_once(conditions))[0])

        at = self.generation(table) if generation is None else generation
        return self._counts.count((table, tenant, where, args), at, read)

    def _deep_page(
        self,
        table: str,
        tenant: int,
        where: str,
        args: tuple[Any, ...],
        order: Sequence[SortKey],
        limit: int,
        offset: int,
    ) -> list[Row]:
        # OFFSET n steps over n index entries here too: past DEEP_OFFSET, the ordered keys of the
        # query are read once per generation (of any replica's writes) and pages sliced from them.
        rows = sql.rows(table, tenant)

        def read() -> array[int]:
            ordered = sql.order_by(sql.full_order(order))
            with self.reading() as db:
                found = db.execute(f"SELECT pk FROM {rows} WHERE {where} ORDER BY {ordered}", args)
                return array("q", (r[0] for r in found))

        shape = (table, tenant, where, args, tuple(order))
        wanted = self._orders.slice(shape, self.generation(table), read, offset, limit)
        if not wanted:
            return []
        with self.reading() as db:
            found_rows = {
                r[PK]: tuple(r)
                for r in db.execute(
                    f"SELECT m.pk, m.id, m.doc{sql.keys(order)} FROM {rows} m WHERE m.pk = ANY(%s)",
                    (wanted,),
                )
            }
        return [found_rows[pk] for pk in wanted if pk in found_rows]

    def find(self, table: str, tenant: int, id_: str, order: Sequence[SortKey] = ()) -> Row | None:
        """The row of a tenant with this id, with its sort-key values for ``order``."""
        if sql.unstorable(id_):
            return None
        companion = self._connections.companion()
        if companion is None:
            with self.reading() as db:
                r = db.execute(
                    f"SELECT m.pk, m.id, m.doc{sql.keys(order)} FROM {sql.rows(table, tenant)} m WHERE m.id = %s",
                    (id_,),
                ).fetchone()
            return None if r is None else tuple(r)
        # The request's companion rides along: one row even when there is no such record.
        with self.reading() as db:
            found = one(
                db,
                f"SELECT {companion.expression}, f.* FROM (SELECT 1) one LEFT JOIN (SELECT m.pk, m.id, m.doc"
                f"{sql.keys(order)} FROM {sql.rows(table, tenant)} m WHERE m.id = %s) f ON true",
                (id_,),
            )
        companion.observe(found[0])
        return None if found[PK + 1] is None else found[1:]

    def sample(self, table: str, tenant: int, column: str, n: int) -> list[Any]:
        """Up to ``n`` distinct values of a column for one tenant, from its newest :data:`SAMPLE_ROWS` records."""
        col = sql.column(column)
        query = f"SELECT {col} FROM {sql.rows(table, tenant)} WHERE {col} IS NOT NULL ORDER BY pk DESC LIMIT %s"
        with self.reading() as db:
            values = dict.fromkeys(r[0] for r in db.execute(query, (SAMPLE_ROWS,)))
        return list(values)[:n]

    def exists(self, table: str, tenant: int, column: str, value: Any) -> bool:
        """Whether any row of a tenant has ``column = value``."""
        if sql.unstorable(value):
            return False
        query = f"SELECT 1 FROM {sql.rows(table, tenant)} WHERE {sql.column(column)} = %s LIMIT 1"
        with self.reading() as db:
            return db.execute(query, (value,)).fetchone() is not None

    # -- writes ----------------------------------------------------------------------------

    def update(self, table: TableSpec, tenant: int, id_: str, change: Change) -> bytes | None:
        """Lock the record's row and read its facts (one statement), apply ``change``, write the row; one transaction.

        A racing change of the same record, through any replica, waits for the lock and then
        reads the facts this one wrote.
        """
        t, rows = table.name, sql.rows(table.name, tenant)
        if sql.unstorable(id_):
            return None
        try:
            with self.transaction() as db:
                self.bump(db, t)  # the generation's row first: writers lock in one order
                found = db.execute(f"SELECT pk, facts FROM {rows} WHERE id = %s FOR UPDATE", (id_,)).fetchone()
                if found is None:
                    raise _NoSuchRecordError
                pk, packed = found
                facts, doc, columns = change(unpack_facts(bytes(packed)))
                names = "".join(f", {sql.column(name)}" for name, _ in table.columns)
                db.execute(
                    f'INSERT INTO "o_{t}" SELECT pk, %s, id{names}, doc, facts FROM {rows} WHERE pk = %s'
                    " ON CONFLICT (pk) DO NOTHING",
                    (tenant, pk),
                )
                sets = "".join(f"{sql.column(name)} = %s, " for name, _ in table.columns)
                written = (*columns, doc, pack_facts(facts), pk)
                db.execute(f"UPDATE {rows} SET {sets}doc = %s, facts = %s WHERE pk = %s", written)
                return doc
        except _NoSuchRecordError:
            return None

    def changed(self, tables: Iterable[str]) -> int:
        """How many records of ``tables`` differ from their seeded state (their shadows' count)."""
        total = 0
        with self.reading() as db:
            for name in tables:
                if one(db, "SELECT to_regclass(%s)", (f'"o_{name}"',))[0] is not None:  # seeded at all
                    total += int(one(db, f'SELECT count(*) FROM "o_{name}"')[0])
        return total

    def _reset(self, db: StoreConnection, tables: Iterable[str]) -> int:
        restored = 0
        for name in tables:
            changed = int(one(db, f'SELECT count(*) FROM "o_{name}"')[0])
            self.bump(db, name, changed)
            if not changed:
                continue
            cols = [
                r[0]
                for r in db.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                    " ORDER BY ordinal_position",
                    (f"o_{name}",),
                )
            ]
            kept = [c for c in cols if c != "tenant"]
            listed = ", ".join(f'"{c}"' for c in kept)
            updates = ", ".join(f'"{c}" = excluded."{c}"' for c in kept if c != "pk")
            # A shadow holding no document is of a record added after seeding: it goes; the others
            # are written back whole, document and facts with the columns.
            added = f'SELECT pk FROM "o_{name}" WHERE tenant = %s AND length(doc) = 0'
            for (tenant,) in db.execute(f'SELECT DISTINCT tenant FROM "o_{name}"').fetchall():
                rows = sql.rows(name, tenant)
                restored += db.execute(f"DELETE FROM {rows} WHERE pk IN ({added})", (tenant,)).rowcount
                restored += db.execute(
                    f'INSERT INTO {rows} ({listed}) SELECT {listed} FROM "o_{name}"'
                    f" WHERE tenant = %s AND length(doc) > 0 ON CONFLICT (pk) DO UPDATE SET {updates}",
                    (tenant,),
                ).rowcount
            db.execute(f'DELETE FROM "o_{name}"')
        return restored

    def loader(self) -> PostgreSQLLoader:
        """A bulk loader (see :class:`~mock_server.store.postgresql.loader.PostgreSQLLoader`)."""
        from mock_server.store.postgresql.loader import PostgreSQLLoader

        return PostgreSQLLoader(self)


def _planned_once(conditions: Sequence[Condition]) -> bool | None:
    """Whether a list statement may keep one plan for any values (None: psycopg prepares it when it repeats).

    A range's width decides between its column's index and the order's (a week of a million
    payments, or all of them), so a statement with one is planned for its values at every run
    (False: never prepared); an equality's plan is the same for any value, on the derived indexes.
    """
    return False if any(c.op in _RANGES for c in conditions) else None


class _NoSuchRecordError(Exception):
    """Leaves an update's transaction (rolled back) when the tenant has no such record."""


def one(
    db: StoreConnection, query: str | bytes, args: Sequence[Any] = (), binary: bool = False, prepare: bool | None = None
) -> tuple[Any, ...]:
    """The one row a query gives (an aggregate, a row known to exist).

    ``binary``: in the binary format; ``prepare``: as :meth:`psycopg.Connection.execute` takes it.
    """
    row = db.run(query, args, binary=binary, prepare=prepare).fetchone()
    if row is None:
        raise StoreError(f"expected a row from {query[:80]!r}, got none")
    return tuple(row)


def write_meta(db: psycopg.Connection[Any], values: Mapping[str, str]) -> None:
    """Set meta values inside a transaction."""
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )
