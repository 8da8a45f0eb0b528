"""Counts of list queries, each kept with the write generation it was made at: what both backends' totals come from.

Counting the matches of a filter over a million rows takes tens of milliseconds, and an offset
list's envelope wants the total on every page. A count is kept until its table's generation moves
(every commit of any process or replica advances it by the rows it changed), so a total is exact
the moment a write lands; an estimate may take one made a few writes ago. Backend-neutral: the
backend supplies the generation and the count, this module only decides when to count again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

#: Query shapes whose counts are kept; past that the cache starts again (a server asks a handful).
COUNT_SHAPES = 4096


class CountCache:
    """Counts per query shape, each with the generation it was made at."""

    def __init__(self, shapes: int = COUNT_SHAPES) -> None:
        self.shapes = shapes
        self._counts: dict[Hashable, tuple[int, int]] = {}

    def count(self, shape: Hashable, generation: int, read: Callable[[], int]) -> int:
        """The count of ``shape`` at ``generation``: the kept one if made at it, else ``read()`` (then kept).

        Args:
            shape: What identifies the query (table, tenant, conditions as the backend spells them).
            generation: The table's write generation now.
            read: Counts the query's rows.
        """
        cached = self._counts.get(shape)
        if cached is not None and cached[0] == generation:
            return cached[1]
        total = read()
        if len(self._counts) >= self.shapes:
            self._counts.clear()
        self._counts[shape] = (generation, total)
        return total

    def near(self, shape: Hashable, generation: Callable[[], int]) -> int | None:
        """A kept count of ``shape`` off by a sixteenth at most, or None.

        The generation advances by the rows each commit changed, so a count made ``n`` generations
        ago is off by ``n`` at most. ``generation`` is read only when there is a kept count.
        """
        cached = self._counts.get(shape)
        if cached is not None and 0 <= generation() - cached[0] <= cached[1] // 16:
            return cached[1]
        return None
