"""Filter and sort semantics on records as the API returns them.

A column (``x-paymock.collections.<c>.columns``) says where a field sits in a record and how it
compares: text, integer, money (minor units), date or date-time. Filter values for the
promises are taken from records actually returned, so that a filter is never trivially empty,
and they are sent in the form the parameter's own schema accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from contracts.declarations import FilterDecl, SortChoice, SortDecl, SortKey, lookup
from mock_server.columns import COLUMN_TYPES, SqlValue
from mock_server.spec import Column


def type_name(column: Column) -> str:
    """The declared type of a column (``text``, ``integer``, ``money``, ``date``, ``datetime``)."""
    for name in COLUMN_TYPES.names():
        if COLUMN_TYPES.get(name, "") is column.ctype:
            return name
    return "text"


def valid(schema: Mapping[str, Any], wire: str) -> bool:
    """Whether a query value (as text) is valid for a parameter's schema."""
    value: Any = wire
    kind = schema.get("type")
    try:
        if kind == "integer":
            value = int(wire)
        elif kind == "number":
            value = float(wire)
    except ValueError:
        return False
    return bool(OAS30Validator(dict(schema), format_checker=oas30_format_checker).is_valid(value))


def wire_values(flt: FilterDecl, item: Any) -> list[str]:
    """Parameter values that select ``item`` through ``flt``, in forms the parameter accepts."""
    stored = flt.column.extract(item)
    if stored is None:
        return [flt.null_literal] if flt.null_literal is not None else []
    kind = type_name(flt.column)
    raw = lookup(item, flt.column.path)
    candidates: list[str]
    if kind == "money":
        candidates = [str(raw), format(Decimal(int(stored)) / 100, "f")]
    elif kind == "datetime":
        moment = datetime.fromtimestamp(int(stored), UTC)
        candidates = [moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment.strftime("%Y-%m-%d")]
        if flt.op == "eq":
            candidates = candidates[:1]  # a date alone would mean the whole day: still true, but vaguer
    elif kind == "date":
        candidates = [str(stored), f"{stored}T00:00:00Z"]
    else:
        candidates = [str(stored)]
    return [c for c in dict.fromkeys(candidates) if valid(flt.schema, c)]


def holds(flt: FilterDecl, wire: str, item: Any) -> bool:
    """Whether ``item`` passes filter ``flt`` with value ``wire`` (the x-paymock semantics)."""
    stored = flt.column.extract(item)
    if flt.null_literal is not None and wire == flt.null_literal:
        return stored is None
    if stored is None:
        return False
    ctype = flt.column.ctype
    try:
        start, end = ctype.bound(wire, "start"), ctype.bound(wire, "end")
        if flt.op == "gte":
            return bool(start is not None and stored >= start)  # type: ignore[operator]
        if flt.op == "lte":
            return bool(end is not None and stored <= end)  # type: ignore[operator]
        if start != end:  # a date against a date-time column: the whole day
            return bool(start is not None and end is not None and start <= stored <= end)  # type: ignore[operator]
        return stored == start
    except (TypeError, ValueError):
        return False


def choices(filters: Sequence[FilterDecl], items: Sequence[Any]) -> dict[str, list[str]]:
    """For each filter parameter, values that select at least one of ``items`` (enums add theirs)."""
    out: dict[str, list[str]] = {}
    for flt in filters:
        values: list[str] = []
        for item in items:
            for wire in wire_values(flt, item):
                if wire not in values:
                    values.append(wire)
        for enum_value in flt.schema.get("enum", []):
            if str(enum_value) not in values:
                values.append(str(enum_value))
        if values:
            out[flt.param] = values
    return out


def filter_sets(
    values: Mapping[str, Sequence[str]], *, min_size: int = 0, max_size: int = 2
) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    """Draw a few filter parameters, each with one of its values."""

    @st.composite
    def draw(draw_value: st.DrawFn) -> tuple[tuple[str, str], ...]:
        names = draw_value(st.lists(st.sampled_from(sorted(values)), min_size=min_size, max_size=max_size, unique=True))
        return tuple((name, draw_value(st.sampled_from(list(values[name])))) for name in names)

    return draw()


def signed_orders(sort: SortDecl) -> st.SearchStrategy[SortChoice]:
    """Draw a signed-fields order: up to ``max_fields`` distinct fields, each ascending, descending or bare."""

    @st.composite
    def draw(draw_value: st.DrawFn) -> SortChoice:
        names = draw_value(
            st.lists(st.sampled_from(sorted(sort.fields)), min_size=1, max_size=sort.max_fields, unique=True)
        )
        return sort.signed([(name, draw_value(st.sampled_from(["asc", "desc", "bare"]))) for name in names])

    return draw()


def key_of(keys: Sequence[SortKey], item: Any) -> tuple[SqlValue, ...]:
    """The values an item is sorted by."""
    return tuple(k.column.extract(item) for k in keys)


def out_of_order(keys: Sequence[SortKey], a: Any, b: Any) -> bool:
    """Whether ``b`` may not follow ``a`` under ``keys`` (ties allowed; unknown nulls never blamed)."""
    for key, x, y in zip(keys, key_of(keys, a), key_of(keys, b), strict=True):
        if x == y:
            continue
        if x is None or y is None:
            return False  # where nulls sort is not declared
        try:
            before = x > y if key.descending else x < y  # type: ignore[operator]
        except TypeError:
            return False
        return not before
    return False
