"""Column loaders: the shortcuts taken for speed give exactly what the general parsers give."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mock_server.columns import COLUMN_TYPES, MONEY_LIMIT, parse_instant

MONEY = COLUMN_TYPES.get("money", "test").load
LAYOUTS = [None, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"]


def _general_instant(text: str, layout: str | None) -> int | None:
    """What parse_instant gave before its shortcut: datetime's own parsers."""
    try:
        if layout:
            moment = datetime.strptime(text.strip(), layout)
        else:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _instant_or_none(text: str, layout: str | None) -> int | None:
    try:
        return parse_instant(text, layout)
    except ValueError:
        return None


moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1))


@pytest.mark.parametrize("layout", LAYOUTS)
@given(moment=moments)
def test_well_formed_instants_read_as_datetime_reads_them(layout: str | None, moment: datetime) -> None:
    for text in (moment.strftime(layout or "%Y-%m-%dT%H:%M:%SZ"), moment.strftime("%Y-%m-%d %H:%M:%S")):
        assert _instant_or_none(text, layout) == _general_instant(text, layout)


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """A well-formed date-time with one character replaced: 24:00:00, 2026-02-30, a letter, ..."""
    text = draw(moments).strftime(draw(st.sampled_from(["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S"])))
    at = draw(st.integers(0, len(text) - 1))
    return text[:at] + draw(st.sampled_from(list("0123456789-: TZz+٣"))) + text[at + 1 :]


@pytest.mark.parametrize("layout", LAYOUTS)
@given(text=near_misses())
@example(text="2026-01-02 03:04:60").via("a leap second")
@example(text="2026-02-30 03:04:05").via("no such day")
@example(text="2026-01-02 24:00:00").via("hour 24")
def test_near_miss_instants_are_judged_by_the_general_parser(layout: str | None, text: str) -> None:
    # A shortcut must never accept what datetime refuses, nor read a value differently.
    assert _instant_or_none(text, layout) == _general_instant(text, layout)


def _decimal_cents(text: str) -> int | None:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    if amount.copy_abs() >= Decimal(MONEY_LIMIT) / 100:  # what a store can hold, in order (before scaling overflows)
        return MONEY_LIMIT if amount > 0 else -MONEY_LIMIT
    return int((amount * 100).to_integral_value())


@given(
    value=st.one_of(
        st.integers(-(10**12), 10**12),
        st.decimals(places=2, min_value=-(10**9), max_value=10**9).map(float),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e14, max_value=1e14),
        st.decimals(places=3, min_value=-1000, max_value=1000).map(float),  # half cents
        st.text(alphabet="0123456789.-+e٣ ", max_size=12),
    )
)
@example(value=-81.885).via("a half cent whose float times 100 rounds the other way")
@example(value=0.125).via("a float exactly on a half cent")
@example(value="269.10").via("an amount as text, as two APIs show them")
@example(value=69.0).via("an amount as a number")
@example(value="1e999999999").via("an amount past Decimal's exponent limit once scaled")
@example(value="-1e99999999").via("an amount of a hundred million digits")
def test_money_shortcut_agrees_with_decimal(value: object) -> None:
    assert MONEY(value, None) == _decimal_cents(str(value))
    assert MONEY(value, None) == _decimal_cents(str(value))  # again: now from the amounts already read
