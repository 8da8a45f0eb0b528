"""The control state over PostgreSQL: fault rules, their counters and the journal, one for every replica.

Its own tables (``control_*``) in the store's database. What makes it one state:

- a rule's counter is one ``UPDATE ... RETURNING``: every worker of every replica counts, and
  "the first 2" are two requests of all of them;
- the rules' generation is a row that every change of the rules advances in its transaction, read
  per request (one indexed row; the figure is in bench/README.md): a rule posted through one
  replica applies to the very next request through any other, with no staleness. A request that
  reads the store first (a list or a record, :meth:`PostgreSQLControlState.observing`) gets it
  as one more column of the store's own statement, so it costs no round trip of its own;
- journal entries are buffered per worker and written by a background thread every
  :data:`FLUSH_INTERVAL`, or as soon as :data:`FLUSH_BATCH` wait, in one transaction (a write per
  request would cost a round trip and a commit per request; the thread waits rather than polls,
  as on SQLite, since each wake takes the GIL from the request threads). A reader flushes its own
  buffer, advances ``control_meta.flush`` and waits until each live worker of any replica has
  answered in ``control_workers``. Workers are known by host and pid; a pid cannot be probed on
  another machine, so a worker is live while its flusher has written its heartbeat within
  :data:`LIVE_FOR` seconds.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import orjson
import psycopg

from mock_server.control.journal import Pending, made
from mock_server.control.state import DuplicateRuleError, JournalQuery, StoredRule
from mock_server.errors import StoreUnavailableError
from mock_server.process import pid
from mock_server.store import journal
from mock_server.store.postgresql import sql
from mock_server.store.postgresql.base import describe, one
from mock_server.store.postgresql.connections import Connections

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS control_rules (
        seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL,
        matched BIGINT NOT NULL DEFAULT 0)""",
    "CREATE TABLE IF NOT EXISTS control_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    "INSERT INTO control_meta VALUES ('rules', 0), ('flush', 0) ON CONFLICT DO NOTHING",
    """CREATE TABLE IF NOT EXISTS control_workers (
        worker TEXT PRIMARY KEY, acked BIGINT NOT NULL, seen TIMESTAMPTZ NOT NULL DEFAULT now())""",
    # Unlogged: no write-ahead log for the journal's rows and their trimming, which cost about an
    # eighth of PostgreSQL's CPU per served list request. What it costs: a PostgreSQL crash (not
    # a clean restart) empties the journal, and a standby of the database does not have it.
    """CREATE UNLOGGED TABLE IF NOT EXISTS control_journal (
        seq BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, api TEXT NOT NULL, tenant TEXT,
        operation TEXT, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
        entry BYTEA NOT NULL)""",
    # A journal made logged by an earlier paymock is made unlogged once (a rewrite of at most
    # its capacity of rows).
    """DO $$ BEGIN
        IF (SELECT relpersistence FROM pg_class WHERE oid = 'control_journal'::regclass) = 'p' THEN
            ALTER TABLE control_journal SET UNLOGGED;
        END IF;
    END $$""",
)
_COPY = f"COPY control_journal ({', '.join(journal.ROW_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
#: The PostgreSQL types of :func:`journal.row`'s values, in order (a binary COPY needs them).
_COPY_TYPES = ("float8", "text", "text", "text", "text", "text", "int4", "bytea")
#: Keeps the newest ``capacity`` entries (committed with the batch's rows), and reads the readers'
#: latest flush request: the writer's wake needs no round trip of its own for it.
_TRIM = (
    "WITH trimmed AS (DELETE FROM control_journal WHERE seq <= (SELECT max(seq) FROM control_journal) - %s)"
    " SELECT value FROM control_meta WHERE key = 'flush'"
)
_FLUSH_WANTED = "SELECT value FROM control_meta WHERE key = 'flush'"
_GENERATION = "SELECT value FROM control_meta WHERE key = 'rules'"
_GENERATION_SCALAR = f"({_GENERATION})"
_BUMP = "UPDATE control_meta SET value = value + 1 WHERE key = 'rules'"
#: How often a worker's journal buffer is written, and how often it looks for a reader's flush request.
FLUSH_INTERVAL = 0.1
#: A worker's writer is called at once when this many entries wait.
FLUSH_BATCH = 256
#: How long a reader waits for the other workers to flush before reading what is there.
SYNC_TIMEOUT = 2.0
#: Seconds after its last heartbeat that a worker no longer counts as live (gone, or on a lost machine).
LIVE_FOR = 2.0
#: Seconds between a flusher's heartbeats.
HEARTBEAT = 0.5
#: Connections per process: the request threads read the generation, the flusher writes.
POOL_SIZE = 4
log = logging.getLogger("paymock")


