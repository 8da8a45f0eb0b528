"""Delay distributions of fault rules, keyed by name: ``fixed``, ``uniform``, ``lognormal``.

A delay is written in milliseconds, as WireMock's are, and drawn from the generator the fault
plane hands it (seeded by rule and match count), so a replay waits the same amounts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mock_server.errors import SpecError, reject_unknown_keys
from mock_server.registry import Registry

#: A delay longer than this is refused: a client's own timeout is what a test should meet, not ours.
MAX_DELAY_MS = 60_000


class Delay(Protocol):
    """A distribution of waits."""

    def seconds(self, rng: random.Random) -> float:
        """One wait, in seconds."""
        ...

    def describe(self) -> dict[str, Any]:
        """The delay as written (for listings)."""
        ...


class DelayKind(Protocol):
    """A distribution class: compiles its block."""

    def load(self, block: Mapping[str, Any], where: str) -> Delay:
        """Compile ``block`` (at ``where``, for errors)."""
        ...


DELAYS: Registry[DelayKind] = Registry("delay distribution")


def _ms(block: Mapping[str, Any], key: str, where: str, *, low: float = 0) -> float:
    value = block.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{where}.{key}", f"must be a number of milliseconds, got {value!r}")
    if not low <= value <= MAX_DELAY_MS:
        raise SpecError(f"{where}.{key}", f"must be between {low:g} and {MAX_DELAY_MS} ms, got {value!r}")
    return float(value)


@DELAYS.register("fixed")
@dataclass(frozen=True, slots=True)
class Fixed:
    """Always the same wait: ``{distribution: fixed, ms: 200}``."""

    ms: float

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> Fixed:
        """Read ``ms``."""
        reject_unknown_keys(block, {"distribution", "ms"}, where)
        return cls(_ms(block, "ms", where))

    def seconds(self, rng: random.Random) -> float:
        """The fixed wait."""
        return self.ms / 1000

    def describe(self) -> dict[str, Any]:
        """As written."""
        return {"distribution": "fixed", "ms": self.ms}


@DELAYS.register("uniform")
@dataclass(frozen=True, slots=True)
class Uniform:
    """Any wait in a range, equally likely: ``{distribution: uniform, min: 50, max: 150}``."""

    low: float
    high: float

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> Uniform:
        """Read ``min`` and ``max``."""
        reject_unknown_keys(block, {"distribution", "min", "max"}, where)
        low, high = _ms(block, "min", where), _ms(block, "max", where)
        if high < low:
            raise SpecError(f"{where}.max", f"must be at least min ({low:g}), got {high:g}")
        return cls(low, high)

    def seconds(self, rng: random.Random) -> float:
        """A uniform draw."""
        return rng.uniform(self.low, self.high) / 1000

    def describe(self) -> dict[str, Any]:
        """As written."""
        return {"distribution": "uniform", "min": self.low, "max": self.high}


@DELAYS.register("lognormal")
@dataclass(frozen=True, slots=True)
class LogNormal:
    """A long-tailed wait, as real latencies are: ``{distribution: lognormal, median: 80, sigma: 0.4}``.

    The median is the 50th percentile; sigma is the spread of the underlying normal (0.1 is
    tight, 1 has a heavy tail). Draws are capped at :data:`MAX_DELAY_MS`.
    """

    median: float
    sigma: float

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> LogNormal:
        """Read ``median`` and ``sigma``."""
        reject_unknown_keys(block, {"distribution", "median", "sigma"}, where)
        median = _ms(block, "median", where, low=0.001)
        sigma = block.get("sigma")
        if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not 0 <= sigma <= 5:
            raise SpecError(f"{where}.sigma", f"must be a number between 0 and 5, got {sigma!r}")
        return cls(median, float(sigma))

    def seconds(self, rng: random.Random) -> float:
        """A lognormal draw around the median."""
        return min(rng.lognormvariate(math.log(self.median), self.sigma), MAX_DELAY_MS) / 1000

    def describe(self) -> dict[str, Any]:
        """As written."""
        return {"distribution": "lognormal", "median": self.median, "sigma": self.sigma}


def load_delay(block: object, where: str) -> Delay:
    """Compile a delay: a number of milliseconds (fixed), or a mapping naming its distribution.

    Raises:
        SpecError: naming the field and the distributions available.
    """
    if isinstance(block, int | float) and not isinstance(block, bool):
        return Fixed.load({"ms": block}, where)
    if not isinstance(block, Mapping):
        raise SpecError(
            where, f"must be milliseconds or {{distribution: ..., ...}} with one of {', '.join(DELAYS.names())}"
        )
    return DELAYS.get(block.get("distribution"), f"{where}.distribution").load(block, where)
