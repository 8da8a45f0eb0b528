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

import os
import sqlite3
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from mock_server.errors import DataFileError, StoreError
from mock_server.store.base import CREATION, BaseStore, Change, Condition, Features, SortKey, TableSpec
from mock_server.store.page import PK, SEP, Page, Row
from mock_server.store.sqlite import datafile, sql
from mock_server.world import pack_facts, unpack_facts

if TYPE_CHECKING:
    from mock_server.store.sqlite.loader import SQLiteLoader

SCHEMA_VERSION = "6"
#: Offsets from which pages are sliced from a cached ordering (see SQLiteStore._deep_page).
DEEP_OFFSET = 10_000
DEEP_CACHE_SHAPES = 4
#: Rows :meth:`SQLiteStore.sample` reads at most.
SAMPLE_ROWS = 5000
MAX_SQL_INT = 2**62
#: How long a write waits for another process's write to finish.
BUSY_TIMEOUT_MS = 30_000
#: How long opening a data file waits for another process's write lock before saying so.
OPEN_TIMEOUT_MS = 3_000


def _usable_cores() -> int:
    """Cores this process may run on (its affinity where the OS has one: Linux; else all)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return max(1, len(affinity(0)) if affinity is not None else os.cpu_count() or 1)


class SQLiteStore(BaseStore):
    """A SQLite database holding every API's collections.

    Args:
        path: A file path, or ``":memory:"`` for a private in-process database.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.location = self.path
        self.memory = self.path == ":memory:"
        self.features = Features(private=self.memory)
        self._local = threading.local()
        self._shared: sqlite3.Connection | None = None
        # An in-memory database exists once per connection: share one, serialised by a lock.
        self._lock = threading.RLock() if self.memory else None
        self._counts: dict[tuple[Any, ...], tuple[int, int]] = {}
        self._indexes: dict[tuple[str, int], list[tuple[str, tuple[str, ...]]]] = {}
        self._orders: OrderedDict[tuple[Any, ...], tuple[int, array[int]]] = OrderedDict()
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
        with self.reading() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection."""
        db = self._shared if self.memory else getattr(self._local, "db", None)
        if db is not None:
            db.close()
        self._shared = None
        self._local = threading.local()

    # -- meta ------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A value from the meta table."""
        with self.reading() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

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
        text, args = query
        with self.reading() as db:
            rows: list[Row] = db.execute(text, args).fetchall()
        return rows

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
    ) -> Page:
        """The records :meth:`select` gives, as one :class:`Page` read in one step.

        SQLite joins the documents itself and hands over a single row instead of one per record
        (each a tuple, a bytes object and a step that lets go of the interpreter lock, which the
        other threads of a worker then contend for). ``ids`` reads the records' IDs too;
        ``documents=False`` reads none of their documents.
        """
        query = self._listing(table, tenant, conditions, order, limit, offset, after, reverse, documents)
        if isinstance(query, list):
            return Page.of(query, ids)
        text, args = query
        # The subquery keeps its ORDER BY because it has a LIMIT (an unlimited page asks for
        # LIMIT -1): SQLite feeds its rows to the aggregates in that order (a test compares every
        # shape of page with select()'s rows).
        id_list = "json_group_array(id)" if ids else "NULL"
        docs = "CAST(group_concat(doc, char(30)) AS BLOB)" if documents else "NULL"
        with self.reading() as db:
            count, listed, joined = db.execute(f"SELECT count(*), {id_list}, {docs} FROM ({text})", args).fetchone()
        joined = joined or b""
        if documents and count and joined.count(SEP) != count - 1:
            # A document holding the separator is not JSON this store wrote; read it row by row.
            return Page.of(self.select(table, tenant, conditions, order, limit, offset, after, reverse), ids)
        return Page(count, orjson.loads(listed) if ids else [], joined)

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
    ) -> tuple[str, tuple[Any, ...]] | list[Row]:
        """The SQL of a list query (see :meth:`select`), or its rows when a deep page is sliced from a cache."""
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
        order_sql = sql.order_by([(col, desc != reverse) for col, desc in full])
        keys = sql.keys(order)
        # Joined, the document costs least per returned row; but rows that OFFSET skips would be
        # joined too, so offset pages read each document in a subquery of the rows they return.
        joined = documents and offset == 0
        rows = sql.rows(table, tenant)
        index = self._index_for(table, tenant, conditions, order, limit)
        read = f'{rows} INDEXED BY "{index}"' if index is not None else rows
        source = f'{read} JOIN "d_{table}" USING (pk)' if joined else read
        doc = "doc" if joined else f"{sql.doc_subquery(table, rows)} AS doc" if documents else "NULL AS doc"
        query = f"SELECT pk, id, {doc}{keys} FROM {source} WHERE {where} ORDER BY {order_sql} LIMIT ? OFFSET ?"
        # Any integer is a valid offset; past SQLite's 64-bit range the page is simply empty.
        args += (-1 if limit is None else min(limit, MAX_SQL_INT), min(offset, MAX_SQL_INT))
        return query, args

    def _index_for(
        self, table: str, tenant: int, conditions: Sequence[Condition], order: Sequence[SortKey], limit: int | None
    ) -> str | None:
        """The index a filtered list reads, chosen here rather than by SQLite's statistics; ``None``: SQLite's choice.

        With a filter holding a column to one value, the page is read either through that
        column's index (its matches come in creation order; another order sorts them) or by
        walking the order's index and skipping the rows that fail. Which is cheaper depends on
        how many rows hold the value, and SQLite's statistics know only a column's average: left
        to them, it sorted the 30 % of payments with ``appliedAmount=0`` for every page, and it
        walked the whole table, checking each row, for a value the statistics said every row
        holds (a value only a state change can give is then found at the end of the walk).
        Here the count of matches decides: walk the order when ``matches * matches > limit *
        rows``, that is when reading about ``limit * rows / matches`` entries of the walk costs
        less than sorting ``matches`` rows. An index that holds the filtered column and then the
        order needs no weighing. The choice needs only the counts' size, so it takes them from
        :meth:`estimate` (counted again only when writes may have moved them by a sixteenth).
        """
        held = [c.fixes for c in conditions if c.fixes is not None]
        if not held:
            return None
        indexes = self._indexes_of(table, tenant)
        keys = [col for col, _ in order if col not in held and col != CREATION]
        filters = []
        for name, columns in indexes:
            if columns[0] in held:
                if list(columns[1 : 1 + len(keys)]) == keys:
                    return name  # the filter's matches in the order: nothing to weigh
                filters.append(name)
        if not filters:
            return None
        walks = [name for name, columns in indexes if keys and list(columns[: len(keys)]) == keys]
        if not walks or limit is None:
            return filters[0]
        matches, rows = self.estimate(table, tenant, conditions), self.estimate(table, tenant, [])
        return walks[0] if matches * matches > limit * rows else filters[0]

    def _indexes_of(self, table: str, tenant: int) -> list[tuple[str, tuple[str, ...]]]:
        """The indexes of a tenant's rows, each with its columns (read once per table)."""
        key = (table, tenant)
        found = self._indexes.get(key)
        if found is None:
            found = []
            with self.reading() as db:
                for _, name, *_ in db.execute(f"PRAGMA index_list({sql.rows(table, tenant)})").fetchall():
                    info = db.execute(f'PRAGMA index_info("{name}")').fetchall()
                    columns = tuple(sql.column_name(r[2]) for r in sorted(info))
                    found.append((name, columns))
            self._indexes[key] = found
        return found

    def count(self, table: str, tenant: int, conditions: Sequence[Condition]) -> int:
        """How many rows of a tenant meet every condition (cached until the next write)."""
        where, args = sql.where(conditions)
        key = (table, tenant, where, args)
        generation = self.generation(table)
        cached = self._counts.get(key)
        if cached is not None and cached[0] == generation:
            return cached[1]
        with self.reading() as db:
            total = int(db.execute(f"SELECT count(*) FROM {sql.rows(table, tenant)} WHERE {where}", args).fetchone()[0])
        if len(self._counts) >= 4096:
            self._counts.clear()
        self._counts[key] = (generation, total)
        return total

    def estimate(self, table: str, tenant: int, conditions: Sequence[Condition]) -> int:
        """:meth:`count`, within a sixteenth: a count cached before writes that changed fewer rows.

        The generation advances by the rows each commit changed (:meth:`bump`), so a count made
        ``n`` generations ago is off by ``n`` at most. Counting the matches of a broad filter
        over a million rows takes ~60 ms; without this every write made the next list that
        weighs its plan pay for it again, in every serving process.
        """
        where, args = sql.where(conditions)
        cached = self._counts.get((table, tenant, where, args))
        if cached is not None and 0 <= self.generation(table) - cached[0] <= cached[1] // 16:
            return cached[1]
        return self.count(table, tenant, conditions)

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
        # SQLite has no order statistics: OFFSET n steps over n index entries. Past DEEP_OFFSET,
        # the ordered keys of this query are read once per write generation and pages are sliced
        # from them, so page 900,000 costs what page 1 does (after the first).
        key = (table, tenant, where, args, tuple(order))
        generation = self.generation(table)
        cached = self._orders.get(key)
        rows = sql.rows(table, tenant)
        if cached is None or cached[0] != generation:
            full = sql.full_order(order)
            # This scan reads every matching row anyway: with a filter, let SQLite narrow through
            # the filter's index and sort, instead of walking the sort index and visiting each row
            # to test the filter (unary + keeps an ORDER BY column from choosing the index).
            hint = "+" if where != "1" else ""
            order_sql = sql.order_by(full, hint)
            with self.reading() as db:
                pks = array(
                    "q",
                    (r[0] for r in db.execute(f"SELECT pk FROM {rows} WHERE {where} ORDER BY {order_sql}", args)),
                )
            cached = (generation, pks)
            self._orders[key] = cached
            while len(self._orders) > DEEP_CACHE_SHAPES:
                self._orders.pop(next(iter(self._orders)))
        else:
            self._orders.move_to_end(key)
        wanted = cached[1][min(offset, MAX_SQL_INT) : min(offset, MAX_SQL_INT) + limit]
        if not wanted:
            return []
        keys = sql.keys(order)
        marks = ", ".join("?" * len(wanted))
        with self.reading() as db:
            found = {
                r[PK]: r
                for r in db.execute(
                    f'SELECT pk, id, doc{keys} FROM {rows} JOIN "d_{table}" USING (pk) WHERE pk IN ({marks})',
                    tuple(wanted),
                )
            }
        return [found[pk] for pk in wanted if pk in found]

    def find(self, table: str, tenant: int, id_: str, order: Sequence[SortKey] = ()) -> Row | None:
        """The row of a tenant with this id, with its sort-key values for ``order``."""
        with self.reading() as db:
            r = db.execute(
                f'SELECT pk, id, doc{sql.keys(order)} FROM {sql.rows(table, tenant)} JOIN "d_{table}" USING (pk)'
                " WHERE id = ?",
                (id_,),
            ).fetchone()
        return None if r is None else tuple(r)

    def sample(self, table: str, tenant: int, column: str, n: int) -> list[Any]:
        """Up to ``n`` distinct values of a column for one tenant, from its newest records.

        Only the newest :data:`SAMPLE_ROWS` rows are read (backwards in creation order), so the
        banner and ``/__paymock/samples`` cost the same over a million payments as over a hundred.
        """
        col = sql.column(column)
        with self.reading() as db:
            query = (
                f"SELECT {col} FROM {sql.rows(table, tenant)} NOT INDEXED WHERE {col} IS NOT NULL"
                " ORDER BY pk DESC LIMIT ?"
            )
            values = dict.fromkeys(r[0] for r in db.execute(query, (SAMPLE_ROWS,)))
        return list(values)[:n]

    def exists(self, table: str, tenant: int, column: str, value: Any) -> bool:
        """Whether any row of a tenant has ``column = value``."""
        with self.reading() as db:
            query = f"SELECT 1 FROM {sql.rows(table, tenant)} WHERE {sql.column(column)} = ? LIMIT 1"
            return db.execute(query, (value,)).fetchone() is not None

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

    def reset(self, tables: Iterable[str]) -> int:
        """Restore every changed row to its seeded state; returns how many rows were restored."""
        restored = 0
        with self.transaction() as db:
            for name in tables:
                self.bump(db, name, db.execute(f'SELECT count(*) FROM "o_{name}"').fetchone()[0])
                columns = [r[1] for r in db.execute(f'PRAGMA table_info("o_{name}")')]
                listed = ", ".join(f'"{c}"' for c in columns if c not in ("tenant", "doc", "facts"))
                for (tenant,) in db.execute(f'SELECT DISTINCT tenant FROM "o_{name}"').fetchall():
                    restored += db.execute(
                        f"INSERT OR REPLACE INTO {sql.rows(name, tenant)} ({listed})"
                        f' SELECT {listed} FROM "o_{name}" WHERE tenant = ?',
                        (tenant,),
                    ).rowcount
                db.execute(f'INSERT OR REPLACE INTO "d_{name}" SELECT pk, doc, facts FROM "o_{name}"')
                db.execute(f'DELETE FROM "o_{name}"')
        return restored

    # -- entities (immutable once seeded) ----------------------------------------------------

    def entity(self, api: str, tenant: int, kind: str, seq: int) -> dict[str, Any]:
        """Facts of one entity (customer, subscription, invoice, user) of a tenant."""
        return _entity_cached(self, api, tenant, kind, seq)


def write_meta(db: sqlite3.Connection, values: Mapping[str, str]) -> None:
    """Set meta values inside a transaction."""
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())


@lru_cache(maxsize=65536)
def _entity_cached(store: SQLiteStore, api: str, tenant: int, kind: str, seq: int) -> dict[str, Any]:
    with store.reading() as db:
        row = db.execute(
            "SELECT facts FROM entities WHERE api = ? AND tenant = ? AND kind = ? AND seq = ?",
            (api, tenant, kind, seq),
        ).fetchone()
    if row is None:
        raise StoreError(f"{store.path}: {api} tenant {tenant} has no {kind} {seq}")
    result: dict[str, Any] = orjson.loads(row[0])
    return result
