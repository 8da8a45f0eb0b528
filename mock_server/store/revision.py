"""The Python side of a revision of many records, shared by both backends (which read and write them).

:meth:`~mock_server.store.BaseStore.revise` reads the records meeting its conditions and applies
the first change to each; then, when the caller asks for one, a :class:`~mock_server.store.base.Spread`
to the records holding some column values, read in slices of :data:`SPREAD_SLICE` values. A
record both changes touch gets the second on the facts the first left, and is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from mock_server.store.base import Revision, Spread, Then
from mock_server.world import pack_facts, unpack_facts

#: Column values per read of a spread's records: well inside both engines' limits on bound values.
SPREAD_SLICE = 500

#: Bits of a primary key below a tenant's number, for records added after seeding: tenant ``t``'s
#: get ``t << ADDED_SHIFT`` onwards, past every seeded key (which count rows from 1) and apart
#: from other tenants' (the documents' table is shared), whatever order tenants were moved in.
ADDED_SHIFT = 40
#: The shadow row of an added record holds this document: a reset deletes the record.
ADDED_MARK = b""

#: A changed record: primary key -> (facts, document, column values).
Changed = dict[int, tuple[dict[str, Any], bytes, Sequence[Any]]]


def first_added(tenant: int, last: int) -> int:
    """The primary key of the next record added to a tenant whose largest key is ``last``."""
    return max(tenant << ADDED_SHIFT, last + 1)


def apply(found: Iterable[Sequence[Any]], change: Revision, changed: Changed | None = None) -> Changed:
    """Apply ``change`` to ``(pk, stored facts, ...)`` rows; the changed ones, added to ``changed`` (made if ``None``).

    A row ``changed`` already holds is changed from the facts held there, not from those read.
    """
    changed = {} if changed is None else changed
    for pk, blob, *_ in found:
        held = changed.get(pk)
        result = change(held[0] if held is not None else unpack_facts(bytes(blob)))
        if result is not None:
            changed[pk] = result
    return changed


def spread(
    then: Then | None, changed: Changed, read: Callable[[str, Sequence[Any]], Iterable[Sequence[Any]]]
) -> Changed:
    """Apply the spread ``then`` asks for (if any) to the rows ``read(column, values)`` gives, slice by slice."""
    asked = then() if then is not None else None
    if asked is None or not asked.values:
        return changed
    for values in slices(asked):
        apply(read(asked.column, values), asked.change, changed)
    return changed


def slices(asked: Spread) -> Iterator[list[Any]]:
    """A spread's values, sorted (the same rows are read in the same order however they were found)."""
    values = sorted(asked.values)
    for start in range(0, len(values), SPREAD_SLICE):
        yield values[start : start + SPREAD_SLICE]


def column_writes(
    changed: Changed, stored: Mapping[int, Sequence[Any]], documents: bool = False
) -> dict[tuple[int, ...], list[tuple[Any, ...]]]:
    """The column values to write, grouped by which columns changed: positions -> ``(*values, pk)`` rows.

    Writing a column rewrites an entry of every index holding it, so only the columns whose value
    changed are written (a move changes the status and a date or two, not the amount or the
    customer): ``stored`` holds each record's column values as read.

    With ``documents`` (a row that holds its document), every changed record is written, as
    ``(*values, doc, packed facts, pk)``: positions ``()`` are the records whose columns stayed.
    """
    writes: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
    for pk, (facts, doc, columns) in changed.items():
        before = stored[pk]
        moved = tuple(i for i, value in enumerate(columns) if value != before[i])
        if documents:
            writes.setdefault(moved, []).append((*(columns[i] for i in moved), doc, pack_facts(facts), pk))
        elif moved:
            writes.setdefault(moved, []).append((*(columns[i] for i in moved), pk))
    return writes
