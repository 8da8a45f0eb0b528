"""The ordered keys of deep queries, per write generation: what both backends slice deep pages from.

Neither SQLite nor PostgreSQL can jump to row 900,000 of an order: ``OFFSET n`` steps over ``n``
index entries. Past a backend's deep-offset threshold, the keys of the whole query are read once
and kept while the table's generation stands; a page is then a slice of them. Backend-neutral:
the backend supplies the read, this module only decides when to read again.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Callable, Hashable

#: How many query shapes keep their ordered keys (a walk rarely has more than one or two).
DEEP_CACHE_SHAPES = 4
#: The largest offset or limit a store is asked for (both engines hold 64-bit integers).
MAX_SQL_INT = 2**62


class OrderCache:
    """Ordered primary keys of the last few deep query shapes, least recently used dropped first."""

    def __init__(self, shapes: int = DEEP_CACHE_SHAPES) -> None:
        self.shapes = shapes
        self._keys: OrderedDict[Hashable, tuple[int, array[int]]] = OrderedDict()

    def slice(
        self, shape: Hashable, generation: int, read: Callable[[], array[int]], offset: int, limit: int
    ) -> list[int]:
        """The primary keys of rows ``offset`` to ``offset + limit`` of ``shape``'s order.

        Args:
            shape: What identifies the query (table, tenant, conditions, order).
            generation: The table's write generation now; keys read under another are read again.
            read: Reads every primary key of the query, in order.
            offset: Rows to skip.
            limit: Rows wanted.
        """
        cached = self._keys.get(shape)
        if cached is None or cached[0] != generation:
            cached = (generation, read())
            self._keys[shape] = cached
            while len(self._keys) > self.shapes:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(shape)
        start = min(offset, MAX_SQL_INT)
        return list(cached[1][start : start + limit])
