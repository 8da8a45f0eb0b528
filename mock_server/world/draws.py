"""Deterministic draws: seeded uniforms (one at a time and column-wise), identifiers, amounts.

Every random draw of a world comes from a :class:`random.Random` seeded by its purpose, so one
seed always gives the same world; the numpy helpers turn a batch of those uniforms into picks
and integers exactly as the one-at-a-time helpers would.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import random
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import cache
from itertools import accumulate
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from faker import Faker

T = TypeVar("T")


@contextmanager
def _alongside(work: Callable[..., T], *args: Any, parallel: bool) -> Iterator[Callable[[], T]]:
    """Run ``work(*args)`` in a forked process while the block runs; yields a getter of its result.

    Without ``parallel`` (small worlds, or no fork on this platform) it runs here, on entering.
    """
    if not parallel or "fork" not in multiprocessing.get_all_start_methods():
        result = work(*args)
        yield lambda: result
        return
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        future = pool.submit(work, *args)
        yield future.result


class _Picker:
    """A weighted choice prepared once; ``random.choices`` rebuilds its tables on every call."""

    def __init__(self, table: Mapping[str, float]) -> None:
        self.values = list(table)
        self.cumulative = list(accumulate(table.values()))
        self.total = self.cumulative[-1]
        self.last = len(self.values) - 1  # as random.choices: rounding never picks past the end

    def __call__(self, rng: random.Random) -> str:
        return self.values[bisect_right(self.cumulative, rng.random() * self.total, 0, self.last)]


def stable_hex(*parts: object) -> str:
    """Return 32 hex digits derived from ``parts``; the same parts always give the same digits."""
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]


def _uuid_from_hex(h: str) -> str:
    # The same string uuid.UUID(hex=h, version=4) gives, without building the object.
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def _identity(rng: random.Random) -> tuple[str, str]:
    h = f"{rng.getrandbits(128):032x}"
    return h, _uuid_from_hex(h)


def _money(cents: int) -> str:
    text = _MONEY_TEXT.get(cents)
    if text is None:
        whole, part = divmod(abs(cents), 100)
        text = f"{'-' if cents < 0 else ''}{whole}.{part:02d}"
        if len(_MONEY_TEXT) < 100_000:
            _MONEY_TEXT[cents] = text
    return text


#: Amounts repeat (plan prices, taxes, zeros): seeding formats each distinct one once.
_MONEY_TEXT: dict[int, str] = {}


@cache
def _faker(locale: str, weighted: bool = False) -> Faker:
    # Unweighted Faker picks names uniformly instead of by frequency: as realistic to a reader,
    # and ten times cheaper per name, which matters for the tens of thousands of customers of a
    # large world. Tenants keep the weighted generator, so their names (and the credentials
    # derived beside them) stay what they were.
    return Faker(locale, use_weighting=weighted)


def _between(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high]: ``randint`` without its argument checks (millions of draws)."""
    return low + int(rng.random() * (high - low + 1))


def _uniforms(rng: random.Random, count: int) -> npt.NDArray[np.float64]:
    """``count`` uniform draws in [0, 1) from ``rng`` at once, with ``random()``'s 53 bits of precision."""
    bits = np.frombuffer(rng.getrandbits(64 * count).to_bytes(8 * count, "little"), dtype="<u8")
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _compact(typecode: str, values: npt.NDArray[Any]) -> array[int]:
    """A numpy result as the :class:`array.array` pass two indexes: a Python int per read, not a numpy scalar."""
    compact = array(typecode)
    compact.frombytes(values.astype(f"<i{compact.itemsize}").tobytes())
    return compact


def _pick(cumulative: npt.NDArray[Any], draws: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Weighted picks for uniform ``draws``, as :class:`_Picker` makes them one at a time."""
    picks: npt.NDArray[np.int64] = np.minimum(
        np.searchsorted(cumulative, draws * cumulative[-1], side="right"), len(cumulative) - 1
    )
    return picks


def _draw(draws: npt.NDArray[np.float64], low: int, high: int) -> npt.NDArray[np.int64]:
    """Uniform integers in [low, high] for uniform ``draws``, as :func:`_between` makes them one at a time."""
    return low + (draws * (high - low + 1)).astype(np.int64)


def _unless(values: npt.NDArray[Any], present: npt.NDArray[np.bool_]) -> list[Any]:
    """``values`` as Python values, ``None`` where not ``present``."""
    out: list[Any] = values.tolist()
    for i in np.flatnonzero(~present).tolist():
        out[i] = None
    return out


def _gross(net: int, rate: int) -> int:
    """Net minor units plus tax at ``rate`` percent, rounded half up."""
    return net + (net * rate + 50) // 100
