"""When a fault rule fires, keyed by name: ``always``, ``first-n``, ``every-nth``, ``probability``, ``once``.

A schedule sees only the 1-based number of the request among those the rule matched (counted in
the shared control state, so every worker agrees on it). A probability schedule draws from a
generator keyed by the rule's seed and that number, never by time or worker: the same rules, seed
and sequence of requests give the same faults.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mock_server.errors import SpecError, reject_unknown_keys
from mock_server.registry import Registry


class Schedule(Protocol):
    """Decides whether the n-th matching request gets the fault."""

    def fires(self, n: int, seed: int) -> bool:
        """Whether request number ``n`` (1-based, among the matching ones) gets the fault."""
        ...

    def describe(self) -> dict[str, Any]:
        """The schedule as written (for listings)."""
        ...


class ScheduleKind(Protocol):
    """A schedule class: compiles its block."""

    def load(self, block: Mapping[str, Any], where: str) -> Schedule:
        """Compile ``block`` (at ``where``, for errors)."""
        ...


SCHEDULES: Registry[ScheduleKind] = Registry("schedule")


def draw(seed: int, n: int) -> random.Random:
    """The generator of the n-th matching request of a rule with this seed."""
    # A string seed is hashed with SHA-512 by `random`: stable across processes and runs.
    return random.Random(f"paymock-fault:{seed}:{n}")


def _count(block: Mapping[str, Any], where: str) -> int:
    value = block.get("n")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{where}.n", f"must be a whole number of requests >= 1, got {value!r}")
    return value


@SCHEDULES.register("always")
@dataclass(frozen=True, slots=True)
class Always:
    """Every matching request."""

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> Always:
        """No parameters."""
        reject_unknown_keys(block, {"when"}, where)
        return cls()

    def fires(self, n: int, seed: int) -> bool:
        """Always."""
        return True

    def describe(self) -> dict[str, Any]:
        """As written."""
        return {"when": "always"}


@SCHEDULES.register("first-n")
@dataclass(frozen=True, slots=True)
class FirstN:
    """The first ``n`` matching requests, then never: ``{when: first-n, n: 2}``."""

    n: int

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> FirstN:
        """Read ``n``."""
        reject_unknown_keys(block, {"when", "n"}, where)
        return cls(_count(block, where))

    def fires(self, n: int, seed: int) -> bool:
        """While the count is at most ``n``."""
        return n <= self.n

    def describe(self) -> dict[str, Any]:
        """As written."""
        return {"when": "first-n", "n": self.n}


@SCHEDULES.register("once")
@dataclass(frozen=True, slots=True)
class Once:
    """The first matching request only ("page 3 of this walk fails once")."""

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> Once:
        """No parameters."""
        reject_unknown_keys(block, {"when"}, where)
        return cls()

    def fires(self, n: int, seed: int) -> bool:
        """On the first match."""
        return n == 1

    def describe(self) -> dict[str, Any]:
        """As written."""
        return {"when": "once"}


@SCHEDULES.register("every-nth")
@dataclass(frozen=True, slots=True)
class EveryNth:
    """Every ``n``-th matching request (the n-th, 2n-th, ...): ``{when: every-nth, n: 3}``."""

    n: int

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> EveryNth:
        """Read ``n``."""
        reject_unknown_keys(block, {"when", "n"}, where)
        return cls(_count(block, where))

    def fires(self, n: int, seed: int) -> bool:
        """On multiples of ``n``."""
        return n % self.n == 0

    def describe(self) -> dict[str, Any]:
        """As written."""
        return {"when": "every-nth", "n": self.n}


@SCHEDULES.register("probability")
@dataclass(frozen=True, slots=True)
class Probability:
    """Each matching request with probability ``p``, seeded: ``{when: probability, p: 0.2}``.

    The draw for request n depends only on the rule's seed and n.
    """

    p: float

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> Probability:
        """Read ``p``."""
        reject_unknown_keys(block, {"when", "p"}, where)
        p = block.get("p")
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            raise SpecError(f"{where}.p", f"must be a probability between 0 and 1, got {p!r}")
        return cls(float(p))

    def fires(self, n: int, seed: int) -> bool:
        """A seeded draw below ``p``."""
        return draw(seed, n).random() < self.p

    def describe(self) -> dict[str, Any]:
        """As written."""
        return {"when": "probability", "p": self.p}


def load_schedule(block: object, where: str) -> Schedule:
    """Compile a schedule: a name (``always``, ``once``) or a mapping ``{when: <name>, ...}``.

    Raises:
        SpecError: naming the field and the schedules available.
    """
    if block is None:
        return Always()
    if isinstance(block, str):
        block = {"when": block}
    if not isinstance(block, Mapping):
        raise SpecError(where, f"must be {{when: <schedule>, ...}} with one of {', '.join(SCHEDULES.names())}")
    return SCHEDULES.get(block.get("when"), f"{where}.when").load(block, where)
