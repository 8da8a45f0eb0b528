"""How a collection's records move in sandbox time: the ``lifecycle`` block of a collection.

A lifecycle is a set of named moves. Each move leaves some statuses at a moment computed from
the record's own facts (``when``: at a fact's moment, a fixed delay after it, or at a drawn
moment within a range after it), and ends in one of its weighted outcomes (another status, some
facts set to the moment, some to given values or copied from other facts). A move may declare
how many times one record may take it (``retries``).

Everything is compiled at load into plain values and closures; :mod:`mock_server.lifecycle.clock`
walks them. A move's moment and its outcome are drawn from a generator keyed by the seed, the
record and the move (never by the order of work), so one long advance gives what many short
ones give.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mock_server.errors import SpecError, reject_unknown_keys
from mock_server.lifecycle.appear import Appear, load_appear
from mock_server.registry import Registry

#: Duration units and their seconds: ``90s``, ``30m``, ``2h``, ``3d``, ``1w``.
UNITS: Mapping[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"^(\d+)([smhdw])$")
#: What becomes of a move whose moment fell before the world's as-of moment (the sandbox's first).
OVERDUE = ("fire", "skip")
#: The fact a record keeps how many times it took each move in (move name -> count).
TAKEN = "moves"
#: The fact counting a record's changes after the world was made (every move, every transition);
#: a document shows it where the vendor keeps a revision counter (``map: ..., plus: payment.revision``).
REVISION = "revision"


def parse_duration(value: object, where: str) -> int:
    """Seconds of a duration written ``<n><unit>`` (units: s, m, h, d, w).

    Raises:
        SpecError: ``value`` is not such a duration.
    """
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise SpecError(where, f"must be a duration like '2h' or '3d' (units: {', '.join(UNITS)}), got {value!r}")
    return int(match[1]) * UNITS[match[2]]


#: A record's facts and a uniform draw in [0, 1) -> the moment a move is scheduled at, or ``None``.
#: The draw is a function, called only by a rule that needs one: the clock walks hundreds of
#: thousands of records, and most rules (``at``, ``after``) need none.
Schedule = Callable[[Mapping[str, Any], Callable[[], float]], int | None]
#: Compiles a ``when`` block (its facts checked against ``facts``) into a :data:`Schedule`.
WhenRule = Callable[[Mapping[str, Any], frozenset[str], str], Schedule]
WHEN_RULES: Registry[WhenRule] = Registry("when rule")


def _fact(block: Mapping[str, Any], facts: frozenset[str], where: str) -> str:
    fact = block.get("fact")
    if fact not in facts:
        raise SpecError(f"{where}.fact", f"unknown time fact {fact!r}; available: {', '.join(sorted(facts))}")
    return str(fact)


@WHEN_RULES.register("at")
def _at(block: Mapping[str, Any], facts: frozenset[str], where: str) -> Schedule:
    """At the moment a fact holds (a payment's due date)."""
    reject_unknown_keys(block, {"rule", "fact", "overdue"}, where)
    fact = _fact(block, facts, where)
    return lambda record, _: record.get(fact)


@WHEN_RULES.register("after")
def _after(block: Mapping[str, Any], facts: frozenset[str], where: str) -> Schedule:
    """A fixed delay after the moment a fact holds."""
    reject_unknown_keys(block, {"rule", "fact", "delay", "overdue"}, where)
    fact = _fact(block, facts, where)
    delay = parse_duration(block.get("delay"), f"{where}.delay")

    def schedule(record: Mapping[str, Any], _: Callable[[], float]) -> int | None:
        start = record.get(fact)
        return None if start is None else int(start) + delay

    return schedule


@WHEN_RULES.register("within")
def _within(block: Mapping[str, Any], facts: frozenset[str], where: str) -> Schedule:
    """A drawn moment between ``earliest`` and ``latest`` after the moment a fact holds."""
    reject_unknown_keys(block, {"rule", "fact", "earliest", "latest", "overdue"}, where)
    fact = _fact(block, facts, where)
    earliest = parse_duration(block.get("earliest"), f"{where}.earliest")
    latest = parse_duration(block.get("latest"), f"{where}.latest")
    if latest < earliest:
        raise SpecError(f"{where}.latest", f"must not be shorter than earliest ({block.get('earliest')!r})")

    def schedule(record: Mapping[str, Any], draw: Callable[[], float]) -> int | None:
        start = record.get(fact)
        return None if start is None else int(start) + earliest + int(draw() * (latest - earliest))

    return schedule


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a move may end.

    Attributes:
        status: The status the record gets.
        weight: Its share among the move's outcomes.
        moments: Facts set to the moment of the move.
        values: Facts set to these values (``None`` clears one).
        copies: Fact -> the fact whose value it takes.
        derived: Fact -> a template over the record's facts (``"{hex:.12}"``) it is set to.
        remapped: Fact -> (its value -> the value it gets); a value not listed is kept.
    """

    status: str
    weight: float
    moments: tuple[str, ...]
    values: Mapping[str, Any]
    copies: Mapping[str, str]
    derived: Mapping[str, str]
    remapped: Mapping[str, Mapping[Any, Any]]


@dataclass(frozen=True, slots=True)
class Move:
    """A declared move of a lifecycle.

    Attributes:
        name: Its name in the document (``collect``), part of every draw's key.
        sources: The statuses a record leaves by it.
        schedule: When it is due for one record.
        overdue: ``fire`` (at the as-of moment) or ``skip`` a move due before the as-of moment.
        outcomes: Where it may end; drawn by weight when there are several.
        retries: How many times one record may take it (``None``: no limit).
        only: Fact -> the values it must hold for a record to take the move (empty: every record).
    """

    name: str
    sources: tuple[str, ...]
    schedule: Schedule
    overdue: str
    outcomes: tuple[Outcome, ...]
    retries: int | None
    only: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def applies(self, record: Mapping[str, Any]) -> bool:
        """Whether a record's facts hold the values :attr:`only` asks for."""
        return all(record.get(fact) in values for fact, values in self.only.items())

    def pick(self, draw: float) -> Outcome:
        """The outcome a uniform draw in [0, 1) falls on, by weight in declaration order."""
        total = sum(o.weight for o in self.outcomes)
        point = draw * total
        for outcome in self.outcomes:
            point -= outcome.weight
            if point < 0:
                return outcome
        return self.outcomes[-1]


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """A collection's declared lifecycle.

    Attributes:
        column: The collection's column holding the status (where records to move are found).
        moves: The moves, in declaration order (which breaks ties between moves due at one moment).
        invoice_column: The column every record of one invoice holds the same value in, when the
            records show their invoice's outstanding amount: a move that changes what a record
            applies to its invoice (``invoice_applied``) changes what every record of that invoice shows.
        appear: How new records appear as the clock passes their creation moments
            (:mod:`mock_server.lifecycle.appear`), in declaration order.
        by_status: Status -> the moves leaving it (derived from ``moves``).
    """

    column: str | None
    moves: tuple[Move, ...]
    invoice_column: str | None = None
    appear: tuple[Appear, ...] = ()
    by_status: Mapping[str, tuple[Move, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Looked up for every record the clock walks: made once.
        leaving = {s: tuple(m for m in self.moves if s in m.sources) for s in self.sources}
        object.__setattr__(self, "by_status", leaving)

    def leaving(self, status: str) -> tuple[Move, ...]:
        """The moves a record of this status may take."""
        return self.by_status.get(status, ())

    @property
    def sources(self) -> tuple[str, ...]:
        """Every status some move leaves, in declaration order."""
        return tuple(dict.fromkeys(s for m in self.moves for s in m.sources))


def _statuses(value: object, statuses: Mapping[str, Any], where: str) -> tuple[str, ...]:
    names = value if isinstance(value, list) else [value]
    for name in names:
        if name not in statuses:
            raise SpecError(where, f"unknown status {name!r}; declared: {', '.join(statuses)}")
    return tuple(str(n) for n in names)


def _facts(value: object, allowed: frozenset[str], where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SpecError(where, f"must be a list of facts, got {value!r}")
    for fact in value:
        if fact not in allowed:
            raise SpecError(where, f"unknown fact {fact!r}; available: {', '.join(sorted(allowed))}")
    return tuple(str(f) for f in value)


def _outcome(
    status: str, block: object, statuses: Mapping[str, Any], facts: frozenset[str], times: frozenset[str], where: str
) -> Outcome:
    _statuses(status, statuses, where)
    if block is None:
        block = {}
    if not isinstance(block, Mapping):
        raise SpecError(where, f"must be a mapping, got {block!r}")
    reject_unknown_keys(block, {"weight", "moments", "values", "copy", "derive", "remap"}, where)
    weight = block.get("weight", 1)
    if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
        raise SpecError(f"{where}.weight", f"must be a positive number, got {weight!r}")
    values = block.get("values", {})
    if not isinstance(values, Mapping):
        raise SpecError(f"{where}.values", f"must map facts to values, got {values!r}")
    _facts(list(values), facts, f"{where}.values")
    copies = block.get("copy", {})
    if not isinstance(copies, Mapping):
        raise SpecError(f"{where}.copy", f"must map facts to the facts they copy, got {copies!r}")
    _facts(list(copies), facts, f"{where}.copy")
    _facts(list(copies.values()), facts, f"{where}.copy")
    derived = block.get("derive", {})
    if not isinstance(derived, Mapping):
        raise SpecError(f"{where}.derive", f"must map facts to templates, got {derived!r}")
    _facts(list(derived), facts, f"{where}.derive")
    for fact, template in derived.items():
        if not isinstance(template, str):
            raise SpecError(f"{where}.derive.{fact}", f"must be a template string, got {template!r}")
        try:
            used = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        except ValueError as exc:
            raise SpecError(f"{where}.derive.{fact}", f"malformed template {template!r}: {exc}") from None
        _facts(used, facts, f"{where}.derive.{fact}")
    remapped = block.get("remap", {})
    if not isinstance(remapped, Mapping) or not all(isinstance(m, Mapping) for m in remapped.values()):
        raise SpecError(f"{where}.remap", f"must map facts to {{old value: new value}} mappings, got {remapped!r}")
    _facts(list(remapped), facts, f"{where}.remap")
    return Outcome(
        status=status,
        weight=float(weight),
        moments=_facts(block.get("moments", []), times, f"{where}.moments"),
        values=dict(values),
        copies={str(k): str(v) for k, v in copies.items()},
        derived={str(k): str(v) for k, v in derived.items()},
        remapped={str(k): dict(v) for k, v in remapped.items()},
    )


def _move(
    name: str, block: object, statuses: Mapping[str, Any], facts: frozenset[str], times: frozenset[str], where: str
) -> Move:
    if not isinstance(block, Mapping):
        raise SpecError(where, f"must be a mapping, got {block!r}")
    reject_unknown_keys(block, {"from", "when", "outcomes", "retries", "only"}, where)
    if "from" not in block:
        raise SpecError(f"{where}.from", "missing: the statuses this move leaves")
    sources = _statuses(block["from"], statuses, f"{where}.from")
    when = block.get("when")
    if not isinstance(when, Mapping):
        raise SpecError(f"{where}.when", f"must be a mapping with a rule ({', '.join(WHEN_RULES)}), got {when!r}")
    schedule = WHEN_RULES.get(when.get("rule"), f"{where}.when.rule")(when, times, f"{where}.when")
    overdue = when.get("overdue", "fire")
    if overdue not in OVERDUE:
        raise SpecError(f"{where}.when.overdue", f"unknown choice {overdue!r}; available: {', '.join(OVERDUE)}")
    outcomes = block.get("outcomes")
    if not isinstance(outcomes, Mapping) or not outcomes:
        raise SpecError(f"{where}.outcomes", f"must map one or more statuses to outcomes, got {outcomes!r}")
    retries = block.get("retries")
    if retries is not None and (not isinstance(retries, int) or isinstance(retries, bool) or retries < 1):
        raise SpecError(f"{where}.retries", f"must be a positive integer, got {retries!r}")
    only = block.get("only", {})
    if not isinstance(only, Mapping) or not all(isinstance(v, list) for v in only.values()):
        raise SpecError(f"{where}.only", f"must map facts to lists of the values a record must hold, got {only!r}")
    _facts(list(only), facts, f"{where}.only")
    return Move(
        name=name,
        sources=sources,
        schedule=schedule,
        overdue=str(overdue),
        outcomes=tuple(
            _outcome(str(s), o, statuses, facts, times, f"{where}.outcomes.{s}") for s, o in outcomes.items()
        ),
        retries=retries,
        only={str(k): tuple(v) for k, v in only.items()},
    )


def load_lifecycle(
    block: object,
    statuses: Mapping[str, Any],
    columns: Mapping[str, Any],
    facts: frozenset[str],
    times: frozenset[str],
    where: str,
) -> Lifecycle | None:
    """Compile a collection's ``lifecycle`` block (``None`` when it declares none).

    Args:
        block: The block as written.
        statuses: The collection's declared statuses.
        columns: The collection's declared columns.
        facts: Facts of its records an outcome may set.
        times: Facts holding moments (what ``when`` and ``moments`` may name).
        where: The block's place in the document, for errors.

    Raises:
        SpecError: Anything in the block is unknown or malformed; the message names the key and
            what is allowed.
    """
    if block is None:
        return None
    if not isinstance(block, Mapping):
        raise SpecError(where, f"must be a mapping, got {block!r}")
    reject_unknown_keys(block, {"column", "moves", "invoice-column", "appear"}, where)
    moves_block = block.get("moves", {})
    if not isinstance(moves_block, Mapping):
        raise SpecError(f"{where}.moves", f"must map move names to moves, got {moves_block!r}")
    moves = tuple(_move(str(n), m, statuses, facts, times, f"{where}.moves.{n}") for n, m in moves_block.items())
    column = block.get("column")
    appear = load_appear(block.get("appear"), statuses, times, f"{where}.appear")
    if (moves or appear) and column not in columns:
        raise SpecError(
            f"{where}.column",
            f"must name the column holding the status, got {column!r}; declared: {', '.join(columns)}",
        )
    invoice_column = block.get("invoice-column")
    if invoice_column is not None and invoice_column not in columns:
        raise SpecError(
            f"{where}.invoice-column",
            f"must name the column holding each record's invoice, got {invoice_column!r}; "
            f"declared: {', '.join(columns)}",
        )
    return Lifecycle(
        column=str(column) if moves or appear else None,
        moves=moves,
        invoice_column=None if invoice_column is None else str(invoice_column),
        appear=appear,
    )
