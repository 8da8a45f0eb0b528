"""How new records appear as the sandbox clock advances: the ``appear`` list of a lifecycle.

Each entry names, by ``every``, a kind of source records are made from (the ``APPEAR_RULES``
registry), and the status a new record starts in. ``every: subscription`` makes a payment for each
instalment of an active subscription whose creation moment the clock passes, one interval of the
subscription after another (``interval: subscription``, the only choice today). The payment is made
by :class:`~mock_server.world.instalments.Instalments` and rendered by the collection's own renderer;
the clock (:mod:`mock_server.lifecycle.clock`) inserts it in the same transaction that moves the
collection's records, so a new record whose moves are due moves in the same advance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mock_server.errors import SpecError, reject_unknown_keys
from mock_server.registry import Registry
from mock_server.world import Facts
from mock_server.world.instalments import instalment_moments

#: A source record's facts and a window ``(after, until]`` -> ``(number, moment)`` of each new
#: record it makes in the window.
Due = Callable[[Facts, int, int], list[tuple[int, int]]]


@dataclass(frozen=True, slots=True)
class Appear:
    """A declared way new records appear.

    Attributes:
        every: The kind of source record (a registry name: ``subscription``).
        status: The status a new record starts in.
        sources: The statuses of source records that make new ones (``active``).
        due: When a source record makes new records.
        moments: Facts set to the new record's creation moment besides its creation time (a
            payment that appears already submitted to a gateway, dated the day it appears).
    """

    every: str
    status: str
    sources: tuple[str, ...]
    due: Due
    moments: tuple[str, ...] = ()


#: Compiles an ``appear`` entry (its status already checked) into an :class:`Appear`.
AppearRule = Callable[[Mapping[str, Any], str, str], Appear]
APPEAR_RULES: Registry[AppearRule] = Registry("appear rule")
#: What ``interval`` may say: each instalment one interval of the subscription after the last.
INTERVALS = ("subscription",)


@APPEAR_RULES.register("subscription")
def _subscription(block: Mapping[str, Any], status: str, where: str) -> Appear:
    """A payment per instalment of a subscription in one of ``subscriptions`` (default: active)."""
    reject_unknown_keys(block, {"every", "status", "interval", "subscriptions", "moments"}, where)
    interval = block.get("interval", "subscription")
    if interval not in INTERVALS:
        raise SpecError(f"{where}.interval", f"unknown interval {interval!r}; available: {', '.join(INTERVALS)}")
    sources = block.get("subscriptions", ["active"])
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise SpecError(f"{where}.subscriptions", f"must be a list of subscription statuses, got {sources!r}")
    return Appear("subscription", status, tuple(sources), instalment_moments)


def load_appear(block: object, statuses: Mapping[str, Any], times: frozenset[str], where: str) -> tuple[Appear, ...]:
    """Compile a lifecycle's ``appear`` list (empty when absent).

    Raises:
        SpecError: An entry is not a mapping, names an unknown rule or status, or has unknown keys.
    """
    if block is None:
        return ()
    if not isinstance(block, list):
        raise SpecError(where, f"must be a list of {{every: ..., status: ...}} entries, got {block!r}")
    found = []
    for i, entry in enumerate(block):
        ewhere = f"{where}[{i}]"
        if not isinstance(entry, Mapping):
            raise SpecError(ewhere, f"must be a mapping with every ({', '.join(APPEAR_RULES)}), got {entry!r}")
        status = entry.get("status")
        if status not in statuses:
            raise SpecError(f"{ewhere}.status", f"unknown status {status!r}; declared: {', '.join(statuses)}")
        appear = APPEAR_RULES.get(entry.get("every"), f"{ewhere}.every")(entry, str(status), ewhere)
        moments = entry.get("moments", [])
        if not isinstance(moments, list) or not all(m in times for m in moments):
            allowed = ", ".join(sorted(times))
            raise SpecError(f"{ewhere}.moments", f"must be a list of moment facts ({allowed}), got {moments!r}")
        found.append(replace(appear, moments=tuple(moments)))
    return tuple(found)
