"""The generated record renderers give byte for byte what the reference closure tree gives."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mock_server.codegen
import mock_server.spec.collection
from mock_server.codegen import RenderRow
from mock_server.records import Render, compile_schema, time_shape
from mock_server.spec import ApiSpec, Column, available_apis, load_apis
from mock_server.world import World, tenant_facts

AS_OF = 1_793_491_200


def _reference(monkeypatch: pytest.MonkeyPatch, name: str) -> ApiSpec:
    # Load the document again with every renderer (nested 'each' items too) left as closures.
    monkeypatch.setattr(mock_server.spec.collection, "compile_record", compile_schema)
    monkeypatch.setattr(mock_server.codegen, "compile_record", compile_schema)
    (api,) = load_apis([name])
    monkeypatch.undo()
    return api


@pytest.mark.parametrize("name", available_apis())
def test_generated_renderers_match_the_reference(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    (fast,) = load_apis([name])
    slow = _reference(monkeypatch, name)
    tenant = tenant_facts(5, name, 2)
    world = World(fast.world, 5, tenant, 800, AS_OF)
    compared = 0
    for cname, collection in fast.collections.items():
        reference = slow.collections[cname]
        assert collection.render is not reference.render
        if collection.entity == "payment":
            envs = [{"payment": world.hydrate(p), "tenant": tenant} for p in world.payments()]
        else:
            envs = [{collection.entity: world.hydrate_subscription(s), "tenant": tenant} for s in world.subscriptions]
        for env in envs:
            record = collection.render(env)
            assert orjson.dumps(record) == orjson.dumps(reference.render(env))
            # The generated column extraction stores what each column's own extract gives.
            values = [c.extract(record) for c in collection.columns.values()]
            assert collection.extract(record) == values
            # And seeding's record-and-columns function gives both at once.
            row_record, row_values = collection.render_row(env)
            assert orjson.dumps(row_record) == orjson.dumps(record)
            assert row_values == values
            compared += 1
    assert compared >= 800


PATTERNS = [
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%d/%m/%Y %H.%M.%S h",
    "%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.000+00:00",
    "%Y%%%m %H:%M",  # no seconds: not the fast shape
    "%a, %d %b %Y %H:%M:%S GMT",  # day names: not the fast shape
    "%%H %Y",
]


@pytest.mark.parametrize("pattern", PATTERNS)
@given(seconds=st.integers(-(10**9), 4 * 10**9))
def test_time_shape_is_strftime(pattern: str, seconds: int) -> None:
    assert time_shape(pattern)(seconds) == time.strftime(pattern, time.gmtime(seconds))


def test_time_shape_passes_non_instants_through() -> None:
    shape = time_shape("%Y-%m-%d")
    assert shape("2026-01-01") == "2026-01-01"
    assert shape(None) is None


SYNTHETIC = {
    "type": "object",
    "required": ["id", "count", "ratio", "flag", "tags", "ref", "name"],
    "properties": {
        "id": {"type": "string", "x-paymock": {"from": "payment.hex"}},
        "seq": {"type": "string", "x-paymock": {"from": "payment.seq"}},
        "customer": {"type": "string", "x-paymock": {"from": "payment.customer.billing_group.uuid"}},
        "amount": {"type": "number", "x-paymock": {"from": "payment.amount"}},
        "part": {"type": "integer", "x-paymock": {"from": "payment.installment"}},
        "account": {"type": "integer", "x-paymock": {"from": "payment.customer.number"}},
        "submitted": {"type": "boolean", "x-paymock": {"from": "payment.gateway_reference"}},
        "when": {"type": "string", "format": "date-time", "x-paymock": {"from": "payment.paid_at"}},
        "day": {"type": "string", "x-paymock": {"from": "payment.due_date", "strftime": "%d.%m.%Y"}},
        "label": {"type": "string", "x-paymock": {"template": "{payment.currency} {payment.amount}"}},
        "paid": {"type": "string", "x-paymock": {"template": "paid at {payment.paid_at:>12}"}},
        "plain": {"type": "string", "x-paymock": {"template": "no facts"}},
        "kind": {"type": "string", "x-paymock": {"map": "payment.phase", "values": {"settled": "S"}, "default": "X"}},
        "version": {
            "type": "string",
            "x-paymock": {
                "map": "payment.phase",
                "values": {"voided": "2"},
                "default": "1",
                "plus": "payment.revision",
            },
        },
        "fixed": {"x-paymock": {"const": {"a": [1, 2]}}},
        "gone": {"type": "string", "nullable": True},
        "choice": {"type": "string", "enum": ["a", "b", "c"]},
        "uuid": {"type": "string", "format": "uuid"},
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "ref": {"type": "string"},
        "optional": {"type": "string"},
        "name": {"type": "object", "properties": {"tenant": {"x-paymock": {"from": "tenant.name"}}}},
        "lines": {
            "type": "array",
            "x-paymock": {"each": "payment.line_items"},
            "items": {
                "type": "object",
                "properties": {"text": {"type": "string", "x-paymock": {"from": "item.description"}}},
            },
        },
    },
}


def test_every_kind_of_property_renders_as_the_reference() -> None:
    from mock_server.codegen import compile_record
    from mock_server.records import Context

    def ctx() -> Context:
        return Context("synthetic", {"payment": "payment", "tenant": "tenant"}, SYNTHETIC, "payment")

    fast, slow = compile_record(SYNTHETIC, ctx()), compile_schema(SYNTHETIC, ctx())
    (api,) = load_apis(["flexportal"])
    tenant = tenant_facts(1, "x", 1)
    world = World(api.world, 1, tenant, 300, AS_OF)
    records = [fast({"payment": world.hydrate(p), "tenant": tenant}) for p in world.payments()]
    for p, record in zip(world.payments(), records, strict=True):
        assert orjson.dumps(record) == orjson.dumps(slow({"payment": world.hydrate(p), "tenant": tenant}))
    # A root the environment lacks reads as no facts at all, in both.
    alone = {"payment": world.hydrate(next(world.payments()))}
    assert orjson.dumps(fast(alone)) == orjson.dumps(slow(alone))
    assert fast(alone)["name"] == {"tenant": None}
    assert records[0]["gone"] is None and "optional" not in records[0]
    assert {r["kind"] for r in records} == {"S", "X"}
    assert {r["paid"] is None for r in records} == {True, False}  # missing fact: missing, not "None"
    assert {r["choice"] for r in records} == {"a", "b", "c"}
    assert {r["submitted"] for r in records} == {True, None} and {type(r["amount"]) for r in records} == {float}
    assert {type(r["account"]) for r in records} == {int}
    assert {r["version"] for r in records} == {"1", "2"}  # no revision yet: the mapped value
    changed = {**next(world.payments()), "revision": 3}
    for render in (fast, slow):
        assert render({"payment": world.hydrate(changed), "tenant": tenant})["version"] in ("4", "5")


def test_a_counter_adds_only_to_numbers() -> None:
    from mock_server.errors import SpecError
    from mock_server.records import Context

    schema = {
        "type": "string",
        "x-paymock": {"map": "payment.phase", "values": {"voided": "two"}, "plus": "payment.revision"},
    }
    with pytest.raises(SpecError, match="'plus' adds to numbers or strings of digits; the table gives 'two'"):
        compile_schema(schema, Context("where", {"payment": "payment"}, schema, "payment"))


def test_generated_column_extraction_handles_missing_and_odd_values() -> None:
    from mock_server.codegen import compile_columns
    from mock_server.columns import COLUMN_TYPES
    from mock_server.spec import Column

    columns = [
        Column("name", COLUMN_TYPES.get("text", "t"), ("name",), None),
        Column("first", COLUMN_TYPES.get("money", "t"), ("lines", 0, "amount"), None),
        Column("at", COLUMN_TYPES.get("datetime", "t"), ("meta", "at"), "%d/%m/%Y %H:%M"),
    ]
    extract = compile_columns(columns)
    docs = [
        {"name": "a", "lines": [{"amount": "12.30"}], "meta": {"at": "02/01/2026 10:30"}},
        {"name": 7, "lines": [], "meta": None},  # a number as text; no first line; a null parent
        {"lines": "not a list", "meta": {"at": None}},
        {"name": None, "lines": [{"amount": 0.1}], "meta": "x"},
    ]
    for doc in docs:
        assert extract(doc) == [c.extract(doc) for c in columns]
    assert extract(docs[0]) == ["a", 1230, 1767349800]
    assert extract(docs[1]) == ["7", None, None]


#: Instants with a four-digit year, 1000 to 9999, and the edges of the range read back without parsing.
READABLE = st.one_of(
    st.integers(-30_610_224_000, 253_402_300_799),
    st.sampled_from([0, -1, 1, 253_402_300_799, 1_714_452_825, 1_714_435_200]),
)
#: Anything else a fact might hold: years a strftime writes with fewer digits, or no instant at all.
ODD = st.one_of(
    st.integers(-(10**13), 10**13),
    st.sampled_from([253_402_300_800, -30_610_224_001]),  # just past each end
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.sampled_from(["2026-01-02", "2026-01-02T03:04:05Z", "02/01/2026", "soon", ""]),
)

#: Fields showing time facts in several layouts, and columns reading them back in several ways:
#: each pair that :func:`mock_server.columns.reads_back` skips, and pairs it must not.
SHOWN = {
    "type": "object",
    "properties": {
        "at": {"type": "string", "format": "date-time", "x-paymock": {"from": "payment.created_at"}},
        "spaced": {"type": "string", "x-paymock": {"from": "payment.updated_at", "strftime": "%Y-%m-%d %H:%M:%S"}},
        "day": {"type": "string", "format": "date", "x-paymock": {"from": "payment.due_date"}},
        "eu": {"type": "string", "x-paymock": {"from": "payment.paid_at", "strftime": "%d/%m/%Y"}},
        "midnight": {"type": "string", "x-paymock": {"from": "payment.due_date", "strftime": "%Y-%m-%dT00:00:00Z"}},
        "noon": {"type": "string", "x-paymock": {"from": "payment.due_date", "strftime": "%Y-%m-%dT12:00:00Z"}},
        "inner": {
            "type": "object",
            "properties": {"when": {"type": "string", "format": "date-time", "x-paymock": {"from": "payment.paid_at"}}},
        },
        "amount": {"type": "number", "x-paymock": {"from": "payment.amount"}},
        "label": {"type": "string", "x-paymock": {"template": "{payment.currency} {payment.amount}"}},
        "kind": {"type": "string", "x-paymock": {"map": "payment.phase", "values": {"settled": "S"}, "default": "X"}},
        "version": {
            "type": "string",
            "x-paymock": {
                "map": "payment.phase",
                "values": {"voided": "2"},
                "default": "1",
                "plus": "payment.revision",
            },
        },
        "lines": {"x-paymock": {"const": [{"amount": "1.50"}]}},
    },
}


def _shown_columns() -> list[Column]:
    from mock_server.columns import COLUMN_TYPES

    def column(kind: str, path: tuple[str | int, ...], parse: str | None = None) -> Column:
        return Column("c", COLUMN_TYPES.get(kind, "test"), path, parse)

    return [
        column("datetime", ("at",)),  # read back: the instant
        column("datetime", ("spaced",), "%Y-%m-%d %H:%M:%S"),  # read back: the instant
        column("datetime", ("spaced",)),  # ISO with a space: the instant
        column("date", ("day",)),  # read back: the text
        column("date", ("day",), "%Y-%m-%d"),  # the text
        column("date", ("at",)),  # a date-time's day: read
        column("datetime", ("day",)),  # read back: the day's midnight
        column("datetime", ("day",), "%Y-%m-%d"),  # the day's midnight
        column("datetime", ("midnight",)),  # the day's midnight
        column("datetime", ("midnight",), "%Y-%m-%dT00:00:00Z"),  # the day's midnight
        column("datetime", ("noon",)),  # another clock: read
        column("date", ("eu",), "%d/%m/%Y"),  # another layout: read
        column("datetime", ("inner", "when")),  # a nested field
        column("text", ("at",)),
        column("money", ("amount",)),
        column("text", ("label",)),
        column("text", ("kind",)),
        column("money", ("lines", 0, "amount")),  # inside a constant: looked up
        column("text", ("absent",)),  # no such field
    ]


@functools.cache
def _shown() -> tuple[Render, list[tuple[Column, RenderRow]]]:
    """The reference renderer of :data:`SHOWN`, and each column with a one-call function of its own."""
    from mock_server.codegen import compile_record, compile_row
    from mock_server.records import Context

    def ctx() -> Context:
        return Context("synthetic", {"payment": "payment", "tenant": "tenant"}, SHOWN, "payment")

    return compile_record(SHOWN, ctx()), [(c, compile_row(SHOWN, ctx(), [c])) for c in _shown_columns()]


def _outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("stored", call())
    except ValueError as error:  # a text no column type reads
        return ("refused", str(error))


def _compare(created: Any, updated: Any, due: Any, paid: Any) -> list[Any]:
    """Each column's outcome, read from the rendered record and from its one-call function; returns the first."""
    render, columns = _shown()
    facts = {"created_at": created, "updated_at": updated, "due_date": due, "paid_at": paid}
    env = {"payment": {**facts, "amount": "12.30", "currency": "EUR", "phase": "settled"}}
    record = render(env)
    shown = orjson.dumps(record)
    expected = [_outcome(lambda c=column: (shown, c.extract(record))) for column, _ in columns]  # type: ignore[misc]
    got = [_outcome(lambda r=row: (orjson.dumps(r(env)[0]), r(env)[1][0])) for _, row in columns]  # type: ignore[misc]
    assert got == expected
    return [e[1][1] if e[0] == "stored" else e for e in expected]


@given(created=READABLE, updated=READABLE, due=READABLE, paid=READABLE)
def test_one_call_stores_what_reading_the_record_stores(created: int, updated: int, due: int, paid: int) -> None:
    expected = _compare(created, updated, due, paid)
    assert expected[0] == created
    assert expected[3] == time.strftime("%Y-%m-%d", time.gmtime(due))


@given(created=READABLE | ODD, updated=READABLE | ODD, due=READABLE | ODD, paid=READABLE | ODD)
def test_one_call_refuses_or_stores_as_reading_the_record_does(created: Any, updated: Any, due: Any, paid: Any) -> None:
    _compare(created, updated, due, paid)
