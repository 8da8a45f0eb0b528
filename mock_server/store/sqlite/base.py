"""The SQLite store: tables per collection and tenant, typed columns for filters and sorts.

A collection is a narrow table of identifiers and typed filter/sort columns per tenant
(``"<table>:<tenant>"``, see :func:`~mock_server.store.sqlite.sql.rows`), which every index and
every ordered scan reads, and beside them ``d_<table>`` with every record's rendered JSON and its
facts, read only for the rows a page returns. A page is one indexed query and a string join.

A tenant's rows are a table of their own rather than rows marked with their tenant: tenants are
kept apart by construction, and no index needs the tenant as its first column. Such a column
ties in every comparison SQLite's sorter makes while it builds an index, which then decodes
whole entries to compare them: building a million payments' indexes took 40 % more CPU that way
(bench/README.md, figure 3).

One data file is one state however many worker processes serve it: every process opens its own
connections, WAL mode lets readers run beside the single writer, and every state change is a
conditional update inside ``BEGIN IMMEDIATE`` so that no update is lost and of two racing
transitions exactly one wins. ``:memory:`` is one process's private state (tests and demos).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mock_server.errors import DataFileError, StoreError
from mock_server.store.base import (
    Change,
    Features,
    TableSpec,
)
from mock_server.store.counts import CountCache
from mock_server.store.orders import OrderCache
from mock_server.store.shadowed import ShadowedStore
from mock_server.store.sqlite import datafile, snapshots, sql
from mock_server.store.sqlite.reads import SQLiteReads
from mock_server.world import pack_facts, unpack_facts

if TYPE_CHECKING:
    from mock_server.store.sqlite.loader import SQLiteLoader

SCHEMA_VERSION = "6"
#: How long a write waits for another process's write to finish.
BUSY_TIMEOUT_MS = 30_000
#: How long opening a data file waits for another process's write lock before saying so.
OPEN_TIMEOUT_MS = 3_000


def _usable_cores() -> int:
    """Cores this process may run on (its affinity where the OS has one: Linux; else all)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return max(1, len(affinity(0)) if affinity is not None else os.cpu_count() or 1)


