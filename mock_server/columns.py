"""Column types: how a record field is stored for filtering and sorting.

Each type also turns a parameter value into something comparable with the stored one.

Stored forms are chosen so that every store's own ordering is the right one: money as integer
minor units, date-times as epoch seconds, dates as ISO text. A type declares only which of the
store's kinds it is stored as (``text`` or ``integer``); each backend picks its own SQL type.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from mock_server.registry import Registry

SqlValue = str | int | float | None


@dataclass(frozen=True, slots=True)
class ColumnType:
    """How one kind of column stores and compares values.

    Attributes:
        stored: How the store keeps it: ``"text"`` or ``"integer"`` (64-bit).
        load: Turns a value from a rendered record (plus an optional strptime pattern) into the stored form.
        bound: Turns a parameter value into the stored form; ``edge`` is ``"start"`` or ``"end"``
            for range filters on a coarser value (a date used against a date-time column).
    """

    stored: str
    load: Callable[[Any, str | None], SqlValue]
    bound: Callable[[Any, str], SqlValue]


COLUMN_TYPES: Registry[ColumnType] = Registry("column type")

MONEY_LIMIT = 2**62
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _text(value: Any, parse: str | None = None) -> SqlValue:
    return None if value is None else str(value)


def _integer(value: Any, parse: str | None = None) -> SqlValue:
    return None if value is None else int(value)


def _money(value: Any, parse: str | None = None) -> SqlValue:
    kind = type(value)
    if kind is not float and kind is not str:
        return None if value is None else _cents(value)
    known = _CENTS.get(value)
    if known is None:
        known = _cents(value)
        if known is not None:
            if len(_CENTS) >= 100_000:  # bounded, whatever amounts a long-running server stores
                _CENTS.clear()
            _CENTS[value] = known
    return known


#: Cents of the float and text amounts already read: a world has a few thousand distinct
#: amounts, and a million payments show up to five each (a lookup is a fifth of reading one).
_CENTS: dict[float | str, int] = {}


def _cents(value: Any) -> int | None:
    if type(value) is float and -1e13 < value < 1e13:
        rounded = round(value * 100)
        if rounded / 100 == value:  # the float of a two-decimal amount: exactly what Decimal would read
            return rounded
    text = str(value)  # a float prints its shortest form: 123.45, not 123.4500000001
    cents = _plain_cents(text)
    if cents is None:
        try:
            cents = int((Decimal(text) * 100).to_integral_value())
        except InvalidOperation:
            return None
    # Clamped to what a store's 64-bit integer holds: an amount this large matches nothing, in order.
    return max(-MONEY_LIMIT, min(MONEY_LIMIT, cents))


def _plain_cents(text: str) -> int | None:
    """Cents of ``123``, ``-4.5`` or ``0.07`` without Decimal (seeding reads millions); None otherwise."""
    whole, dot, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    digits = whole[1:] if sign < 0 else whole
    if not (digits.isascii() and digits.isdigit()) or len(frac) > 2:
        return None
    if frac and not (frac.isascii() and frac.isdigit()):
        return None
    if dot and not frac:
        return None  # "12." is Decimal's to judge
    return sign * (int(digits) * 100 + int(frac.ljust(2, "0")))


#: Layouts read without strptime: layout -> (separators between date and time, allowed suffixes).
#: ``None`` is ISO 8601 as :func:`parse_instant` reads it (``T`` or a space, ``Z`` or no offset).
_FAST_LAYOUTS: dict[str | None, tuple[str, tuple[str, ...]]] = {
    None: ("T ", ("", "Z", "z")),
    "%Y-%m-%d %H:%M:%S": (" ", ("",)),
    "%Y-%m-%dT%H:%M:%S": ("T", ("",)),
    "%Y-%m-%dT%H:%M:%SZ": ("T", ("Z",)),
}


def _fast_instant(text: str, parse: str | None) -> int | None:
    """Epoch seconds of ``YYYY-MM-DD?HH:MM:SS[Z]`` in a layout of :data:`_FAST_LAYOUTS`; None: not that shape.

    The shape is checked here and the digits read by ``datetime.fromisoformat`` (C, and five
    times quicker than reading them in Python; seeding reads millions). Anything it does not
    recognise goes to the general parser, which also words the errors.
    """
    layout = _FAST_LAYOUTS.get(parse)
    if layout is None or len(text) not in (19, 20):
        return None
    separators, suffixes = layout
    if (
        text[19:] not in suffixes
        or text[10] not in separators
        or text[4] != "-"
        or text[7] != "-"
        or text[13] != ":"
        or text[16] != ":"
        or not text.isascii()
    ):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    # UTC either way (a Z, or no offset): days and seconds add up without timestamp()'s tz arithmetic.
    return (moment.toordinal() - _EPOCH_ORDINAL) * 86_400 + moment.hour * 3600 + moment.minute * 60 + moment.second


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

#: Instants whose strftime text has a four-digit year, 1970-01-01 to 9999-12-31: where
#: :func:`reads_back` holds (strftime writes years before 1000 with fewer digits).
READ_BACK_RANGE = range(0, 253_402_300_800)


#: Day layouts that a datetime column reads as the day's midnight, UTC.
_MIDNIGHT_LAYOUTS = frozenset({"%Y-%m-%d", "%Y-%m-%dT00:00:00Z", "%Y-%m-%dT00:00:00", "%Y-%m-%d 00:00:00"})


def reads_back(ctype: ColumnType, parse: str | None, pattern: str) -> str | None:
    """Whether a column stores an instant shown with strftime ``pattern`` without reading the text back.

    For instants of :data:`READ_BACK_RANGE`: ``"instant"``, a datetime column stores the instant
    itself; ``"midnight"``, a datetime column stores the instant's day at midnight; ``"text"``,
    a date column stores the shown text as it is; None, neither (the text must be read).
    Generated renderers (:mod:`mock_server.codegen`) skip the reading where this says so.
    """
    if ctype is COLUMN_TYPES.get("datetime", "reads_back") and parse in (None, pattern):
        if pattern in _FAST_LAYOUTS:
            return "instant"  # what _fast_instant reads exactly, to the second
        if pattern in _MIDNIGHT_LAYOUTS:
            return "midnight"  # an ISO date, or a date-time whose clock is written as zeros
    if ctype is COLUMN_TYPES.get("date", "reads_back") and pattern == "%Y-%m-%d" and parse in (None, pattern):
        return "text"  # parse_day keeps an ISO date as it is
    return None


def normalize_iso(text: str) -> str:
    """Rewrite an ISO 8601 date-time into what :meth:`datetime.fromisoformat` reads.

    ``Z`` becomes ``+00:00``, and fractions keep six digits (nanoseconds are truncated, not refused).
    """
    text = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if not dot:
        return text
    digits = "".join(c for c in rest[:12] if c.isdigit())
    return f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"


def parse_instant(value: Any, parse: str | None = None, edge: str = "start") -> int | None:
    """Epoch seconds of an ISO 8601 date or date-time (or of ``parse``'s layout); UTC if no offset."""
    if isinstance(value, str):  # the common case first: seeding reads millions
        fast = _fast_instant(value, parse)
        if fast is not None:
            return fast
    elif value is None:
        return None
    elif isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    fast = _fast_instant(text, parse)
    if fast is not None:
        return fast
    if parse:
        moment = datetime.strptime(text, parse)
    elif _DATE_ONLY.match(text):
        moment = datetime.fromisoformat(text)
        if edge == "end":
            return int(moment.replace(tzinfo=UTC).timestamp()) + 86_399
    else:
        moment = datetime.fromisoformat(normalize_iso(text).replace(" ", "T"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def parse_day(value: Any, parse: str | None = None) -> str | None:
    """ISO ``YYYY-MM-DD`` of a date, a date-time (its UTC date), or ``parse``'s layout."""
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    text = str(value).strip()
    if parse:
        return _strptime_day(text, parse)
    if _DATE_ONLY.match(text):
        return text
    instant = parse_instant(text)
    assert instant is not None
    return datetime.fromtimestamp(instant, UTC).date().isoformat()


@lru_cache(maxsize=8192)
def _strptime_day(text: str, parse: str) -> str:
    # A world has a few hundred distinct days and a million records that show them: strptime
    # once per day, not once per record. (Refusals raise and are not cached.)
    return datetime.strptime(text, parse).date().isoformat()


COLUMN_TYPES.register("text")(ColumnType("text", _text, lambda v, edge: _text(v)))
COLUMN_TYPES.register("integer")(ColumnType("integer", _integer, lambda v, edge: _integer(v)))
COLUMN_TYPES.register("money")(ColumnType("integer", _money, lambda v, edge: _money(v)))
COLUMN_TYPES.register("datetime")(
    ColumnType("integer", lambda v, p: parse_instant(v, p), lambda v, edge: parse_instant(v, None, edge))
)
COLUMN_TYPES.register("date")(ColumnType("text", parse_day, lambda v, edge: parse_day(v)))
