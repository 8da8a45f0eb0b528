"""The lifecycle vocabulary: every mistake is a load error naming the place and what is allowed;
a record's walk through its moves depends on where the clock goes, never on how it got there.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mock_server.errors import SpecError
from mock_server.lifecycle.clock import SandboxClock
from mock_server.lifecycle.schedule import parse_duration
from mock_server.sandbox import Sandbox
from mock_server.spec import load_api, openapi_dir
from mock_server.store.base import Condition
from mock_server.tables import table_spec
from mock_server.world.instalments import instalment_moments

WHERE = "openapi/flexportal.yaml: x-paymock.collections.payments.lifecycle"


def _moves(d: dict[str, Any]) -> dict[str, Any]:
    moves: dict[str, Any] = d["x-paymock"]["collections"]["payments"]["lifecycle"]["moves"]
    return moves


def _appear(d: dict[str, Any]) -> list[dict[str, Any]]:
    appear: list[dict[str, Any]] = d["x-paymock"]["collections"]["payments"]["lifecycle"]["appear"]
    return appear


CASES = [
    (
        "unknown rule",
        lambda d: _moves(d)["attempt"]["when"].update(rule="on"),
        f"{WHERE}.moves.attempt.when.rule: unknown when rule 'on'; available: after, at, within",
    ),
    (
        "unknown source status",
        lambda d: _moves(d)["settle"].update({"from": "sent"}),
        f"{WHERE}.moves.settle.from: unknown status 'sent'; declared: pending, processing, paid, failed, cancelled",
    ),
    (
        "unknown outcome status",
        lambda d: _moves(d)["retry"]["outcomes"].update(retried={}),
        f"{WHERE}.moves.retry.outcomes.retried: unknown status 'retried'; declared: pending,",
    ),
    (
        "bad duration",
        lambda d: _moves(d)["retry"]["when"].update(delay="3 days"),
        f"{WHERE}.moves.retry.when.delay: must be a duration like '2h' or '3d' (units: s, m, h, d, w), got '3 days'",
    ),
    (
        "unknown time fact",
        lambda d: _moves(d)["attempt"]["when"].update(fact="due"),
        f"{WHERE}.moves.attempt.when.fact: unknown time fact 'due'; available: cancelled_at, created_at, due_date,",
    ),
    (
        "unknown fact set",
        lambda d: _moves(d)["settle"]["outcomes"]["paid"].update(moments=["paid_on"]),
        f"{WHERE}.moves.settle.outcomes.paid.moments: unknown fact 'paid_on'; available: cancelled_at,",
    ),
    (
        "a range backwards",
        lambda d: _moves(d)["settle"]["when"].update(earliest="3d", latest="1h"),
        f"{WHERE}.moves.settle.when.latest: must not be shorter than earliest ('3d')",
    ),
    (
        "bad retries",
        lambda d: _moves(d)["retry"].update(retries=0),
        f"{WHERE}.moves.retry.retries: must be a positive integer, got 0",
    ),
    (
        "bad weight",
        lambda d: _moves(d)["settle"]["outcomes"]["failed"].update(weight=-1),
        f"{WHERE}.moves.settle.outcomes.failed.weight: must be a positive number, got -1",
    ),
    (
        "unknown overdue",
        lambda d: _moves(d)["retry"]["when"].update(overdue="later"),
        f"{WHERE}.moves.retry.when.overdue: unknown choice 'later'; available: fire, skip",
    ),
    (
        "unknown template fact",
        lambda d: _moves(d)["attempt"]["outcomes"]["processing"].update(derive={"reference": "{hexx}"}),
        f"{WHERE}.moves.attempt.outcomes.processing.derive.reference: unknown fact 'hexx'",
    ),
    (
        "no status column",
        lambda d: d["x-paymock"]["collections"]["payments"]["lifecycle"].update(column="state"),
        f"{WHERE}.column: must name the column holding the status, got 'state'; declared: status, customerId,",
    ),
    (
        "unknown key",
        lambda d: _moves(d)["settle"].update(after="1d"),
        f"{WHERE}.moves.settle: unknown key",
    ),
    (
        "unknown appear rule",
        lambda d: _appear(d)[0].update(every="invoice"),
        f"{WHERE}.appear[0].every: unknown appear rule 'invoice'; available: subscription",
    ),
    (
        "unknown appear moment",
        lambda d: _appear(d)[0].update(moments=["paid"]),
        f"{WHERE}.appear[0].moments: must be a list of moment facts (",
    ),
    (
        "unknown appear status",
        lambda d: _appear(d)[0].update(status="scheduled"),
        f"{WHERE}.appear[0].status: unknown status 'scheduled'; declared: pending, processing,",
    ),
    (
        "unknown appear interval",
        lambda d: _appear(d)[0].update(interval="30d"),
        f"{WHERE}.appear[0].interval: unknown interval '30d'; available: subscription",
    ),
    (
        "unknown appear key",
        lambda d: _appear(d)[0].update(rate="1d"),
        f"{WHERE}.appear[0]: unknown key",
    ),
    (
        "appear not a list",
        lambda d: d["x-paymock"]["collections"]["payments"]["lifecycle"].update(appear={"every": "subscription"}),
        f"{WHERE}.appear: must be a list of {{every: ..., status: ...}} entries",
    ),
    (
        "appear without a status column",
        lambda d: d["x-paymock"]["collections"]["payments"]["lifecycle"].update(moves={}, column=None),
        f"{WHERE}.column: must name the column holding the status, got None",
    ),
    (
        "a subscription lifecycle",
        lambda d: d["x-paymock"]["collections"]["subscriptions"].update(lifecycle={"moves": {}}),
        "x-paymock.collections.subscriptions.lifecycle: only payment collections move in sandbox time",
    ),
]


@pytest.mark.parametrize(("change", "message"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_lifecycle_mistakes_are_load_errors(tmp_path: Path, change: Any, message: str) -> None:
    document = yaml.safe_load((openapi_dir() / "flexportal.yaml").read_text())
    change(document)
    target = tmp_path / "flexportal.yaml"
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(SpecError) as info:
        load_api(target)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("3d", 259_200), ("1w", 604_800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text, "by") == seconds


@pytest.fixture(scope="module")
def clock(served: Sandbox) -> SandboxClock:
    """The in-process sandbox's clock (its walks change no store)."""
    return served.clock