class SQLiteStore(SQLiteReads, ShadowedStore[sqlite3.Connection]):
    """A SQLite database holding every API's collections.

    Args:
        path: A file path, or ``":memory:"`` for a private in-process database.
    """

    dialect = sql.DIALECT
    snapshot_statements = snapshots

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.location = self.path
        self.memory = self.path == ":memory:"
        self.features = Features(private=self.memory)
        self._local = threading.local()
        self._shared: sqlite3.Connection | None = None
        # An in-memory database exists once per connection: share one, serialised by a lock.
        self._lock = threading.RLock() if self.memory else None
        self._counts = CountCache()
        self._indexes: dict[tuple[str, int], list[tuple[str, tuple[str, ...]]]] = {}
        self._orders = OrderCache()
        if not self.memory:
            path = Path(self.path)
            datafile.inspect(path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DataFileError(f"{path}: cannot create its folder ({exc.strerror})") from None
        try:
            self._open()
        except sqlite3.Error as exc:
            self.close()  # the last connection closed removes the -wal and -shm files it made
            message = str(exc)
            if "locked" in message or "busy" in message:
                raise datafile.locked(self.path) from None
            if "not a database" in message or "malformed" in message:
                raise DataFileError(f"{self.path} is damaged ({message}); {datafile.ADVICE}") from None
            raise datafile.unwritable(self.path, exc) from None

    def _open(self) -> None:
        db = self.connection()
        # Another process holding the write lock is reported within seconds, not after the
        # 30 s a serving worker waits for a busy writer.
        db.execute(f"PRAGMA busy_timeout = {OPEN_TIMEOUT_MS}")
        with self.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            sql.create_entities(db)
            snapshots.create_tables(db)
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            elif version[0] != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by another paymock data version "
                    f"({version[0]}, this is {SCHEMA_VERSION}); "
                    "delete it or point --data elsewhere"
                )
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    # -- connections -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=not self.memory, timeout=30)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not self.memory:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        # Per connection, and there is one per thread per worker: keep it modest, the OS page
        # cache holds the rest of the file for every process at once.
        db.execute("PRAGMA cache_size = -16384")
        db.execute("PRAGMA temp_store = MEMORY")
        return db

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (the shared one for ``:memory:``)."""
        if self.memory:
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads (serialised only for ``:memory:``)."""
        if self._lock is None:
            yield self.connection()
        else:
            with self._lock:
                yield self.connection()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock up front, so read-check-write is atomic."""
        with self.reading() as db, sql.immediate(db):
            yield db

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """An ``flock`` on ``<data file>.<name>.lock`` (a private ``:memory:`` store: this process's lock)."""
        if self.memory:
            assert self._lock is not None
            with self._lock:
                yield
            return
        # Each call opens the file anew: flock locks belong to an open file, so two threads of
        # one process exclude each other as two processes do.
        with open(f"{self.path}.{name}.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close this thread's connection."""
        db = self._shared if self.memory else getattr(self._local, "db", None)
        if db is not None:
            db.close()
        self._shared = None
        self._local = threading.local()

    # -- meta ------------------------------------------------------------------------------

    def set_meta(self, values: Mapping[str, str]) -> None:
        """Set meta values in one transaction."""
        with self.transaction() as db:
            write_meta(db, values)

    def generation(self, table: str) -> int:
        """A number that changes whenever any process commits a change to ``table``."""
        with self.reading() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (f"generation:{table}",)).fetchone()
        return int(row[0]) if row is not None else 0

    @staticmethod
    def bump(db: sqlite3.Connection, table: str, rows: int = 1) -> None:
        """Inside a write transaction: invalidate every process's cached results for ``table``.

        The generation advances by ``rows``, how many rows the transaction changes (at least
        one), so that a count cached at an earlier generation is off by the difference at most.
        """
        step = max(1, rows)
        db.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?",
            (f"generation:{table}", str(step), step),
        )

    # -- seeding ---------------------------------------------------------------------------

    def loader(self) -> SQLiteLoader:
        """A bulk loader (see :class:`~mock_server.store.sqlite.loader.SQLiteLoader`)."""
        from mock_server.store.sqlite.loader import SQLiteLoader

        return SQLiteLoader(self)

    @contextmanager
    def bulk_loading(self) -> Iterator[None]:
        """Settings for filling tables in bulk on this thread's connection (seeding).

        A half-written world is never used (its fingerprint is written last), so writes need not
        wait for the disk. And when nothing else has the file open, it leaves write-ahead logging
        for the while: rows and index pages are then written once, straight into the file,
        instead of into the log and again at each checkpoint (seconds per million payments).
        Use it outside a transaction; the serving settings come back afterwards, and the file is
        synced to disk once the load succeeded.
        """
        db = self.connection()
        db.execute("PRAGMA synchronous = OFF")
        logged = False
        if not self.memory:
            db.execute("PRAGMA busy_timeout = 0")  # another connection open: stay in WAL, without waiting
            try:
                logged = db.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "wal"
            except sqlite3.OperationalError:
                logged = True
            finally:
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            yield
        finally:
            if not self.memory and not logged:
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        if not self.memory:
            # Done means on disk: the unsynced writes are flushed here, not by whatever the
            # kernel does next (a server started right after a seed waited 1-2 s on that flush).
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    @contextmanager
    def bulk_indexing(self) -> Iterator[None]:
        """Settings for building indexes over freshly loaded tables on this thread's connection.

        SQLite's sorter can hand runs to a helper thread per core, but only when it spills them to
        temporary files (never with ``temp_store = MEMORY``), and small runs stay in the CPU's
        cache: over a million payments an index of random keys is built ~40 % faster this way
        (bench/README.md, figure 3). Use it outside a transaction; the serving settings come back
        afterwards.
        """
        db = self.connection()
        saved = {name: db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("threads", "cache_size", "temp_store")}
        # Twice as many helpers as cores, and 1 MiB runs: while one helper writes or reads its
        # temporary file another sorts (15 indexes over a million payments: 16.2 s -> 13.5-14.8 s).
        db.execute(f"PRAGMA threads = {2 * _usable_cores()}")
        db.execute("PRAGMA cache_size = -1024")
        db.execute("PRAGMA temp_store = FILE")
        try:
            yield
        finally:
            for name, value in saved.items():
                db.execute(f"PRAGMA {name} = {int(value)}")

    def forget_indexes(self) -> None:
        """Read the indexes again before the next list: call after creating or dropping some."""
        self._indexes.clear()

    def update(self, table: TableSpec, tenant: int, id_: str, change: Change) -> bytes | None:
        """Atomically read a record's facts, apply ``change`` and write the result.

        ``change`` returns (new facts, new doc, new column values) or raises to refuse. The
        original row is kept once, so :meth:`reset` can restore it. Returns the new doc, or
        ``None`` when the tenant has no such record.
        """
        with self.transaction() as db:
            t, rows = table.name, sql.rows(table.name, tenant)
            r = db.execute(
                f'SELECT m.pk, d.facts FROM {rows} m JOIN "d_{t}" d ON d.pk = m.pk WHERE m.id = ?', (id_,)
            ).fetchone()
            if r is None:
                return None
            facts, doc, columns = change(unpack_facts(r[1]))
            listed = "".join(f", m.{sql.column(name)}" for name, _ in table.columns)
            db.execute(
                f'INSERT OR IGNORE INTO "o_{t}" SELECT m.pk, ?, m.id{listed}, d.doc, d.facts FROM {rows} m'
                f' JOIN "d_{t}" d ON d.pk = m.pk WHERE m.pk = ?',
                (tenant, r[0]),
            )
            self.bump(db, t)
            if table.columns:
                sets = ", ".join(f"{sql.column(name)} = ?" for name, _ in table.columns)
                db.execute(f"UPDATE {rows} SET {sets} WHERE pk = ?", (*columns, r[0]))
            db.execute(f'UPDATE "d_{t}" SET doc = ?, facts = ? WHERE pk = ?', (doc, pack_facts(facts), r[0]))
            return doc

    def changed(self, tables: Iterable[str]) -> int:
        """How many records of these tables differ from their seeded state (what :meth:`reset` restores)."""
        with self.reading() as db:
            present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            shadows = [f"o_{name}" for name in tables if f"o_{name}" in present]
            return sum(db.execute(f'SELECT count(*) FROM "{shadow}"').fetchone()[0] for shadow in shadows)

    def _reset(self, db: sqlite3.Connection, tables: Iterable[str]) -> int:
        restored = 0
        for name in tables:
            self.bump(db, name, db.execute(f'SELECT count(*) FROM "o_{name}"').fetchone()[0])
            columns = [r[1] for r in db.execute(f'PRAGMA table_info("o_{name}")')]
            listed = ", ".join(f'"{c}"' for c in columns if c not in ("tenant", "doc", "facts"))
            # A shadow holding no document is of a record added after seeding: it goes.
            added = f'SELECT pk FROM "o_{name}" WHERE tenant = ? AND length(doc) = 0'
            for (tenant,) in db.execute(f'SELECT DISTINCT tenant FROM "o_{name}"').fetchall():
                rows = sql.rows(name, tenant)
                restored += db.execute(f"DELETE FROM {rows} WHERE pk IN ({added})", (tenant,)).rowcount
                restored += db.execute(
                    f'INSERT OR REPLACE INTO {rows} ({listed}) SELECT {listed} FROM "o_{name}"'
                    " WHERE tenant = ? AND length(doc) > 0",
                    (tenant,),
                ).rowcount
            db.execute(f'DELETE FROM "d_{name}" WHERE pk IN (SELECT pk FROM "o_{name}" WHERE length(doc) = 0)')
            db.execute(f'INSERT OR REPLACE INTO "d_{name}" SELECT pk, doc, facts FROM "o_{name}" WHERE length(doc) > 0')
            db.execute(f'DELETE FROM "o_{name}"')
        return restored

    @contextmanager
    def revising(self) -> Iterator[sqlite3.Connection]:
        """The transaction of a :meth:`revise`, with a page cache of :data:`REVISE_CACHE_KIB`.

        A clock move of a large tenant dirties more pages than the serving cache holds, and SQLite
        spills them to the log before the commit, again each time a spilled page changes once more:
        the transaction gets a larger cache (what it does not use is not taken).
        """
        with self.transaction() as db:
            saved = int(db.execute("PRAGMA cache_size").fetchone()[0])
            db.execute(f"PRAGMA cache_size = {-REVISE_CACHE_KIB}")
            try:
                yield db
            finally:
                db.execute(f"PRAGMA cache_size = {saved}")


#: KiB of page cache a revision of many records may use (the serving connections keep 16 MiB).
REVISE_CACHE_KIB = 512 * 1024


def write_meta(db: sqlite3.Connection, values: Mapping[str, str]) -> None:
    """Set meta values inside a transaction."""
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())
