"""Statements written once per shape of query: the SQL text of a list page, kept by what decides it.

A list page's SQL depends on the query's shape (table, tenant, the conditions' columns and
operators, the order, the page size, whether there is an offset), not on the values bound to it;
a document declares a handful of shapes, so writing the text again for every request is work
that can be done once. Backend-neutral: the backend decides what a shape is and writes the text.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

#: How many shapes are kept; past it the cache starts anew (shapes come from a few documents'
#: parameters, so only a client walking through thousands of page sizes ever reaches it).
STATEMENT_SHAPES = 4096

T = TypeVar("T")


class Statements(Generic[T]):
    """Statements by shape, at most :data:`STATEMENT_SHAPES` of them.

    Reads and writes are single dict operations, atomic under the GIL: request threads share one
    without a lock (two threads writing one shape at once write the same text).
    """

    def __init__(self, shapes: int = STATEMENT_SHAPES) -> None:
        self.shapes = shapes
        self._kept: dict[Hashable, T] = {}

    def get(self, shape: Hashable) -> T | None:
        """The statement written for ``shape``, if it is kept."""
        return self._kept.get(shape)

    def put(self, shape: Hashable, statement: T) -> None:
        """Keep ``statement`` for ``shape``."""
        if len(self._kept) >= self.shapes:
            self._kept = {}
        self._kept[shape] = statement
