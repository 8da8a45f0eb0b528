"""The request journal's table as both control states read and write it (``control_journal``).

Both backends keep the journal in a table of the same columns: the entry's time and the fields a
reader filters by, beside the encoded entry. How a row is made from an entry, the statement that
inserts one and the statements that read a filtered page of them are the same but for the
placeholder (:class:`~mock_server.store.dialect.Dialect`); how entries are buffered, flushed and
trimmed differs per backend (``store/<backend>/control.py``), and stays there.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

import orjson

from mock_server.control.state import JournalQuery
from mock_server.store.dialect import Dialect

#: The entry fields a reader may filter by: each is a column of the journal.
FILTERS = ("api", "tenant", "operation", "method", "path", "status")
#: The entry's time and filter fields, the columns a row of the journal has beside the entry itself.
COLUMNS = operator.itemgetter("time", *FILTERS)


def row(entry: dict[str, Any]) -> tuple[Any, ...]:
    """The journal row of a made entry: its time, its filter fields and the entry encoded."""
    return (*COLUMNS(entry), orjson.dumps(entry))


#: The journal's columns, in :func:`row`'s order.
ROW_COLUMNS = ("at", "api", "tenant", "operation", "method", "path", "status", "entry")


def insert(dialect: Dialect) -> str:
    """The statement that writes one :func:`row`."""
    return f"INSERT INTO control_journal ({', '.join(ROW_COLUMNS)}) VALUES ({dialect.marks(len(ROW_COLUMNS))})"


def reads(dialect: Dialect, query: JournalQuery) -> tuple[str, str, list[Any]]:
    """The statements of a filtered count and page (newest first) of the journal, and the filters' arguments.

    The page's arguments are the filters' followed by the query's limit and offset.
    """
    clauses, args = [], []
    for key in FILTERS:
        value = getattr(query, key)
        if value is not None:
            clauses.append(f"{key} = {dialect.mark}")
            args.append(value)
    if query.since is not None:
        clauses.append(f"at >= {dialect.mark}")
        args.append(query.since)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    count = f"SELECT count(*) FROM control_journal{where}"
    page = (
        f"SELECT seq, entry FROM control_journal{where} ORDER BY at DESC, seq DESC"
        f" LIMIT {dialect.mark} OFFSET {dialect.mark}"
    )
    return count, page, args


def entries(rows: Iterable[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """The entries of a page's ``(seq, entry)`` rows, each with its ``seq``."""
    return [{"seq": seq, **orjson.loads(entry)} for seq, entry in rows]