DAY = 86_400


@given(cuts=st.lists(st.integers(min_value=1, max_value=20 * DAY), max_size=6), index=st.integers(0, 149))
def test_a_walk_ends_where_the_clock_ends_however_it_is_cut(clock: SandboxClock, cuts: list[int], index: int) -> None:
    # Given a payment of any status, walked to one moment at once and through any cuts on the way
    api = clock.specs["flexportal"]
    collection = api.collections["payments"]
    assert collection.lifecycle is not None
    row = clock.store.select(collection.table, 1, [], [], 1, offset=index)[0]
    facts = dict(_facts(clock, collection.table, row[1]))
    end = clock.as_of + 40 * DAY
    once = dict(facts)
    clock.walk("flexportal", 1, collection, collection.lifecycle, once, end)
    stepped = dict(facts)
    for moment in sorted(clock.as_of + c for c in cuts):
        clock.walk("flexportal", 1, collection, collection.lifecycle, stepped, moment)
    clock.walk("flexportal", 1, collection, collection.lifecycle, stepped, end)
    # Then both are the same record
    assert stepped == once


def _facts(clock: SandboxClock, table: str, id_: str) -> dict[str, Any]:
    """A record's stored facts, read through a revision that changes nothing."""
    captured: dict[str, Any] = {}

    def peek(facts: dict[str, Any]) -> None:
        captured.update(facts)

    spec = next(table_spec(c) for s in clock.specs.values() for c in s.collections.values() if c.table == table)
    clock.store.revise(spec, 1, [Condition("id", "eq", (id_,))], peek)
    return captured


@given(cuts=st.lists(st.integers(1, 400 * 86_400), max_size=6), interval=st.sampled_from(["week", "month", "year"]))
def test_instalments_fall_in_one_window_whatever_the_cuts(cuts: list[int], interval: str) -> None:
    subscription = {"interval": interval, "started_at": 1_700_000_000}
    start, end = 1_700_000_000 + 86_400 * 40, 1_700_000_000 + 86_400 * 800
    bounds = [start, *sorted(min(start + c, end) for c in cuts), end]
    pieces = [m for a, b in itertools.pairwise(bounds) for m in instalment_moments(subscription, a, b)]
    whole = instalment_moments(subscription, start, end)
    assert pieces == whole and whole
    assert all(start < moment <= end for _, moment in whole)
    assert [n for n, _ in whole] == list(range(whole[0][0], whole[0][0] + len(whole)))


def _utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("interval", "started", "expected"),
    [
        # A month is a calendar month: the 31st bills on the last day of shorter months.
        ("month", "2026-01-31T09:30:00", ["2026-02-28T09:30:00", "2026-03-31T09:30:00", "2026-04-30T09:30:00"]),
        ("year", "2024-02-29T00:00:00", ["2025-02-28T00:00:00", "2026-02-28T00:00:00", "2027-02-28T00:00:00"]),
        ("week", "2026-01-31T09:30:00", ["2026-02-07T09:30:00", "2026-02-14T09:30:00", "2026-02-21T09:30:00"]),
    ],
)
def test_instalments_follow_the_calendar(interval: str, started: str, expected: list[str]) -> None:
    subscription = {"interval": interval, "started_at": _utc(started)}
    found = instalment_moments(subscription, _utc(started), _utc(expected[-1]))
    assert found == [(n, _utc(moment)) for n, moment in enumerate(expected, start=1)]
