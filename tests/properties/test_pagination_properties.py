"""Properties that must hold for any page size, filter and sort.

Walks cover the filtered collection exactly once, every item passes every filter, and order holds across pages.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from vendors import Session, walk

from mock_server.sandbox import Sandbox
from mock_server.seeding import table_spec
from mock_server.store import SQLiteStore
from mock_server.store.sqlite import sql as spelled

FLEX_FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["pending", "processing", "paid", "failed", "cancelled"]),
        "dueDateFrom": st.sampled_from(["2026-06-01", "2026-09-15T12:00:00Z", "2026-10-20"]),
        "dueDateTo": st.sampled_from(["2026-08-01", "2026-11-10", "2026-12-01T00:00:00+02:00"]),
    },
)
ZUORA_FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["Processed", "Error", "Draft", "Canceled"]),
        "type": st.sampled_from(["External", "Electronic"]),
    },
)
ZUORA_SORT_KEYS = ["number", "accountId", "amount", "appliedAmount", "effectiveDate", "createdDate", "updatedById"]
ZUORA_SORTS = st.lists(
    st.tuples(st.sampled_from(["-", "+", ""]), st.sampled_from(ZUORA_SORT_KEYS)),
    min_size=0,
    max_size=2,
    unique_by=lambda t: t[1],
)


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [str(i.get("paymentId", i.get("id"))) for i in items]


@given(limit=st.integers(1, 100), filters=FLEX_FILTERS)
def test_flexportal_cursor_walk(app: Flask, limit: int, filters: dict[str, str]) -> None:
    s = Session(app.test_client(), "flexportal")
    everything = walk(s, "flexportal", {}, 100)
    got = walk(s, "flexportal", filters, limit)

    def within(due: str, bound: str | None, upper: bool) -> bool:
        if bound is None:
            return True
        if len(bound) == 10:  # a date alone covers its whole day
            return due[:10] <= bound if upper else due[:10] >= bound
        return _instant(due) <= _instant(bound) if upper else _instant(due) >= _instant(bound)

    def passes(item: dict[str, Any]) -> bool:
        return (
            filters.get("status", item["status"]) == item["status"]
            and within(item["dueDate"], filters.get("dueDateFrom"), upper=False)
            and within(item["dueDate"], filters.get("dueDateTo"), upper=True)
        )

    assert _ids(got) == _ids([i for i in everything if passes(i)])


def _instant(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@given(limit=st.integers(1, 40), filters=ZUORA_FILTERS, sort=ZUORA_SORTS)
def test_zuora_page_walk_with_sort(
    app: Flask, limit: int, filters: dict[str, str], sort: list[tuple[str, str]]
) -> None:
    s = Session(app.test_client(), "zuora")
    params: dict[str, Any] = dict(filters)
    if sort:
        params["sort"] = ",".join(op + name for op, name in sort)
    got = walk(s, "zuora", params, limit)
    everything = walk(s, "zuora", {}, 40)
    expected = [i for i in everything if all(i[k] == v for k, v in filters.items())]
    assert sorted(_ids(got)) == sorted(_ids(expected))
    assert len(set(_ids(got))) == len(got)
    # Order: compare consecutive items by the requested keys (Zuora: '-' asc, '+'/none desc).
    keys = sort or [("+", "number")]
    for a, b in itertools.pairwise(got):
        for op, name in keys:
            if a[name] == b[name]:
                continue
            assert (a[name] < b[name]) == (op == "-"), (op, name, a[name], b[name])
            break


@given(limit=st.integers(1, 250))
def test_notify_from_walk(app: Flask, limit: int) -> None:
    s = Session(app.test_client(), "notify")
    got = walk(s, "notify", {}, limit)
    assert _ids(got) == _ids(walk(s, "notify", {}, 250))


@given(limit=st.integers(1, 100), order=st.sampled_from([None, "asc", "desc"]))
def test_exsited_offset_walk(app: Flask, limit: int, order: str | None) -> None:
    s = Session(app.test_client(), "exsited")
    params = {"order_by": order} if order else {}
    got = walk(s, "exsited", params, limit)
    baseline = walk(s, "exsited", params, 100)
    assert _ids(got) == _ids(baseline)
    assert len(set(_ids(got))) == len(got) > 0


COLUMNS = "c_status, c_customerId, c_rentalId, c_billingGroupId, c_dueDate, c_createdAt"


def test_cursor_walk_survives_inserts_between_pages(app: Flask, served: Sandbox) -> None:
    # Given a walk in progress, records created between its requests never make it skip or repeat
    # a record that existed when it started. (SQLite only: rows are inserted behind the mock's back.)
    assert isinstance(served.store, SQLiteStore)
    s = Session(app.test_client(), "flexportal")
    before = _ids(walk(s, "flexportal", {}, 100))
    table = "r_flexportal_payments"
    rows = spelled.rows(table, 1)
    spec = table_spec(served.specs[[s.name for s in served.specs].index("flexportal")].collections["payments"])
    db = served.store.connection()
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 17}
    inserted = 0
    try:
        while True:
            body = s.get("/v1/payments", params=params).json()
            seen += _ids(body["payments"])
            # Insert a brand-new newest payment after every page.
            row = db.execute(
                f'SELECT d.doc, {COLUMNS} FROM {rows} m JOIN "d_{table}" d ON d.pk = m.pk ORDER BY m.pk DESC LIMIT 1'
            ).fetchone()
            doc = orjson.loads(row[0])
            doc["paymentId"] = f"pay_inserted{inserted:012d}"
            with served.store.transaction() as tx:
                pk = spelled.next_pk(tx, spec)
                values = (*row[1:6], row[6] + 1)
                spelled.insert_rows(tx, spec, 1, [(pk, doc["paymentId"], *values)], [(pk, orjson.dumps(doc), b"{}")])
            inserted += 1
            if not body["hasMore"]:
                break
            params["startAfter"] = body["nextCursor"]
    finally:
        with served.store.transaction() as tx:
            tx.execute(f"DELETE FROM \"d_{table}\" WHERE pk IN (SELECT pk FROM {rows} WHERE id LIKE 'pay_inserted%')")
            tx.execute(f"DELETE FROM {rows} WHERE id LIKE 'pay_inserted%'")
    assert inserted > 3
    assert [i for i in seen if not i.startswith("pay_inserted")] == before
