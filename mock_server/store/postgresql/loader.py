"""Seeding a PostgreSQL store: tables made anew, rows streamed in with COPY, indexes built last.

Only one replica seeds at a time: the loader holds a session advisory lock for as long as it is
open, and a replica that starts meanwhile waits for it, then finds the world seeded (the caller
checks again once it holds the lock). The world's fingerprint is written last, in the
transaction that finishes the load, so a half-seeded world is never served.

Rendering workers (forked by :mod:`mock_server.seeding`) each open a connection of their own and
``COPY`` their part straight into the tables; the seeding process has nothing to copy in.
Indexes (primary keys included) are built after the load, several at once on as many
connections as there are cores, each of which PostgreSQL may build with parallel workers; each
table is vacuumed first (see :meth:`PostgreSQLLoader.finish`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from mock_server.errors import StoreError, StoreUnavailableError
from mock_server.store.base import TABLE_REPLACED, Loader, Part, Sink, TableSpec
from mock_server.store.postgresql import snapshots, sql
from mock_server.store.postgresql.base import PostgreSQLStore, one, write_meta
from mock_server.store.postgresql.connections import CONNECT_TIMEOUT, StoreConnection

_COPY_ENTITIES = "COPY entities (api, tenant, kind, seq, facts) FROM STDIN (FORMAT BINARY)"
#: The types of the entities' columns, in :data:`_COPY_ENTITIES`' order.
_ENTITY_TYPES = ("text", "int4", "text", "int4", "bytea")
#: The advisory lock that one seeding replica holds (any 64-bit number other tools are unlikely to use).
SEED_LOCK = 0x7061796D6F636B  # "paymock"


def _connect(store: PostgreSQLStore) -> StoreConnection:
    """A connection of its own for bulk writes, which need not wait for the disk at each commit."""
    try:
        db = StoreConnection.connect(store.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.OperationalError as exc:
        raise StoreUnavailableError(f"cannot reach PostgreSQL at {store.location}: {exc}") from None
    # A half-written world is never served (its fingerprint comes last): a crash may lose the
    # last commits, which the next seed redoes. (Waiting for the disk at each part's commit made
    # a million payments 45 s slower to seed, 102 s instead of 57.)
    db.execute("SET synchronous_commit = off")
    return db


class PostgreSQLLoader(Loader):
    """Seeds a :class:`PostgreSQLStore`, holding the seeding lock while open."""

    def __init__(self, store: PostgreSQLStore) -> None:
        self.store = store
        self._db: StoreConnection | None = None

    @property
    def db(self) -> StoreConnection:
        """The loader's own connection (which holds the lock)."""
        if self._db is None:
            raise RuntimeError("use the loader as a context manager: `with store.loader() as loader:`")
        return self._db

    def __enter__(self) -> PostgreSQLLoader:
        self._db = _connect(self.store)
        self._db.execute("SELECT pg_advisory_lock(%s)", (SEED_LOCK,))
        return self

    def __exit__(self, *exc: object) -> None:
        db, self._db = self._db, None
        if db is not None:
            try:
                db.execute("SELECT pg_advisory_unlock(%s)", (SEED_LOCK,))
            finally:
                db.close()

    @property
    def scratch(self) -> str | None:
        """Workers write to the database itself: no scratch files."""
        return None

    def begin(self, api: str, tables: Sequence[TableSpec]) -> None:
        """Drop ``api``'s entities, fingerprint and tables (every tenant's); make them anew, empty."""
        with self.db.transaction():
            self.db.execute("DELETE FROM entities WHERE api = %s", (api,))
            self.db.execute("DELETE FROM meta WHERE key = %s", (f"world:{api}",))
            # The world's sandbox clocks and every snapshot (changes against the tables made anew here) go too.
            self.db.execute("DELETE FROM meta WHERE key LIKE %s", (f"clock:{api}:%",))
            snapshots.forget(self.db)
            for table in tables:
                for name in self._tenant_tables(table):
                    self.db.execute(f"DROP TABLE {name}")
                for statement in sql.create_table(table):
                    self.db.execute(statement)

    def add_tenant(self, tables: Sequence[TableSpec], tenant: int) -> list[int]:
        """Create the tenant's tables of rows; the next primary key of each table.

        Keys stay unique across a collection's tenants (its shadow of originals and the snapshots
        key rows by them alone): the next is past the largest in any tenant's table.
        """
        with self.db.transaction():
            firsts = []
            for table in tables:
                self.db.execute(sql.create_rows(table, tenant))
                largest = " UNION ALL ".join(f"SELECT max(pk) AS pk FROM {name}" for name in self._tenant_tables(table))
                firsts.append(int(one(self.db, f"SELECT coalesce(max(pk), 0) + 1 FROM ({largest}) s")[0]))
            return firsts

    def _tenant_tables(self, table: TableSpec) -> list[str]:
        """The tables of rows of ``table``'s tenants, as SQL names (``"r_x:1"``...)."""
        # Told apart in Python: LIKE would take the underscores of a table's name for wildcards.
        found = self.db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND starts_with(tablename, %s)",
            (f"{table.name}:",),
        ).fetchall()
        tenants = [name[len(table.name) + 1 :] for (name,) in found]
        return [sql.rows(table.name, int(t)) for t in tenants if t.isdigit()]

    def sink(self, tables: Sequence[TableSpec], tenant: int, scratch: str | None = None, name: str = "") -> Sink:
        """A writer that COPYs into the tables on a connection of its own (opened on first write)."""
        return CopySink(self.store, tenant)

    def absorb(self, part: Part, tables: Sequence[TableSpec], tenant: int, entities: bool = False) -> int:
        """Nothing to take in: the sink wrote into the tables."""
        return part.rows

    def finish(self, tables: Sequence[TableSpec], tenants: int, meta: Mapping[str, str]) -> None:
        """Analyze and vacuum every table and build its indexes (several tables at once), then write the metadata.

        ``VACUUM`` as well as ``ANALYZE``: it marks every page all-visible, without which a count
        reads the heap beside its index, and a row holds its document (a heap ten times the width
        of its columns). Done before the indexes, whose build then reads pages it left clean.
        (``COPY ... FREEZE`` would spare it, but needs the table made in the COPY's own
        transaction, and several workers COPY into one table.)
        """
        statements = [
            (
                f"ANALYZE {sql.rows(t.name, tenant)}",
                f"VACUUM {sql.rows(t.name, tenant)}",
                *sql.create_indexes(t, tenant),
            )
            for t in tables
            for tenant in range(1, tenants + 1)
        ]
        workers = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2, 4))
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(self._run, statements))
        with self.db.transaction():
            write_meta(self.db, meta)
            for table in tables:
                self.store.bump(self.db, table.name, TABLE_REPLACED)

    def _run(self, statements: Sequence[str]) -> None:
        """Run statements in order on a connection of their own (one table's upkeep and indexes)."""
        with _connect(self.store) as db:
            db.execute("SET maintenance_work_mem = '256MB'")
            # VACUUM marks no page all-visible while the commit of its rows, or of any transaction
            # numbered near them, is not on disk (the parts' commits are asynchronous): ANALYZE's
            # commit, waited for, writes them all, and no later commit is left unwritten.
            db.execute("SET synchronous_commit = on")
            for statement in statements:
                db.execute(statement)


