"""How the kit compares values, from the column types a document declares.

A column (``x-paymock.collections.<c>.columns``) names a field of a record and its type:
``text``, ``integer``, ``money`` (compared in minor units), ``date`` or ``datetime`` (compared
as instants). Filters and orders are judged on these values. The kit reads records and
parameter values here, with its own code: a reading bug shared with the mock would make the
judge agree with the judged.

A date given where a date-time is compared stands for the whole day: from its first second
(``gte``, and the start of an ``eq`` range) to its last (``lte``, the end of an ``eq`` range),
in UTC, as ``openapi/README.md`` documents for filters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

#: A path into a JSON document: keys and list indexes.
JsonPath = tuple[str | int, ...]

#: A value as the kit compares it: text, an integer (minor units, epoch seconds) or ``None``.
Value = str | int | None

#: Which end of a coarser value a bound takes (a date against a date-time).
Edge = Literal["start", "end"]

KINDS = ("text", "integer", "money", "date", "datetime")

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Unreadable(ValueError):
    """A value that is not one of its column's type (``'12,50'`` as money)."""


def lookup(doc: Any, path: JsonPath) -> Any:
    """The value at ``path`` in ``doc``, or ``None`` when any step is missing or null."""
    value = doc
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return None
        elif not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def _instant(text: str, layout: str | None, edge: Edge) -> int:
    if layout:
        moment = datetime.strptime(text, layout)
    elif _DAY.match(text):
        moment = datetime.fromisoformat(text)
        if edge == "end":
            moment += timedelta(days=1, seconds=-1)
    else:
        iso = text.replace("Z", "+00:00").replace("z", "+00:00").replace(" ", "T", 1)
        head, dot, rest = iso.partition(".")
        if dot:  # at most microseconds: nanoseconds are cut, as every client library does
            digits = len(rest) - len(rest.lstrip("0123456789"))
            iso = f"{head}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
        moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _day(text: str, layout: str | None) -> str:
    if layout:
        return datetime.strptime(text, layout).date().isoformat()
    if _DAY.match(text):
        return date.fromisoformat(text).isoformat()
    return datetime.fromtimestamp(_instant(text, None, "start"), UTC).date().isoformat()


def _cents(raw: Any) -> int:
    if isinstance(raw, bool):
        raise Unreadable(f"{raw!r} is not an amount")
    try:
        return int((Decimal(str(raw).strip()) * 100).to_integral_value())
    except InvalidOperation:
        raise Unreadable(f"{raw!r} is not an amount") from None


def read(kind: str, raw: Any, layout: str | None = None, edge: Edge = "start") -> Value:
    """The comparable value of ``raw`` for a column of type ``kind``.

    Args:
        kind: One of :data:`KINDS`.
        raw: A record's field, or a parameter value.
        layout: The strptime layout the document declares for the field (``parse``), if any.
        edge: For a date read as a date-time: its first or its last second.

    Raises:
        Unreadable: ``raw`` is not a value of that type.
    """
    if raw is None:
        return None
    try:
        if kind == "integer":
            if isinstance(raw, bool):
                raise Unreadable(f"{raw!r} is not an integer")
            return int(raw)
        if kind == "money":
            return _cents(raw)
        if kind == "datetime":
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                return int(raw)
            return _instant(str(raw).strip(), layout, edge)
        if kind == "date":
            return _day(str(raw).strip(), layout)
    except (ValueError, OverflowError) as exc:
        raise Unreadable(f"{raw!r} is not a {kind}: {exc}") from None
    return str(raw)


@dataclass(frozen=True, slots=True)
class Field:
    """A typed field of a record, as a column declares it.

    Attributes:
        name: The column's name in ``x-paymock``.
        path: Where the field sits in a record.
        kind: Its type (one of :data:`KINDS`).
        layout: The strptime layout of its text, when not ISO 8601.
    """

    name: str
    path: JsonPath
    kind: str = "text"
    layout: str | None = None

    def raw(self, item: Any) -> Any:
        """The field as the record shows it."""
        return lookup(item, self.path)

    def value(self, item: Any) -> Value:
        """The field's comparable value (``None`` when absent or null).

        Raises:
            Unreadable: The record shows something that is not of the field's type.
        """
        return read(self.kind, self.raw(item), self.layout)

    def bound(self, wire: str, edge: Edge = "start") -> Value:
        """A parameter value as a bound on this field (a date against a date-time: one end of its day).

        Raises:
            Unreadable: The parameter value is not of the field's type.
        """
        return read(self.kind, wire, None, edge)

    def shown(self) -> str:
        """``customer.id``: the field's path, as failures name it."""
        return ".".join(str(p) for p in self.path)


def wire_forms(field: Field, item: Any) -> list[str]:
    """Parameter values that name this item's value of ``field`` (before the parameter's schema has a say)."""
    raw = field.raw(item)
    stored = field.value(item)
    if stored is None:
        return []
    if field.kind == "money":
        return [str(raw), format(Decimal(int(stored)) / 100, "f")]
    if field.kind == "datetime":
        assert isinstance(stored, int)
        moment = datetime.fromtimestamp(stored, UTC)
        return [moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment.strftime("%Y-%m-%d")]
    if field.kind == "date":
        return [str(stored), f"{stored}T00:00:00Z"]
    return [str(stored)]


def satisfies(field: Field, op: str, wire: str, item: Any, null_literal: str | None = None) -> bool:
    """Whether ``item`` passes the filter ``op`` (``eq``, ``gte``, ``lte``) with parameter value ``wire``.

    ``eq`` with a date against a date-time field means "on that day". A record whose field
    cannot be read passes no filter.
    """
    try:
        stored = field.value(item)
    except Unreadable:
        return False
    if null_literal is not None and wire == null_literal:
        return stored is None
    if stored is None:
        return False
    try:
        start, end = field.bound(wire, "start"), field.bound(wire, "end")
    except Unreadable:
        return False
    if start is None or end is None:
        return False
    if op == "gte":
        return bool(stored >= start)  # type: ignore[operator]
    if op == "lte":
        return bool(stored <= end)  # type: ignore[operator]
    return bool(start <= stored <= end)  # type: ignore[operator]
