"""Filter and sort semantics on records as the API returns them.

A column (``x-paymock.collections.<c>.columns``) says where a field sits in a record and how it
compares: text, integer, money (minor units), date or date-time. Filter values for the
promises are taken from records actually returned, so that a filter is never trivially empty,
and they are sent in the form the parameter's own schema accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from contracts.declarations import FilterDecl, SortKey
from contracts.semantics import Unreadable, Value, satisfies, wire_forms


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
    try:
        candidates = wire_forms(flt.field, item)
    except Unreadable:
        return []
    if not candidates and flt.field.raw(item) is None:
        return [flt.null_literal] if flt.null_literal is not None else []
    if flt.field.kind == "datetime" and flt.op == "eq":
        candidates = candidates[:1]  # a date alone would mean the whole day: still true, but vaguer
    return [c for c in dict.fromkeys(candidates) if valid(flt.schema, c)]


def holds(flt: FilterDecl, wire: str, item: Any) -> bool:
    """Whether ``item`` passes filter ``flt`` with value ``wire`` (the x-paymock semantics)."""
    return satisfies(flt.field, flt.op, wire, item, flt.null_literal)


def shown(flt: FilterDecl, item: Any) -> Value:
    """The item's value of the filtered field as the kit reads it (``None`` when unreadable)."""
    try:
        return flt.field.value(item)
    except Unreadable:
        return None


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


def key_of(keys: Sequence[SortKey], item: Any) -> tuple[Value, ...]:
    """The values an item is sorted by (``None`` for a value that cannot be read)."""
    out: list[Value] = []
    for key in keys:
        try:
            out.append(key.field.value(item))
        except Unreadable:
            out.append(None)
    return tuple(out)


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
