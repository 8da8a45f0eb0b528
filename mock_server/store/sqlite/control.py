"""The control state over SQLite: its own tables in the server's data file (the only SQL of the feature).

Every worker opens its own connections to the one file (write-ahead log, as the store does); a
``:memory:`` store keeps the control state in one in-process database shared by its threads.

Journal entries are kept per worker, encoded, and written only when they must be: when a reader
asks, or when :data:`FLUSH_BATCH` of them wait (only with a capacity above that; a smaller journal
drops a worker's oldest in memory, as the table would). Under load most entries are dropped
before anyone reads them, and writing every one of them from a background thread cost a busy
worker several percent of its CPU, its own and the GIL's (bench/README.md). So that a
read sees every worker's entries, a reader writes its own, asks the other workers to write theirs
(``control_meta.flush`` goes up by one, and the modification time of ``<file>.flush`` says so
without a query) and waits until each live worker has answered in ``control_workers``; a worker's
writer looks every :data:`FLUSH_INTERVAL`. The table keeps the newest entries by time, whichever
worker wrote them when. An entry is kept before its response is sent, so a client that has its
answer will find it in the journal.
"""

from __future__ import annotations

import atexit
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import orjson

from mock_server import process
from mock_server.control.journal import Pending, made
from mock_server.control.state import DuplicateRuleError, JournalQuery, StoredRule
from mock_server.store import journal
from mock_server.store.sqlite import sql

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS control_rules (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL, matched INTEGER NOT NULL DEFAULT 0)""",
    "CREATE TABLE IF NOT EXISTS control_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO control_meta VALUES ('rules', 0)",
    "INSERT OR IGNORE INTO control_meta VALUES ('flush', 0)",
    "CREATE TABLE IF NOT EXISTS control_workers (pid INTEGER PRIMARY KEY, acked INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS control_journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, api TEXT NOT NULL, tenant TEXT,
        operation TEXT, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
        entry BLOB NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS control_journal_at ON control_journal (at, seq)",
)
_TRIM = (
    "DELETE FROM control_journal WHERE seq IN"
    " (SELECT seq FROM control_journal ORDER BY at DESC, seq DESC LIMIT -1 OFFSET ?)"
)
_INSERT = journal.insert(sql.DIALECT)
#: How often a worker's writer looks for a reader's request to write (one ``stat``): also about
#: the longest a reader waits for another worker's entries.
FLUSH_INTERVAL = 0.1
#: With a larger capacity, a worker writes its entries once this many wait (a bound on its memory).
FLUSH_BATCH = 4096
#: How long a reader waits for the other workers to flush before reading what is there.
SYNC_TIMEOUT = 2.0
log = logging.getLogger("paymock")


class SqliteControlState:
    """:class:`~mock_server.control.state.ControlState` in SQLite.

    Args:
        path: The data file (the store's), or ``":memory:"``.
        capacity: Journal entries kept (the oldest go first); 0 keeps none.
    """

    def __init__(self, path: str, capacity: int) -> None:
        self.path = path
        self.capacity = capacity
        self.memory = path == ":memory:"
        self._local = threading.local()
        self._pid = os.getpid()
        self._shared: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        # A smaller journal keeps only a worker's newest entries, as the table would.
        self._keep = capacity if 0 < capacity <= FLUSH_BATCH else None
        self._buffer: deque[tuple[Any, ...]] = deque(maxlen=self._keep)
        self._buffer_lock = threading.Lock()
        self._full = threading.Event()  # the buffer holds a batch: the writer writes it at once
        # One write of the buffer at a time: a reader's flush must not return while the flusher
        # still writes the rows it took.
        self._flush_lock = threading.Lock()
        self._flusher: int | None = None  # pid whose flusher thread runs
        self._acked = 0
        self._signal = None if self.memory else f"{path}.rules"
        self._wanted = None if self.memory else f"{path}.flush"
        self._generation = 0
        with self._writing() as db:
            for statement in _SCHEMA:
                db.execute(statement)
        self._stamp()
        if self._wanted is not None:
            with open(self._wanted, "a"):
                pass

    # -- connections -------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self.memory:
            if self._shared is None:
                self._shared = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            return self._shared
        if self._pid != process.pid():
            # A connection opened before gunicorn forked must not be used by the child.
            self._local, self._pid = threading.local(), process.pid()
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        if self.memory:
            with self._lock:
                yield self._connection()
        else:
            yield self._connection()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._reading() as db, sql.immediate(db):
            yield db

    def close(self) -> None:
        """Close this thread's connection (before a fork)."""
        db = self._shared if self.memory else getattr(self._local, "db", None)
        if db is not None and not self.memory:
            db.close()
            self._local = threading.local()

    # -- rules -------------------------------------------------------------------------------

    def observing(self) -> AbstractContextManager[object]:
        """One request: nothing to do, the generation's ``stat`` is cheaper than any companion."""
        return nullcontext()

    def generation(self) -> int:
        """The rules' generation, as the last change stamped it on the signal file (one ``stat``).

        Read per request, so it is not a query: every change of the rules sets the modification
        time of ``<file>.rules`` to the new generation, in nanoseconds.
        """
        if self._signal is None:
            return self._generation
        try:
            return os.stat(self._signal).st_mtime_ns
        except FileNotFoundError:
            return -1

    def _bump(self, db: sqlite3.Connection) -> None:
        db.execute("UPDATE control_meta SET value = value + 1 WHERE key = 'rules'")

    def _stamp(self) -> None:
        """After a change of the rules committed: tell every worker (see :meth:`generation`)."""
        with self._reading() as db:
            generation = int(db.execute("SELECT value FROM control_meta WHERE key = 'rules'").fetchone()[0])
        if self._signal is None:
            self._generation = generation
            return
        with open(self._signal, "a"):
            pass
        os.utime(self._signal, ns=(generation, generation))

    def rules(self) -> tuple[int, list[StoredRule]]:
        """The generation and every rule, oldest first, read in one snapshot."""
        with self._reading() as db:
            db.execute("BEGIN")
            try:
                generation = db.execute("SELECT value FROM control_meta WHERE key = 'rules'").fetchone()[0]
                rows = db.execute("SELECT id, source, matched FROM control_rules ORDER BY seq").fetchall()
            finally:
                db.execute("COMMIT")
        return int(generation), [StoredRule(r[0], orjson.loads(r[1]), int(r[2])) for r in rows]

    def add_rules(self, rules: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Store every rule or none."""
        with self._writing() as db:
            for rule_id, source in rules:
                try:
                    db.execute("INSERT INTO control_rules (id, source) VALUES (?, ?)", (rule_id, orjson.dumps(source)))
                except sqlite3.IntegrityError:
                    raise DuplicateRuleError(rule_id) from None
            self._bump(db)
        self._stamp()

    def delete_rule(self, rule_id: str) -> bool:
        """Delete one rule."""
        with self._writing() as db:
            gone = db.execute("DELETE FROM control_rules WHERE id = ?", (rule_id,)).rowcount
            self._bump(db)
        self._stamp()
        return bool(gone)

    def clear_rules(self) -> int:
        """Delete every rule."""
        with self._writing() as db:
            gone = db.execute("DELETE FROM control_rules").rowcount
            self._bump(db)
        self._stamp()
        return int(gone)

    def count_match(self, rule_id: str) -> int:
        """One more match, atomically (every worker's requests count)."""
        with self._reading() as db:
            row = db.execute(
                "UPDATE control_rules SET matched = matched + 1 WHERE id = ? RETURNING matched", (rule_id,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    # -- journal -----------------------------------------------------------------------------

    def record(self, entry: Pending) -> None:
        """Keep one entry, made and encoded; this worker writes it when a reader asks (or a batch is due).

        Made now, not when written: kept unmade, an entry holds the request's objects (its environ,
        Werkzeug's request), and a thousand of those per worker outliving their requests made the
        garbage collector's work, not the journal's, the largest cost (bench/README.md). A row of
        numbers, strings and bytes is nothing to the collector.
        """
        if self.capacity <= 0:
            return
        rows = [journal.row(e) for e in made((entry,))]
        with self._buffer_lock:
            self._buffer.extend(rows)
            if self._keep is None and len(self._buffer) == FLUSH_BATCH:
                self._full.set()
            if self._flusher != process.pid():
                self._start_flusher()

    def _start_flusher(self) -> None:
        # One per process: after gunicorn forks, each worker starts its own on its first entry.
        self._flusher, self._acked = os.getpid(), 0
        with self._writing() as db:
            acked = db.execute("SELECT value FROM control_meta WHERE key = 'flush'").fetchone()[0]
            db.execute("INSERT OR REPLACE INTO control_workers VALUES (?, ?)", (os.getpid(), acked))
        self._acked = int(acked)
        threading.Thread(target=self._flush_forever, name="paymock-journal", daemon=True).start()
        atexit.register(self._leave)

    def _flush_forever(self) -> None:
        asked = self._asked()
        while True:
            # A wait, not a poll every few milliseconds: each wake takes the GIL from the request threads.
            full = self._full.wait(FLUSH_INTERVAL)
            try:
                if full:
                    self._full.clear()
                    self._flush()
                seen = self._asked()
                if seen == asked:  # no reader asked since the last look: no query
                    continue
                asked = seen
                with self._reading() as db:
                    wanted = int(db.execute("SELECT value FROM control_meta WHERE key = 'flush'").fetchone()[0])
                if wanted > self._acked:
                    self._flush()
                    with self._writing() as db:
                        db.execute("UPDATE control_workers SET acked = ? WHERE pid = ?", (wanted, os.getpid()))
                    self._acked = wanted
            except sqlite3.Error:  # a busy or closing database: the next round retries
                log.exception("writing the request journal")

    def _asked(self) -> int:
        """The modification time a reader last gave ``<file>.flush`` (in-process: none to look at).

        A change means that some reader asked for a flush: the flusher then reads the request
        itself from ``control_meta``, so two readers stamping out of order lose nothing.
        """
        if self._wanted is None:
            return 0
        try:
            return os.stat(self._wanted).st_mtime_ns
        except FileNotFoundError:
            return -1

    def _ask(self, wanted: int) -> None:
        """Tell every worker's flusher that a reader waits for flush ``wanted`` (see :meth:`_asked`)."""
        if self._wanted is None:
            return
        with open(self._wanted, "a"):  # made if need be, as :meth:`_stamp` does
            pass
        os.utime(self._wanted, ns=(wanted, wanted))

    def _flush(self) -> None:
        with self._flush_lock:
            with self._buffer_lock:
                pending, self._buffer = self._buffer, deque(maxlen=self._keep)
            if not pending:
                return
            with self._writing() as db:
                db.executemany(_INSERT, pending)
                # The newest by time: workers write when asked, so a row written later may be older.
                db.execute(_TRIM, (self.capacity,))

    def _leave(self) -> None:
        try:
            self._flush()
            with self._writing() as db:
                db.execute("DELETE FROM control_workers WHERE pid = ?", (os.getpid(),))
        except sqlite3.Error:
            pass

    def _sync(self) -> None:
        """Make every live worker's buffered entries visible before a read."""
        self._flush()
        me = os.getpid()
        with self._writing() as db:
            db.execute("UPDATE control_meta SET value = value + 1 WHERE key = 'flush'")
            wanted = db.execute("SELECT value FROM control_meta WHERE key = 'flush'").fetchone()[0]
        self._ask(int(wanted))
        if me == self._flusher:
            self._acked = max(self._acked, int(wanted))
        deadline = time.monotonic() + SYNC_TIMEOUT
        while True:
            with self._reading() as db:
                rows = db.execute("SELECT pid, acked FROM control_workers WHERE pid != ?", (me,)).fetchall()
            waiting = [pid for pid, acked in rows if acked < wanted and _alive(pid)]
            gone = [pid for pid, _ in rows if not _alive(pid)]
            if gone:
                with self._writing() as db:
                    db.executemany("DELETE FROM control_workers WHERE pid = ?", [(pid,) for pid in gone])
            if not waiting or time.monotonic() > deadline:
                return
            time.sleep(FLUSH_INTERVAL / 10)

    def requests(self, query: JournalQuery) -> tuple[list[dict[str, Any]], int]:
        """A page, newest first, and the filtered total (every worker's entries so far)."""
        self._sync()
        count, page, args = journal.reads(sql.DIALECT, query)
        with self._reading() as db:
            db.execute("BEGIN")
            try:
                total = db.execute(count, args).fetchone()[0]
                rows = db.execute(page, [*args, query.limit, query.offset]).fetchall()
            finally:
                db.execute("COMMIT")
        return journal.entries(rows), int(total)

    def clear_requests(self) -> int:
        """Empty the journal (entries still buffered in any worker included)."""
        self._sync()
        with self._writing() as db:
            return int(db.execute("DELETE FROM control_journal").rowcount)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