class CopySink(Sink):
    """COPYs rows (documents in them) and entities into the store, on a connection of its own, in one transaction."""

    def __init__(self, store: PostgreSQLStore, tenant: int) -> None:
        self.store, self.tenant, self.written = store, tenant, 0
        self._db: StoreConnection | None = None

    def _open(self) -> StoreConnection:
        if self._db is None:
            self._db = _connect(self.store)
            self._db.execute("BEGIN")
        return self._db

    def rows(self, table: TableSpec, rows: Iterable[Sequence[Any]], documents: Iterable[Sequence[Any]]) -> None:
        """COPY ``(pk, id, *columns)`` rows with their ``(pk, doc, facts)`` (in the same order) as one row each.

        Raises:
            StoreError: A document's key is not its row's.
        """
        db = self._open()
        names = ", ".join(f'"{c}"' for c in sql.listed(table))
        with db.cursor() as cur:
            # In binary: as text, a document's bytes went as hex, twice their size, for psycopg to
            # write and PostgreSQL to read back (1.13 s of both sides' CPU per 100,000 rows, in
            # binary 0.41 s; bench/HISTORY.md).
            with cur.copy(f"COPY {sql.rows(table.name, self.tenant)} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(sql.copied(table))
                for row, (pk, doc, facts) in zip(rows, documents, strict=True):
                    if pk != row[0]:
                        raise StoreError(f"{table.name}: the document of key {pk} came with the row of key {row[0]}")
                    copy.write_row((*row, doc, facts))
                    self.written += 1

    def entities(self, rows: Iterable[tuple[str, int, str, int, bytes]]) -> None:
        """COPY ``(api, tenant, kind, seq, facts)`` entities."""
        db = self._open()
        with db.cursor() as cur, cur.copy(_COPY_ENTITIES) as copy:
            copy.set_types(_ENTITY_TYPES)
            for row in rows:
                copy.write_row(row)

    def close(self) -> Part:
        """Commit and close the connection."""
        if self._db is not None:
            try:
                self._db.execute("COMMIT")
            finally:
                self._db.close()
                self._db = None
        return Part(self.written)
