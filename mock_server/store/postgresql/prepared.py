"""A statement kept for the hot path: written once, run through libpq by a connection's own name for it.

A list page's statement depends on the query's shape only (:mod:`mock_server.store.statements`),
so its text is written once. Running it through a psycopg cursor still cost ~125 µs of Python per
page (converting the query, finding psycopg's prepared statement for it, setting up the results)
where libpq's own exec costs ~55 µs, ~80 µs with psycopg's adapters for the values and the row,
and releases the GIL while the database works, as the cursor does (bench/HISTORY.md, 2026-12-06).
:meth:`~mock_server.store.postgresql.connections.StoreConnection.first_row` runs one.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

#: A placeholder as psycopg writes them (``%s``), or an escaped percent sign (``%%``).
_MARK = re.compile(rb"%(.)", re.DOTALL)
#: Names of prepared statements, unique in this process (psycopg's own are ``_pg3_<n>``).
_NAMES = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A statement's text in libpq's numbered placeholders, and whether its plan is kept.

    Attributes:
        text: The SQL, with ``$1``, ``$2``... where psycopg's text had ``%s``.
        keep_plan: Prepare it once per connection and run it by name (its plan made once, see
            ``Connections``' ``generic_plans``); False runs it unnamed, planned for each run's values.
    """

    text: bytes
    keep_plan: bool

    @classmethod
    def of(cls, query: bytes, keep_plan: bool) -> Prepared:
        """The statement of psycopg-style ``query`` (``%s`` placeholders, ``%%`` for a percent sign).

        Raises:
            ValueError: ``query`` holds another ``%`` form (psycopg's ``%b``, ``%(name)s``...), which
                the store's statements never use.
        """
        numbers = itertools.count(1)

        def number(mark: re.Match[bytes]) -> bytes:
            kind = mark.group(1)
            if kind == b"s":
                return b"$%d" % next(numbers)
            if kind == b"%":
                return b"%"
            raise ValueError(f"unsupported placeholder %{kind.decode('latin-1')} in {query[:80]!r}")

        return cls(_MARK.sub(number, query), keep_plan)


def new_name() -> bytes:
    """A name for one connection's prepared statement, unique in this process."""
    return b"paymock_%d" % next(_NAMES)
