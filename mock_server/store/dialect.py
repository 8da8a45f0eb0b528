"""What both backends' SQL spells alike, written once: names, total orders, keyset conditions.

The two backends keep one layout (a table of rows per collection and tenant, ``"<table>:<tenant>"``,
with declared columns as ``"c_<name>"``), so the names, the tie-broken order and the shape of a
keyset condition are the same SQL on both. What differs in the spelling of those is the
placeholder of a bound value (``?`` for SQLite, ``%s`` for psycopg): each backend's ``sql.py``
holds a :class:`Dialect` that says which. What differs for a reason beyond spelling (null
ordering, types, conflict clauses, locking, PostgreSQL's refusal of NUL text) stays in the
backend's own package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mock_server.store.base import CREATION, RECORD_ID, SortKey
from mock_server.store.page import KEYS, PK, Row


def column(name: str) -> str:
    """The SQL of a column: the creation order and the ID as they are, a declared column quoted as ``"c_<name>"``."""
    if name in (CREATION, RECORD_ID):
        return name
    return f'"c_{name}"'


def rows(table: str, tenant: int) -> str:
    """The quoted name of a tenant's table of rows of a collection."""
    return f'"{table}:{tenant}"'


def full_order(order: Sequence[SortKey]) -> list[SortKey]:
    """The order with the creation order as its last tie-breaker, in the direction of its first key."""
    if order and order[-1][0] == CREATION:  # already total (a creation-ordered column sorts as pk)
        return list(order)
    tie_desc = order[0][1] if order else False
    return [*order, (CREATION, tie_desc)]


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one backend spells bound values.

    Attributes:
        mark: The placeholder of one bound value.
    """

    mark: str

    def operators(self) -> dict[str, str]:
        """Each condition operator's SQL, ``{}`` standing for the column."""
        mark = self.mark
        return {
            "eq": f"{{}} = {mark}",
            "null": "{} IS NULL",
            "between": f"{{}} BETWEEN {mark} AND {mark}",
            "gte": f"{{}} >= {mark}",
            "lte": f"{{}} <= {mark}",
        }

    def marks(self, n: int) -> str:
        """``n`` placeholders, separated by commas."""
        return ", ".join([self.mark] * n)

    def keyset(
        self,
        full: Sequence[SortKey],
        anchor: Row,
        inclusive: bool,
        reverse: bool,
        fixed: Mapping[str, Any] | None = None,
    ) -> tuple[str, tuple[Any, ...]]:
        """SQL for "after the anchor in this order" (a keyset condition, so deep pages stay cheap).

        Keys on ``fixed`` columns (column -> the one value the query holds it to) are left out when
        the anchor has that value: they decide nothing then, and in a row value they would make
        the database read a range of that column instead of the rows equal to it, and sort them.
        (An anchor with another value, a cursor from another filter, keeps the full condition.)
        """
        fixed = fixed or {}
        mark = self.mark
        # The anchor holds the order's keys and then pk, which ``full`` ends with unless the order did.
        pairs = zip(full, [*anchor[KEYS:], anchor[PK]], strict=False)
        kept = [(key, value) for key, value in pairs if key[0] not in fixed or fixed[key[0]] != value]
        full = [key for key, _ in kept]
        values = [value for _, value in kept]
        directions = {desc != reverse for _, desc in full}
        if len(directions) == 1:
            op = "<" if directions.pop() else ">"
            cols = ", ".join(column(col) for col, _ in full)
            return f"({cols}) {op}{'=' if inclusive else ''} ({self.marks(len(full))})", tuple(values)
        terms, args = [], []
        for i, (col, desc) in enumerate(full):
            eqs = [f"{column(c)} = {mark}" for c, _ in full[:i]]
            terms.append(" AND ".join([*eqs, f"{column(col)} {'<' if desc != reverse else '>'} {mark}"]))
            args.extend([*values[:i], values[i]])
        if inclusive:
            terms.append(f"pk = {mark}")
            args.append(anchor[PK])
        return " OR ".join(f"({t})" for t in terms), tuple(args)
