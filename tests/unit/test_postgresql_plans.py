"""PostgreSQL: the store's connections keep one plan per repeated statement, and the URL's own options.

A list page's LIMIT was a parameter, so PostgreSQL planned every page anew (a third of its cost
in the database, bench/HISTORY.md); the store's pool sets ``plan_cache_mode``. Pages with a
range condition run unprepared (planned for their values) and must give the same records.
"""

from __future__ import annotations

from urllib.parse import quote

from postgres import Postgres
from stores import fill

from mock_server.store import ID, Condition, TableSpec, open_store
from mock_server.store.postgresql.base import PostgreSQLStore

TABLE = TableSpec("r_unit_plans", (("rank", "integer"),), (("rank", "pk"),))


def test_the_stores_connections_plan_once_and_keep_the_urls_options(postgres: Postgres) -> None:
    url = postgres.database("plans")
    url += ("&" if "?" in url else "?") + "options=" + quote("-c work_mem=5MB")
    store = open_store(url)
    assert isinstance(store, PostgreSQLStore)
    try:
        with store.reading() as db:
            settings = [db.execute(f"SHOW {name}").fetchone() for name in ("plan_cache_mode", "work_mem")]
        assert settings == [("force_generic_plan",), ("5MB",)]
    finally:
        store.close()


def test_pages_with_and_without_a_range_give_the_records_of_their_values(postgres: Postgres) -> None:
    store = open_store(postgres.database("plans_range"))
    try:
        fill(store, TABLE, [(1, (f"id-{i}", b"{}", b"{}", i % 10)) for i in range(100)])
        # Run each shape more than psycopg's five times: later runs use the kept plan, if any.
        for low in [0, 9, 3, 0, 7, 2, 8, 0]:
            within = [Condition("rank", "between", (low, 9))]
            page = store.page(TABLE.name, 1, within, [("rank", False)], 5, ids=True)
            rows = store.select(TABLE.name, 1, within, [("rank", False)], None)
            assert page.ids == [r[ID] for r in rows[:5]] and len(rows) == 10 * (10 - low)
            exact = [Condition("rank", "eq", (low,))]
            assert len(store.page(TABLE.name, 1, exact, [], None)) == store.count(TABLE.name, 1, exact) == 10
    finally:
        store.close()
