"""PostgreSQL's changes of many records at once and its snapshots, on the shadow tables of originals.

The same design as SQLite's (:mod:`mock_server.store.sqlite.snapshots`): a snapshot copies the
current row of every record that has a shadow (every changed record), nothing else; a restore is
a reset followed by writing those rows back, their shadows made again (here a row holds its
document and facts: see :mod:`~mock_server.store.postgresql.sql`). Writers lock the table's
generation row first, as every writer of this store does, so they never wait for each other in
opposite orders; a revision also locks the rows it reads (``FOR UPDATE``), so a racing change
through another replica sees its result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from mock_server.store import revision
from mock_server.store.base import Added, Condition, Revision, Snapshot, TableSpec, Then
from mock_server.store.postgresql import sql
from mock_server.store.postgresql.connections import StoreConnection
from mock_server.world import pack_facts

Db = StoreConnection
#: Advances a table's generation inside a transaction (``PostgreSQLStore.bump``).
Bump = Callable[[Db, str, int], None]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS snapshots (name text PRIMARY KEY, taken bigint NOT NULL,"
    " records bigint NOT NULL, meta text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS snapshot_rows (name text NOT NULL, tbl text NOT NULL, tenant integer NOT NULL,"
    ' pk bigint NOT NULL, id text COLLATE "C" NOT NULL, cols text NOT NULL, doc bytea NOT NULL,'
    " facts bytea NOT NULL, PRIMARY KEY (name, tbl, pk))",
)


def forget(db: Db) -> None:
    """Drop every snapshot: they are changes against seeded tables that are being made anew."""
    db.execute("DELETE FROM snapshot_rows")
    db.execute("DELETE FROM snapshots")


def _lock(db: Db, table: str) -> None:
    db.execute("SELECT value FROM meta WHERE key = %s FOR UPDATE", (f"generation:{table}",))


def _present(db: Db, tables: Iterable[str]) -> list[str]:
    return [t for t in tables if db.execute("SELECT to_regclass(%s)", (f'"o_{t}"',)).fetchone() not in (None, (None,))]


def _columns(db: Db, table: str) -> list[tuple[str, str]]:
    """The declared columns of a table (``c_status``) and their PostgreSQL types, in stored order."""
    rows = db.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        (f"o_{table}",),
    ).fetchall()
    return [(str(n), str(t)) for n, t in rows if n not in ("pk", "tenant", "id", "doc", "facts")]


def revise(
    db: Db,
    bump: Bump,
    table: TableSpec,
    tenant: int,
    where: Sequence[Condition],
    change: Revision,
    then: Then | None = None,
    added: Sequence[Added] = (),
) -> int:
    """Inside a transaction: insert ``added``, ``change`` the rows meeting any of ``where``, then ``then``'s spread."""
    # SQLite's revise is the same walk (the Python of it is shared: store/revision.py), kept apart
    # for what differs beyond spelling: replicas write at once here, so the generation row is
    # locked first and every row read is locked (``FOR UPDATE OF m``) until the commit.
    t, rows = table.name, sql.rows(table.name, tenant)
    _lock(db, t)
    if added:
        insert(db, bump, table, tenant, added)
    clauses = [sql.where([c]) for c in where]
    test = " OR ".join(f"({clause})" for clause, _ in clauses) or "TRUE"
    args = tuple(a for _, values in clauses for a in values)
    names = [sql.column(name) for name, _ in table.columns]
    listed = "".join(f", m.{c}" for c in names)
    selected = f"SELECT m.pk, m.facts{listed} FROM {rows} m WHERE"
    found = db.execute(f"{selected} {test} ORDER BY m.pk FOR UPDATE OF m", args).fetchall()
    stored = {r[0]: r[2:] for r in found}
    done = revision.apply(found, change)

    def read(column: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        query = f"{selected} m.{sql.column(column)} = ANY(%s) ORDER BY m.pk FOR UPDATE OF m"
        more = db.execute(query, (list(values),)).fetchall()
        stored.update((r[0], r[2:]) for r in more)
        return more

    revision.spread(then, done, read)
    if not done:
        return 0
    changed = sorted(done)
    with db.cursor() as cur:
        # Set-based: the seeded rows kept in one statement; then one UPDATE a record, of its
        # document, its facts and only the columns that changed (each rewrites its indexes' entries).
        cur.execute(
            f'INSERT INTO "o_{t}" SELECT m.pk, {int(tenant)}, m.id{listed}, m.doc, m.facts FROM {rows} m'
            " WHERE m.pk = ANY(%s) ON CONFLICT (pk) DO NOTHING",
            (changed,),
        )
        for positions, values in revision.column_writes(done, stored, documents=True).items():
            sets = "".join(f"{names[i]} = %s, " for i in positions)
            cur.executemany(f"UPDATE {rows} SET {sets}doc = %s, facts = %s WHERE pk = %s", values)
    bump(db, t, len(changed))
    return len(changed)


def insert(db: Db, bump: Bump, table: TableSpec, tenant: int, added: Sequence[Added]) -> None:
    """Inside a transaction, generation row locked: add records after the tenant's last (shadows mark them)."""
    t, rows = table.name, sql.rows(table.name, tenant)
    last = db.execute(f"SELECT coalesce(max(pk), 0) FROM {rows}").fetchone()
    first = revision.first_added(tenant, int(last[0]) if last is not None else 0)
    keyed = list(enumerate(added, first))
    marks = ", ".join(["%s"] * (4 + len(table.columns)))
    with db.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {rows} VALUES ({marks})",
            [(pk, id_, *columns, doc, pack_facts(facts)) for pk, (id_, facts, doc, columns) in keyed],
        )
        cur.executemany(
            f'INSERT INTO "o_{t}" (pk, tenant, id, doc, facts) VALUES (%s, %s, %s, %s, %s)',
            [(pk, tenant, id_, revision.ADDED_MARK, revision.ADDED_MARK) for pk, (id_, *_) in keyed],
        )
    bump(db, t, len(added))


