"""A small name-keyed registry: the extension point behind every ``x-paymock`` mechanism."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from mock_server.errors import SpecError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps the names written in ``x-paymock`` to the Python objects that implement them.

    Args:
        kind: What the registry holds, used in error messages ("pagination style").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers an implementation under ``name``."""

        def decorate(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return decorate

    def get(self, name: object, where: str) -> T:
        """Look ``name`` up, or raise a :class:`SpecError` listing what is available.

        Args:
            name: The name as written in the document.
            where: The document location, for the error message.
        """
        if not isinstance(name, str) or name not in self._items:
            raise SpecError(where, f"unknown {self.kind} {name!r}; available: {', '.join(sorted(self._items))}")
        return self._items[name]

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))