class PostgreSQLControlState:
    """:class:`~mock_server.control.state.ControlState` in PostgreSQL, shared by every replica.

    Args:
        url: The store's ``postgresql://`` URL.
        capacity: Journal entries kept (the oldest go first); 0 keeps none.

    Raises:
        StoreUnavailableError: The database cannot be reached.
    """

    def __init__(self, url: str, capacity: int) -> None:
        self.url = url
        self.location = describe(url)
        self.capacity = capacity
        self._connections = Connections(url, self.location, POOL_SIZE)
        self._buffer: list[Pending] = []
        self._buffer_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._full = threading.Event()  # the buffer holds a batch: the writer need not wait
        self._flusher: int | None = None  # pid whose flusher thread runs
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # the running writer's: set, it leaves after its round
        self._leaving = False  # the exit hook is registered
        self._acked = 0
        with self._connections.reading() as db:
            # One replica at a time makes the tables (CREATE ... IF NOT EXISTS can race).
            db.execute("SELECT pg_advisory_lock(hashtext('paymock control schema'))")
            try:
                for statement in _SCHEMA:
                    db.execute(statement)
            finally:
                db.execute("SELECT pg_advisory_unlock(hashtext('paymock control schema'))")

    # -- connections -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop this process's journal writer (what it buffered written first) and close its pool.

        Before a fork, and when an embedding program is done with the state; a writer and a pool
        start again on next use.
        """
        thread = self._thread
        if thread is not None and self._flusher == os.getpid():
            self._stop.set()
            self._full.set()  # wake it now
            thread.join(SYNC_TIMEOUT)
            self._leave()
        self._flusher = self._thread = None
        self._connections.close()

    # -- rules -------------------------------------------------------------------------------

    def observing(self) -> AbstractContextManager[object]:
        """One request: the rules' generation rides on the store's statements on this database.

        A page or a record read in the block returns it as one more column (the store's
        :class:`~mock_server.store.postgresql.connections.Connections` add it), read in the same
        snapshot as the answer, so :meth:`generation` needs no round trip of its own.
        """
        return self._connections.accompanying(_GENERATION_SCALAR)

    def generation(self) -> int:
        """The rules' generation, as the last change by any replica committed it (one indexed row).

        In an :meth:`observing` block, the value the request's last store statement read, if any.
        """
        companion = self._connections.companion()
        if companion is not None and companion.seen:
            return int(companion.value) if companion.value is not None else -1
        with self._connections.reading() as db:
            row = db.execute(_GENERATION).fetchone()
        return int(row[0]) if row is not None else -1

    def rules(self) -> tuple[int, list[StoredRule]]:
        """The generation and every rule, oldest first, read in one snapshot."""
        with self._connections.reading() as db, db.transaction():
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = db.execute(_GENERATION).fetchone()
            rows = db.execute("SELECT id, source, matched FROM control_rules ORDER BY seq").fetchall()
        generation = int(row[0]) if row is not None else -1
        return generation, [StoredRule(r[0], orjson.loads(r[1]), int(r[2])) for r in rows]

    def add_rules(self, rules: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Store every rule or none."""
        try:
            with self._connections.transaction() as db:
                for rule_id, source in rules:
                    added = db.execute(
                        "INSERT INTO control_rules (id, source) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
                        (rule_id, orjson.dumps(source).decode()),
                    ).rowcount
                    if not added:
                        raise _Duplicate(rule_id)
                db.execute(_BUMP)
        except _Duplicate as exc:  # the transaction rolled back: nothing was added
            raise DuplicateRuleError(exc.rule_id) from None

    def delete_rule(self, rule_id: str) -> bool:
        """Delete one rule."""
        with self._connections.transaction() as db:
            gone = db.execute("DELETE FROM control_rules WHERE id = %s", (rule_id,)).rowcount
            db.execute(_BUMP)
        return bool(gone)

    def clear_rules(self) -> int:
        """Delete every rule."""
        with self._connections.transaction() as db:
            gone = db.execute("DELETE FROM control_rules").rowcount
            db.execute(_BUMP)
        return int(gone)

    def count_match(self, rule_id: str) -> int:
        """One more match, atomically (every worker of every replica counts)."""
        with self._connections.reading() as db:
            row = db.execute(
                "UPDATE control_rules SET matched = matched + 1 WHERE id = %s RETURNING matched", (rule_id,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    # -- journal -----------------------------------------------------------------------------

    def record(self, entry: Pending) -> None:
        """Buffer one entry; this worker's writer makes and writes it within :data:`FLUSH_INTERVAL`."""
        if self.capacity <= 0:
            return
        with self._buffer_lock:
            self._buffer.append(entry)
            if len(self._buffer) == FLUSH_BATCH:
                self._full.set()
            if self._flusher != pid():
                self._start_flusher()

    def _start_flusher(self) -> None:
        # One per process: after gunicorn forks, each worker starts its own on its first entry.
        # Registered before the entry is kept, so that a reader from now on waits for this worker.
        try:
            with self._connections.transaction() as db:
                acked = int(one(db, "SELECT value FROM control_meta WHERE key = 'flush'")[0])
                db.execute(
                    "INSERT INTO control_workers (worker, acked) VALUES (%s, %s)"
                    " ON CONFLICT (worker) DO UPDATE SET acked = excluded.acked, seen = now()",
                    (_worker(), acked),
                )
        except StoreUnavailableError:  # the database is away: the entry stays buffered, the next one retries
            log.warning("request journal: cannot register this worker (the database is away)")
            return
        self._flusher, self._acked = os.getpid(), acked
        # An event of its own: a writer that close() stopped must not be woken again by the next.
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._flush_forever, args=(self._stop,), name="paymock-journal", daemon=True
        )
        self._thread.start()
        if not self._leaving:
            atexit.register(self._leave)
            self._leaving = True

    def _flush_forever(self, stop: threading.Event) -> None:
        beat = time.monotonic()
        while not stop.is_set():
            self._full.wait(FLUSH_INTERVAL)
            self._full.clear()
            try:
                wanted = self._flush()
                if wanted is None:  # nothing written: ask for it
                    with self._connections.reading() as db:
                        wanted = int(one(db, _FLUSH_WANTED)[0])
                if wanted > self._acked or time.monotonic() - beat > HEARTBEAT:
                    self._flush()
                    with self._connections.reading() as db:
                        db.execute(
                            "UPDATE control_workers SET acked = greatest(acked, %s), seen = now() WHERE worker = %s",
                            (wanted, _worker()),
                        )
                    self._acked, beat = max(self._acked, wanted), time.monotonic()
            except (psycopg.Error, StoreUnavailableError):  # a lost database: the next round retries
                log.exception("writing the request journal")

    def _flush(self) -> int | None:
        """Write this worker's buffered entries; the readers' latest flush request, if any were written."""
        # One flush at a time per worker: a reader's flush must not return while the flusher
        # thread's rows, taken from the buffer, are not committed yet.
        with self._flush_lock:
            with self._buffer_lock:
                pending, self._buffer = self._buffer, []
            if not pending:
                return None
            rows = [journal.row(entry) for entry in made(pending)]
            with self._connections.transaction() as db:
                # COPY, in binary: one statement for the batch, where an INSERT per entry cost
                # each entry a statement's execution on both sides (5-11 % of a served list
                # request's CPU; bench/HISTORY.md), and the entry's bytes go as they are.
                with db.cursor() as cursor, cursor.copy(_COPY) as copy:
                    copy.set_types(_COPY_TYPES)
                    for r in rows:
                        copy.write_row(r)
                return int(one(db, _TRIM, (self.capacity,))[0])

    def _leave(self) -> None:
        if self._flusher != os.getpid():  # closed already, or never wrote here
            return
        try:
            self._flush()
            with self._connections.reading() as db:
                db.execute("DELETE FROM control_workers WHERE worker = %s", (_worker(),))
        except (psycopg.Error, StoreUnavailableError):
            pass

    def _sync(self) -> None:
        """Make every live worker's buffered entries, on every replica, visible before a read."""
        self._flush()
        with self._connections.reading() as db:
            (wanted,) = one(db, "UPDATE control_meta SET value = value + 1 WHERE key = 'flush' RETURNING value")
            # Workers silent for long are gone (stopped, or their machine lost): forget them.
            db.execute("DELETE FROM control_workers WHERE seen < now() - make_interval(secs => %s)", (60 * LIVE_FOR,))
        if self._flusher == os.getpid():
            self._acked = max(self._acked, wanted)
        deadline = time.monotonic() + SYNC_TIMEOUT
        while time.monotonic() < deadline:
            with self._connections.reading() as db:
                (waiting,) = one(
                    db,
                    "SELECT count(*) FROM control_workers WHERE worker != %s AND acked < %s"
                    " AND seen >= now() - make_interval(secs => %s)",
                    (_worker(), wanted, LIVE_FOR),
                )
            if not waiting:
                return
            time.sleep(FLUSH_INTERVAL / 10)

    def requests(self, query: JournalQuery) -> tuple[list[dict[str, Any]], int]:
        """A page, newest first, and the filtered total (every replica's entries so far)."""
        self._sync()
        count, page, args = journal.reads(sql.DIALECT, query)
        with self._connections.reading() as db, db.transaction():
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            (total,) = one(db, count, args)
            rows = db.execute(page, [*args, query.limit, query.offset]).fetchall()
        return journal.entries(rows), int(total)

    def clear_requests(self) -> int:
        """Empty the journal (entries still buffered in any worker of any replica included)."""
        self._sync()
        with self._connections.reading() as db:
            return int(db.execute("DELETE FROM control_journal").rowcount)


class _Duplicate(Exception):
    """Raised inside the transaction of :meth:`PostgreSQLControlState.add_rules` to roll it back."""

    def __init__(self, rule_id: str) -> None:
        super().__init__(rule_id)
        self.rule_id = rule_id


def _worker() -> str:
    """This worker's name among every replica's: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"
