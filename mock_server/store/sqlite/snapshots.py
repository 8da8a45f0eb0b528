"""SQLite's changes of many records at once and its snapshots, on the shadow tables of originals.

A record's first change keeps its seeded row in the collection's shadow table (``o_<table>``),
which is what a reset restores. A snapshot is built on the same fact: it copies the current row of
every record that has a shadow (every changed record), nothing else, so a snapshot of a
million-record world holds what changed since seeding. Restoring one is a reset followed by
writing those rows back (their shadows made again, so that a later reset still returns to the
seeded state).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from mock_server.store import revision
from mock_server.store.base import Added, Condition, Revision, Snapshot, TableSpec, Then
from mock_server.store.sqlite import sql
from mock_server.world import pack_facts

#: Bumps a table's generation inside a write transaction (``SQLiteStore.bump``).
Bump = Callable[[sqlite3.Connection, str, int], None]


def create_tables(db: sqlite3.Connection) -> None:
    """Create the tables snapshots live in, if missing (they outlive any one world's tables)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS snapshots (name TEXT PRIMARY KEY, taken INTEGER NOT NULL,"
        " records INTEGER NOT NULL, meta TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS snapshot_rows (name TEXT NOT NULL, tbl TEXT NOT NULL, tenant INTEGER NOT NULL,"
        " pk INTEGER NOT NULL, id TEXT NOT NULL, cols TEXT NOT NULL, doc BLOB NOT NULL, facts BLOB NOT NULL,"
        " PRIMARY KEY (name, tbl, pk)) WITHOUT ROWID"
    )


def forget(db: sqlite3.Connection) -> None:
    """Drop every snapshot: they are changes against seeded tables that are being made anew."""
    db.execute("DELETE FROM snapshot_rows")
    db.execute("DELETE FROM snapshots")


def _present(db: sqlite3.Connection, tables: Iterable[str]) -> list[str]:
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [t for t in tables if f"o_{t}" in names]


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    """The declared columns of a table, as SQL (``"c_status"``), in their stored order."""
    listed = [r[1] for r in db.execute(f'PRAGMA table_info("o_{table}")')]
    return [f'"{c}"' for c in listed if c not in ("pk", "tenant", "id", "doc", "facts")]


def _tenants(db: sqlite3.Connection, table: str) -> list[int]:
    return [r[0] for r in db.execute(f'SELECT DISTINCT tenant FROM "o_{table}"').fetchall()]


def revise(
    db: sqlite3.Connection,
    bump: Bump,
    table: TableSpec,
    tenant: int,
    where: Sequence[Condition],
    change: Revision,
    then: Then | None = None,
    added: Sequence[Added] = (),
) -> int:
    """In a write transaction: insert ``added``, ``change`` rows meeting any of ``where``, then ``then``'s spread."""
    # PostgreSQL's revise is the same walk (the Python of it is shared: store/revision.py), kept
    # apart for what differs beyond spelling: here ``BEGIN IMMEDIATE`` holds the whole file, so no
    # row is locked, and the changed keys go as one JSON array (a statement binds 32,766 values at most).
    t, rows = table.name, sql.rows(table.name, tenant)
    if added:
        insert(db, bump, table, tenant, added)
    clauses = [sql.where([c]) for c in where]
    test = " OR ".join(f"({clause})" for clause, _ in clauses) or "1"
    args = tuple(a for _, values in clauses for a in values)
    names = [sql.column(name) for name, _ in table.columns]
    listed = "".join(f", m.{c}" for c in names)
    selected = f'SELECT m.pk, d.facts{listed} FROM {rows} m JOIN "d_{t}" d ON d.pk = m.pk WHERE'
    found = db.execute(f"{selected} {test} ORDER BY m.pk", args).fetchall()
    stored = {r[0]: r[2:] for r in found}
    done = revision.apply(found, change)

    def read(column: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        marks = ", ".join("?" * len(values))
        more = db.execute(f"{selected} m.{sql.column(column)} IN ({marks}) ORDER BY m.pk", values).fetchall()
        stored.update((r[0], r[2:]) for r in more)
        return more

    revision.spread(then, done, read)
    if not done:
        return 0
    changed = sorted(done)
    # Set-based: the seeded rows kept in one statement, then only the columns that changed.
    db.execute(
        f'INSERT OR IGNORE INTO "o_{t}" SELECT m.pk, {tenant}, m.id{listed}, d.doc, d.facts FROM {rows} m'
        f' JOIN "d_{t}" d ON d.pk = m.pk WHERE m.pk IN (SELECT value FROM json_each(?))',
        (orjson.dumps(changed).decode(),),
    )
    for positions, values in revision.column_writes(done, stored).items():
        sets = ", ".join(f"{names[i]} = ?" for i in positions)
        db.executemany(f"UPDATE {rows} SET {sets} WHERE pk = ?", values)
    db.executemany(
        f'UPDATE "d_{t}" SET doc = ?, facts = ? WHERE pk = ?',
        [(done[pk][1], pack_facts(done[pk][0]), pk) for pk in changed],
    )
    bump(db, t, len(changed))
    return len(changed)


def insert(db: sqlite3.Connection, bump: Bump, table: TableSpec, tenant: int, added: Sequence[Added]) -> None:
    """Inside a write transaction: add records after the tenant's last (their shadows mark them added)."""
    t, rows = table.name, sql.rows(table.name, tenant)
    first = revision.first_added(tenant, int(db.execute(f"SELECT coalesce(max(pk), 0) FROM {rows}").fetchone()[0]))
    keyed = list(enumerate(added, first))
    marks = ", ".join("?" * (2 + len(table.columns)))
    db.executemany(f"INSERT INTO {rows} VALUES ({marks})", [(pk, id_, *columns) for pk, (id_, _, _, columns) in keyed])
    db.executemany(
        f'INSERT INTO "d_{t}" VALUES (?, ?, ?)', [(pk, doc, pack_facts(facts)) for pk, (_, facts, doc, _) in keyed]
    )
    db.executemany(
        f'INSERT INTO "o_{t}" (pk, tenant, id, doc, facts) VALUES (?, ?, ?, ?, ?)',
        [(pk, tenant, id_, revision.ADDED_MARK, revision.ADDED_MARK) for pk, (id_, *_) in keyed],
    )
    bump(db, t, len(added))


def save(db: sqlite3.Connection, name: str, tables: Iterable[str], meta: Mapping[str, str], taken: int) -> Snapshot:
    """Inside a write transaction: save the changed rows of ``tables`` and ``meta`` under ``name``."""
    db.execute("DELETE FROM snapshot_rows WHERE name = ?", (name,))
    records = 0
    for t in _present(db, tables):
        values = ", ".join(f"m.{c}" for c in _columns(db, t))
        for tenant in _tenants(db, t):
            records += db.execute(
                f"INSERT INTO snapshot_rows SELECT ?, ?, ?, m.pk, m.id, json_array({values}), d.doc, d.facts"
                f' FROM {sql.rows(t, tenant)} m JOIN "d_{t}" d ON d.pk = m.pk'
                f' WHERE m.pk IN (SELECT pk FROM "o_{t}" WHERE tenant = ?)',
                (name, t, tenant, tenant),
            ).rowcount
    snapshot = Snapshot(name, taken, records, dict(meta))
    saved = orjson.dumps(dict(meta)).decode()
    db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)", (name, taken, records, saved))
    return snapshot