def save(db: Db, name: str, tables: Iterable[str], meta: Mapping[str, str], taken: int) -> Snapshot:
    """Inside a transaction: save the changed rows of ``tables`` and ``meta`` under ``name``."""
    db.execute("DELETE FROM snapshot_rows WHERE name = %s", (name,))
    records = 0
    for t in _present(db, tables):
        values = ", ".join(f'm."{c}"' for c, _ in _columns(db, t))
        tenants = [r[0] for r in db.execute(f'SELECT DISTINCT tenant FROM "o_{t}"').fetchall()]
        for tenant in tenants:
            records += db.execute(
                f"INSERT INTO snapshot_rows SELECT %s, %s, %s, m.pk, m.id, jsonb_build_array({values})::text,"
                f" m.doc, m.facts FROM {sql.rows(t, tenant)} m"
                f' WHERE m.pk IN (SELECT pk FROM "o_{t}" WHERE tenant = %s)',
                (name, t, tenant, tenant),
            ).rowcount
    saved = orjson.dumps(dict(meta)).decode()
    db.execute(
        "INSERT INTO snapshots VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO UPDATE"
        " SET taken = excluded.taken, records = excluded.records, meta = excluded.meta",
        (name, taken, records, saved),
    )
    return Snapshot(name, taken, records, dict(meta))


def _snapshot(row: Sequence[Any]) -> Snapshot:
    return Snapshot(str(row[0]), int(row[1]), int(row[2]), orjson.loads(row[3]))


def listing(db: Db) -> list[Snapshot]:
    """Every snapshot, by name."""
    rows = db.execute('SELECT name, taken, records, meta FROM snapshots ORDER BY name COLLATE "C"').fetchall()
    return [_snapshot(r) for r in rows]


def find(db: Db, name: str) -> Snapshot | None:
    """Snapshot ``name``, or ``None``."""
    row = db.execute("SELECT name, taken, records, meta FROM snapshots WHERE name = %s", (name,)).fetchone()
    return None if row is None else _snapshot(row)


def restore(db: Db, bump: Bump, snapshot: Snapshot, tables: Iterable[str]) -> Snapshot:
    """Inside a transaction, after a reset of ``tables``: write the snapshot's rows and metadata back."""
    name = snapshot.name
    for t in _present(db, tables):
        columns = _columns(db, t)
        listed = "".join(f', "{c}"' for c, _ in columns)
        extract = "".join(
            f", (s.cols::jsonb->>{i}){'::bigint' if kind == 'bigint' else ''}" for i, (_, kind) in enumerate(columns)
        )
        written_back = ["id", *(f'"{c}"' for c, _ in columns), "doc", "facts"]
        updates = ", ".join(f"{c} = excluded.{c}" for c in written_back)
        held = "SELECT DISTINCT tenant FROM snapshot_rows WHERE name = %s AND tbl = %s"
        for (tenant,) in db.execute(held, (name, t)).fetchall():
            rows = sql.rows(t, tenant)
            saved = "SELECT pk FROM snapshot_rows WHERE name = %s AND tbl = %s AND tenant = %s"
            # The seeded row is kept first, as a change keeps it, so that a reset still goes back to it.
            db.execute(
                f'INSERT INTO "o_{t}" SELECT m.pk, {int(tenant)}, m.id{listed.replace(", ", ", m.")}, m.doc, m.facts'
                f" FROM {rows} m WHERE m.pk IN ({saved}) ON CONFLICT (pk) DO NOTHING",
                (name, t, tenant),
            )
            # A saved record with no seeded row was added after seeding: a reset deletes it again.
            db.execute(
                f'INSERT INTO "o_{t}" (pk, tenant, id, doc, facts) SELECT s.pk, {int(tenant)}, s.id, %s, %s'
                " FROM snapshot_rows s WHERE s.name = %s AND s.tbl = %s AND s.tenant = %s ON CONFLICT (pk) DO NOTHING",
                (revision.ADDED_MARK, revision.ADDED_MARK, name, t, tenant),
            )
            written = db.execute(
                f"INSERT INTO {rows} (pk, id{listed}, doc, facts) SELECT s.pk, s.id{extract}, s.doc, s.facts"
                " FROM snapshot_rows s WHERE s.name = %s AND s.tbl = %s AND s.tenant = %s"
                f" ON CONFLICT (pk) DO UPDATE SET {updates}",
                (name, t, tenant),
            ).rowcount
            bump(db, t, written)
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(snapshot.meta.items()),
        )
    return snapshot


def delete(db: Db, name: str) -> bool:
    """Inside a transaction: forget snapshot ``name``; whether there was one."""
    db.execute("DELETE FROM snapshot_rows WHERE name = %s", (name,))
    return db.execute("DELETE FROM snapshots WHERE name = %s", (name,)).rowcount > 0
