"""The registry of checks: every check has a name, and is selected, reported and documented by it.

Two levels share one namespace. Schema-level checks are run by schemathesis over generated
requests (:mod:`contracts.runner`); semantic promises are derived from the document's
``x-paymock`` declarations (:mod:`contracts.promises`). Both register here, so ``--checks``,
``--exclude-checks``, the report and the JUnit file all use the same names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from contracts.errors import UsageError

if TYPE_CHECKING:
    from contracts.promises.context import PromiseContext

T = TypeVar("T")

Level = Literal["schema", "promise"]


class Registry(Generic[T]):
    """Maps names to registered objects, in registration order.

    Args:
        kind: What the registry holds, for error messages ("check").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name``; a name can be registered once."""
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        """The item registered as ``name``, or a :class:`UsageError` listing the valid names."""
        try:
            return self._items[name]
        except KeyError:
            raise UsageError(f"unknown {self.kind} {name!r}; valid names: {', '.join(sorted(self._items))}") from None

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._items)

    def select(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[str]:
        """Names to run: ``include`` (all when empty) minus ``exclude``, in registration order.

        Raises:
            UsageError: A name in either list is not registered; the message lists the valid ones.
        """
        include, exclude = list(include), list(exclude)
        unknown = [n for n in [*include, *exclude] if n not in self._items]
        if unknown:
            raise UsageError(
                f"unknown {self.kind} name(s) {', '.join(repr(n) for n in unknown)}; "
                f"valid names: {', '.join(sorted(self._items))}"
            )
        chosen = set(include) if include else set(self._items)
        return [n for n in self._items if n in chosen and n not in set(exclude)]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())


PromiseRun = Callable[["PromiseContext"], None]


@dataclass(frozen=True, slots=True)
class Check:
    """One named check.

    Attributes:
        name: The name used on the command line and in reports.
        level: ``schema`` (schemathesis over generated requests) or ``promise`` (x-paymock).
        summary: The promise in one sentence, as the report and ``--list-checks`` show it.
        writes: Whether it changes state on the server (run against a foreign URL only when
            writes are allowed).
        run: The implementation of a promise; ``None`` for schema-level checks.
    """

    name: str
    level: Level
    summary: str
    writes: bool = False
    run: PromiseRun | None = None


#: Every check, schema level first, then the promises.
CHECKS: Registry[Check] = Registry("check")


def promise(name: str, summary: str, *, writes: bool = False) -> Callable[[PromiseRun], PromiseRun]:
    """Register a semantic promise under ``name``.

    Args:
        name: The check name (``pagination_covers_exactly_once``).
        summary: The promise in one sentence.
        writes: Whether checking it changes server state.
    """

    def decorate(run: PromiseRun) -> PromiseRun:
        CHECKS.add(name, Check(name, "promise", summary, writes, run))
        return run

    return decorate
