"""The control state over SQLite: its own tables in the server's data file (the only SQL of the feature).

Every worker opens its own connections to the one file (write-ahead log, as the store does); a
``:memory:`` store keeps the control state in one in-process database shared by its threads.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from mock_server.control.state import DuplicateRuleError, JournalQuery, StoredRule

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS control_rules (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL, matched INTEGER NOT NULL DEFAULT 0)""",
    "CREATE TABLE IF NOT EXISTS control_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO control_meta VALUES ('rules', 0)",
    """CREATE TABLE IF NOT EXISTS control_journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, api TEXT NOT NULL, tenant TEXT,
        operation TEXT, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
        entry BLOB NOT NULL)""",
)
_FILTERS = ("api", "tenant", "operation", "method", "path", "status")


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
        with self._writing() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    # -- connections -------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self.memory:
            if self._shared is None:
                self._shared = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            return self._shared
        if self._pid != os.getpid():
            # A connection opened before gunicorn forked must not be used by the child.
            self._local, self._pid = threading.local(), os.getpid()
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
        with self._reading() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (before a fork)."""
        db = self._shared if self.memory else getattr(self._local, "db", None)
        if db is not None and not self.memory:
            db.close()
            self._local = threading.local()

    # -- rules -------------------------------------------------------------------------------

    def generation(self) -> int:
        """The rules' generation."""
        with self._reading() as db:
            return int(db.execute("SELECT value FROM control_meta WHERE key = 'rules'").fetchone()[0])

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
            db.execute("UPDATE control_meta SET value = value + 1 WHERE key = 'rules'")

    def delete_rule(self, rule_id: str) -> bool:
        """Delete one rule."""
        with self._writing() as db:
            gone = db.execute("DELETE FROM control_rules WHERE id = ?", (rule_id,)).rowcount
            db.execute("UPDATE control_meta SET value = value + 1 WHERE key = 'rules'")
        return bool(gone)

    def clear_rules(self) -> int:
        """Delete every rule."""
        with self._writing() as db:
            gone = db.execute("DELETE FROM control_rules").rowcount
            db.execute("UPDATE control_meta SET value = value + 1 WHERE key = 'rules'")
        return int(gone)

    def count_match(self, rule_id: str) -> int:
        """One more match, atomically (every worker's requests count)."""
        with self._reading() as db:
            row = db.execute(
                "UPDATE control_rules SET matched = matched + 1 WHERE id = ? RETURNING matched", (rule_id,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    # -- journal -----------------------------------------------------------------------------

    def record(self, entry: dict[str, Any]) -> None:
        """Append one entry and drop what falls beyond the capacity, in one transaction."""
        if self.capacity <= 0:
            return
        values = (entry["time"], *(entry[k] for k in _FILTERS), orjson.dumps(entry))
        with self._writing() as db:
            seq = db.execute(
                "INSERT INTO control_journal (at, api, tenant, operation, method, path, status, entry)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            ).lastrowid
            assert seq is not None
            if seq > self.capacity:
                db.execute("DELETE FROM control_journal WHERE seq <= ?", (seq - self.capacity,))

    def requests(self, query: JournalQuery) -> tuple[list[dict[str, Any]], int]:
        """A page, newest first, and the filtered total."""
        clauses, args = [], []
        for key in _FILTERS:
            value = getattr(query, key)
            if value is not None:
                clauses.append(f"{key} = ?")
                args.append(value)
        if query.since is not None:
            clauses.append("at >= ?")
            args.append(query.since)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._reading() as db:
            db.execute("BEGIN")
            try:
                total = db.execute(f"SELECT count(*) FROM control_journal{where}", args).fetchone()[0]
                rows = db.execute(
                    f"SELECT seq, entry FROM control_journal{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                    [*args, query.limit, query.offset],
                ).fetchall()
            finally:
                db.execute("COMMIT")
        return [{"seq": seq, **orjson.loads(entry)} for seq, entry in rows], int(total)

    def clear_requests(self) -> int:
        """Empty the journal."""
        with self._writing() as db:
            return int(db.execute("DELETE FROM control_journal").rowcount)