def _snapshot(row: Sequence[Any]) -> Snapshot:
    return Snapshot(str(row[0]), int(row[1]), int(row[2]), orjson.loads(row[3]))


def listing(db: sqlite3.Connection) -> list[Snapshot]:
    """Every snapshot, by name."""
    return [_snapshot(r) for r in db.execute("SELECT name, taken, records, meta FROM snapshots ORDER BY name")]


def find(db: sqlite3.Connection, name: str) -> Snapshot | None:
    """Snapshot ``name``, or ``None``."""
    row = db.execute("SELECT name, taken, records, meta FROM snapshots WHERE name = ?", (name,)).fetchone()
    return None if row is None else _snapshot(row)


def restore(db: sqlite3.Connection, bump: Bump, snapshot: Snapshot, tables: Iterable[str]) -> Snapshot:
    """Inside a write transaction, after a reset of ``tables``: write the snapshot's rows and metadata back."""
    name = snapshot.name
    for t in _present(db, tables):
        columns = _columns(db, t)
        listed = "".join(f", {c}" for c in columns)
        extract = "".join(f", json_extract(s.cols, '$[{i}]')" for i in range(len(columns)))
        saved = "SELECT pk FROM snapshot_rows WHERE name = ? AND tbl = ? AND tenant = ?"
        held = "SELECT DISTINCT tenant FROM snapshot_rows WHERE name = ? AND tbl = ?"
        for (tenant,) in db.execute(held, (name, t)).fetchall():
            rows = sql.rows(t, tenant)
            # The seeded row is kept first, as a change keeps it, so that a reset still goes back to it.
            db.execute(
                f'INSERT OR IGNORE INTO "o_{t}" SELECT m.pk, {tenant}, m.id{listed}, d.doc, d.facts'
                f' FROM {rows} m JOIN "d_{t}" d ON d.pk = m.pk WHERE m.pk IN ({saved})',
                (name, t, tenant),
            )
            # A saved record with no seeded row was added after seeding: a reset deletes it again.
            db.execute(
                f'INSERT OR IGNORE INTO "o_{t}" (pk, tenant, id, doc, facts) SELECT s.pk, {tenant}, s.id, ?, ?'
                " FROM snapshot_rows s WHERE s.name = ? AND s.tbl = ? AND s.tenant = ?",
                (revision.ADDED_MARK, revision.ADDED_MARK, name, t, tenant),
            )
            written = db.execute(
                f"INSERT OR REPLACE INTO {rows} (pk, id{listed}) SELECT s.pk, s.id{extract} FROM snapshot_rows s"
                " WHERE s.name = ? AND s.tbl = ? AND s.tenant = ?",
                (name, t, tenant),
            ).rowcount
            bump(db, t, written)
        db.execute(
            f'INSERT OR REPLACE INTO "d_{t}" SELECT pk, doc, facts FROM snapshot_rows WHERE name = ? AND tbl = ?',
            (name, t),
        )
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", snapshot.meta.items())
    return snapshot


def delete(db: sqlite3.Connection, name: str) -> bool:
    """Inside a write transaction: forget snapshot ``name``; whether there was one."""
    db.execute("DELETE FROM snapshot_rows WHERE name = ?", (name,))
    return db.execute("DELETE FROM snapshots WHERE name = ?", (name,)).rowcount > 0
