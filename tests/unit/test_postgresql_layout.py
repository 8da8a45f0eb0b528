"""PostgreSQL's layout: a tenant's row table holds its documents, keys stay unique across tenants.

A list page reads the tenant's table of rows and nothing else; the loader vacuums what it loads,
so counts can be answered from an index alone; a database of the previous layout (documents in a
table beside the rows) is refused with a message that says what to do.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
import pytest
from live import PAYMOCK
from postgres import Postgres

from mock_server.store import DOC, ID, PK, SEP, Condition, TableSpec, open_store
from mock_server.store.postgresql import sql
from mock_server.store.postgresql.base import SCHEMA_VERSION, PostgreSQLStore
from mock_server.world import pack_facts, unpack_facts

TABLE = TableSpec("r_unit_layout", (("kind", "text"), ("rank", "integer")), (("kind", "pk"), ("rank", "pk")))
#: A table of rows that ``r_unit_layout``'s tenant tables would match as a LIKE pattern (``_`` is any character).
LOOKALIKE = '"r_unitxlayout:1"'
#: Records per tenant.
PER_TENANT = 40


def _record(tenant: int, i: int) -> tuple[str, bytes, bytes, str, int]:
    """``(id, doc, facts, kind, rank)`` of a tenant's ``i``-th record."""
    id_ = f"t{tenant}-{i:03d}"
    doc = orjson.dumps({"id": id_, "state": "new", "note": "é" * (i % 5)})
    return id_, doc, pack_facts({"state": "new", "tenant": tenant}), "ab"[i % 2], i % 7


@pytest.fixture
def store(postgres: Postgres) -> Iterator[PostgreSQLStore]:
    """Two tenants of ``TABLE`` seeded as seeding does: each from the first key its loader gives it."""
    url = postgres.database("layout")
    store = open_store(url)
    assert isinstance(store, PostgreSQLStore)
    with store.transaction() as db:
        db.execute(f"CREATE TABLE {LOOKALIKE} (pk bigint PRIMARY KEY, id text NOT NULL)")
        db.execute(f"INSERT INTO {LOOKALIKE} VALUES (1000000, 'not ours')")
    with store.loader() as loader:
        loader.begin("unit", [TABLE])
        for tenant in (1, 2):
            (first,) = loader.add_tenant([TABLE], tenant)
            records = [(first + i, _record(tenant, i)) for i in range(PER_TENANT)]
            sink = loader.sink([TABLE], tenant)
            sink.rows(
                TABLE,
                [(pk, id_, kind, rank) for pk, (id_, _, _, kind, rank) in records],
                [(pk, doc, facts) for pk, (_, doc, facts, _, _) in records],
            )
            sink.close()
        loader.finish([TABLE], 2, {})
    yield store
    store.close()


def _keys(store: PostgreSQLStore, tenant: int) -> list[int]:
    with store.reading() as db:
        return [r[0] for r in db.execute(f"SELECT pk FROM {sql.rows(TABLE.name, tenant)} ORDER BY pk")]


def test_a_new_tenants_keys_follow_every_earlier_tenants(store: PostgreSQLStore) -> None:
    assert _keys(store, 1) == list(range(1, PER_TENANT + 1))
    # Past tenant 1's keys, and not past the lookalike table's (another collection's, if any).
    assert _keys(store, 2) == list(range(PER_TENANT + 1, 2 * PER_TENANT + 1))
    with store.reading() as db:
        assert db.execute(f"SELECT id FROM {LOOKALIKE}").fetchall() == [("not ours",)]  # begin() left it alone
        tables = {r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'd\\_%'")}
    assert tables == set()  # no documents' table beside the rows


def test_changes_in_two_tenants_are_kept_apart_and_reset(store: PostgreSQLStore) -> None:
    def cancel(facts: dict[str, Any]) -> tuple[dict[str, Any], bytes, tuple[Any, ...]]:
        done = {**facts, "state": "cancelled"}
        return done, orjson.dumps(done), ("c", 99)

    seeded = {t: store.find(TABLE.name, t, f"t{t}-003") for t in (1, 2)}
    for tenant in (1, 2):
        assert store.update(TABLE, tenant, f"t{tenant}-003", cancel) is not None
    # Each tenant's change is in its own row: document, facts and columns written in one row.
    for tenant in (1, 2):
        row = store.find(TABLE.name, tenant, f"t{tenant}-003", [("kind", False)])
        assert row is not None and orjson.loads(row[DOC]) == {"state": "cancelled", "tenant": tenant}
        with store.reading() as db:
            (facts,) = db.execute(
                f"SELECT facts FROM {sql.rows(TABLE.name, tenant)} WHERE pk = %s", (row[PK],)
            ).fetchone()
        assert unpack_facts(bytes(facts))["state"] == "cancelled"
        assert store.count(TABLE.name, tenant, [Condition("kind", "eq", ("c",))]) == 1
    # Two shadows, one a tenant: keys shared by the tenants would have kept one (ON CONFLICT).
    assert store.changed([TABLE.name]) == 2
    assert store.reset([TABLE.name]) == 2
    for tenant in (1, 2):
        assert store.find(TABLE.name, tenant, f"t{tenant}-003") == seeded[tenant]
        assert store.count(TABLE.name, tenant, [Condition("kind", "eq", ("c",))]) == 0


def test_a_list_page_reads_the_tenants_table_of_rows_alone(store: PostgreSQLStore) -> None:
    query = store._listing(TABLE.name, 2, [Condition("kind", "eq", ("a",))], [("rank", True)], 5, 0, None, False)
    assert not isinstance(query, list)
    text, args, _ = query
    with store.reading() as db:
        (plan,) = db.execute(f"EXPLAIN (FORMAT JSON) {text}", args).fetchone()

    def relations(node: dict[str, Any]) -> set[str]:
        found = {node["Relation Name"]} if "Relation Name" in node else set()
        return found.union(*(relations(child) for child in node.get("Plans", [])))

    assert relations(plan[0]["Plan"]) == {f"{TABLE.name}:2"}
    page = store.page(TABLE.name, 2, [Condition("kind", "eq", ("a",))], [("rank", True)], 5, ids=True)
    rows = store.select(TABLE.name, 2, [Condition("kind", "eq", ("a",))], [("rank", True)], 5)
    assert page.ids == [r[ID] for r in rows] and len(rows) == 5
    assert page.joined == SEP.join(bytes(r[DOC]) for r in rows)


def test_a_loaded_table_is_all_visible_for_index_only_counts(store: PostgreSQLStore) -> None:
    # VACUUM, not only ANALYZE: every page marked all-visible, so a count reads no heap page.
    with store.reading() as db:
        for tenant in (1, 2):
            name = f"{TABLE.name}:{tenant}"
            pages, visible = db.execute(
                "SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass", (f'"{name}"',)
            ).fetchone()
            assert pages > 0 and visible == pages, (name, pages, visible)


def test_a_database_of_the_previous_layout_is_refused_with_what_to_do(postgres: Postgres) -> None:
    url = postgres.database("pg1")
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema_version', 'pg-1')")
    done = subprocess.run(
        [PAYMOCK, "serve", "flexportal", "--store", url, "--port", "0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"another paymock data version (pg-1, this is {SCHEMA_VERSION})" in lines[0], lines[0]
    assert "use another database, or drop its tables to let paymock seed it" in lines[0], lines[0]
