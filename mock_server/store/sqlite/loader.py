"""Seeding a SQLite store: tables made anew, rows written in bulk, indexes built last.

Rendering workers (forked by :mod:`mock_server.seeding`) each write their part into a scratch
database of its own (:class:`ScratchSink`), and the seeding process appends each finished file
with one ``INSERT ... SELECT`` per table, which SQLite runs without decoding the records: the
workers do the encoding, and nothing crosses a pipe row by row.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from mock_server.store.base import TABLE_REPLACED, Loader, Part, Sink, TableSpec
from mock_server.store.sqlite import snapshots, sql
from mock_server.store.sqlite.base import SQLiteStore, write_meta


class SQLiteLoader(Loader):
    """Seeds a :class:`SQLiteStore`; inside the block, the store is set for bulk writes."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self._stack = ExitStack()

    def __enter__(self) -> SQLiteLoader:
        self._stack.enter_context(self.store.bulk_loading())
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        self.store.forget_indexes()

    @property
    def scratch(self) -> str | None:
        """Beside the data file (one file system, so scratch space is where the data goes)."""
        return None if self.store.memory else str(Path(self.store.path).parent)

    def begin(self, api: str, tables: Sequence[TableSpec]) -> None:
        """Drop ``api``'s entities and fingerprint; make its tables anew."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM entities WHERE api = ?", (api,))
            db.execute("DELETE FROM meta WHERE key = ?", (f"world:{api}",))
            # The world's sandbox clocks and every snapshot (changes against the tables made anew here) go too.
            db.execute("DELETE FROM meta WHERE key GLOB ?", (f"clock:{api}:*",))
            snapshots.forget(db)
            for table in tables:
                sql.create_table(db, table)

    def add_tenant(self, tables: Sequence[TableSpec], tenant: int) -> list[int]:
        """Create the tenant's tables of rows; the next primary key of each table."""
        with self.store.transaction() as db:
            for table in tables:
                sql.create_rows(db, table, tenant)
            return [sql.next_pk(db, table) for table in tables]

    def sink(self, tables: Sequence[TableSpec], tenant: int, scratch: str | None = None, name: str = "") -> Sink:
        """A scratch database in ``scratch`` (for a worker), or a transaction on the store."""
        if scratch is None:
            return _StoreSink(self.store, tenant)
        return ScratchSink(os.path.join(scratch, f"{name}.sqlite3"), tables, tenant)

    def absorb(self, part: Part, tables: Sequence[TableSpec], tenant: int, entities: bool = False) -> int:
        """Append a scratch file's rows of ``tables`` (and entities) in one transaction, then delete it.

        Rows keep their primary keys. SQLite copies the records without decoding them.
        """
        if part.handle is None:
            return part.rows
        copied = 0
        with self.store.reading() as db:
            db.execute("ATTACH DATABASE ? AS chunk", (part.handle,))
            try:
                with self.store.transaction() as tx:
                    for table in tables:
                        rows = sql.rows(table.name, tenant)
                        copied += tx.execute(f"INSERT INTO main.{rows} SELECT * FROM chunk.{rows}").rowcount
                        tx.execute(f'INSERT INTO main."d_{table.name}" SELECT * FROM chunk."d_{table.name}"')
                    if entities:
                        tx.execute("INSERT INTO main.entities SELECT * FROM chunk.entities")
            finally:
                db.execute("DETACH DATABASE chunk")
        os.unlink(part.handle)
        return copied

    def finish(self, tables: Sequence[TableSpec], tenants: int, meta: Mapping[str, str]) -> None:
        """Build every tenant's indexes (with SQLite's helper threads), then the metadata and statistics."""
        with self.store.bulk_indexing(), self.store.transaction() as db:
            for table in tables:
                for tenant in range(1, tenants + 1):
                    sql.create_indexes(db, table, tenant)
            write_meta(db, meta)
            for table in tables:
                self.store.bump(db, table.name, TABLE_REPLACED)
            # A bounded ANALYZE: planner statistics without reading a million rows again.
            db.execute("PRAGMA analysis_limit = 1000")
            db.execute("ANALYZE")
        self.store.forget_indexes()


class _StoreSink(Sink):
    """Writes straight into the store, a transaction per call (rendering in the seeding process)."""

    def __init__(self, store: SQLiteStore, tenant: int) -> None:
        self.store, self.tenant, self.written = store, tenant, 0

    def rows(self, table: TableSpec, rows: Iterable[Sequence[Any]], documents: Iterable[Sequence[Any]]) -> None:
        """Insert rows and documents in one transaction."""
        batch = list(rows)
        with self.store.transaction() as db:
            sql.insert_rows(db, table, self.tenant, batch, documents)
        self.written += len(batch)

    def entities(self, rows: Iterable[tuple[str, int, str, int, bytes]]) -> None:
        """Insert entities in one transaction."""
        with self.store.transaction() as db:
            sql.insert_entities(db, rows)

    def close(self) -> Part:
        """Everything is in the store already."""
        return Part(self.written)


class ScratchSink(Sink):
    """A new scratch database for one worker's part, with the store's tables for one tenant.

    Written once, copied once, deleted: no journal (a crash just leaves a file to delete), and
    large pages, which make a worker's inserts ~20 % cheaper (the store keeps SQLite's default
    page size, which suits the random reads of serving).
    """

    def __init__(self, path: str, tables: Sequence[TableSpec], tenant: int) -> None:
        self.path, self.tenant, self.written = path, tenant, 0
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA page_size = 65536")
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("BEGIN")
        sql.create_entities(self.db)
        for table in tables:
            sql.create_table(self.db, table)
            sql.create_rows(self.db, table, tenant)

    def rows(self, table: TableSpec, rows: Iterable[Sequence[Any]], documents: Iterable[Sequence[Any]]) -> None:
        """Insert rows and documents."""
        batch = rows if isinstance(rows, list) else list(rows)
        sql.insert_rows(self.db, table, self.tenant, batch, documents)
        self.written += len(batch)

    def entities(self, rows: Iterable[tuple[str, int, str, int, bytes]]) -> None:
        """Insert entities."""
        sql.insert_entities(self.db, rows)

    def close(self) -> Part:
        """Commit and close the file; the seeding process absorbs it."""
        try:
            self.db.execute("COMMIT")
        finally:
            self.db.close()
        return Part(self.written, self.path)
