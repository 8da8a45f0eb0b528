"""What a list query gives back, whatever the backend: rows as tuples and pages of joined JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: One record as a query returns it: ``(pk, id, doc, *sort-key values)``, the tuple the database
#: driver gives (a page is fifty of them; building an object per row cost 8 % of a request).
Row = tuple[Any, ...]
#: Positions in a :data:`Row`; the sort-key values follow from :data:`KEYS` on.
PK, ID, DOC, KEYS = 0, 1, 2, 3

#: Separates a page's documents as the database joins them. A document is JSON that paymock
#: serialised, and JSON never holds this byte (RFC 8259: a control character is escaped inside a
#: string and allowed nowhere else; UTF-8 sequences use bytes >= 0x80), so the separators are
#: not counted on reading: counting them was 2-3 % of a list request's CPU.
SEP = b"\x1e"


@dataclass(frozen=True, slots=True)
class Page:
    """The records of one list page, in order.

    Attributes:
        count: How many records.
        ids: Their IDs (empty when not asked for).
        joined: Their JSON documents as the database joined them, separated by :data:`SEP`.
        docs: Or their documents one by one (pages built from rows); ``None`` when joined.
        generation: The table's generation read in the same statement as the records, when asked
            for (``BaseStore.page(generation=True)``), for a count that goes with them.
    """

    count: int
    ids: list[str]
    joined: bytes = b""
    docs: list[bytes] | None = None
    generation: int | None = None

    @classmethod
    def of(cls, rows: Sequence[Row], ids: bool = True) -> Page:
        """The page of some rows."""
        return cls(len(rows), [r[ID] for r in rows] if ids else [], docs=[r[DOC] for r in rows if r[DOC] is not None])

    def __len__(self) -> int:
        return self.count

    def items(self) -> bytes:
        """The documents as one JSON array."""
        if self.docs is not None:
            return b"[" + b",".join(self.docs) + b"]"
        return b"[" + self.joined.replace(SEP, b",") + b"]"

    def head(self, n: int) -> Page:
        """The first ``n`` records."""
        if n >= self.count:
            return self
        n = max(n, 0)
        if self.docs is not None:
            return Page(n, self.ids[:n], docs=self.docs[:n], generation=self.generation)
        joined = self.joined
        if joined:
            # Pages are read one record long to tell whether more follow: the cut is nearly always the last.
            cut = joined.rfind(SEP) if n == self.count - 1 else -1
            if cut < 0:
                for _ in range(n):
                    cut = joined.index(SEP, cut + 1)
            joined = joined[: max(cut, 0)]
        return Page(n, self.ids[:n], joined, generation=self.generation)
