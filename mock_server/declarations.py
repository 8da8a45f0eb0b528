"""What a pagination or sort style declares about itself, as plain data.

A style object (:mod:`mock_server.pagination`, :mod:`mock_server.sorting`) answers requests;
its ``declaration()`` says what it reads and what it can produce, in data that others use
without knowing the style: the index planner (``seeding.list_indexes``) takes the orders a
sorter can produce, and the contract kit (``contracts``) takes the parameter names, how a
position is counted, and the terms a sort parameter accepts. A new style fills these in, and
neither of them needs a branch for it.

This module imports nothing of the mock: it is part of the document model the kit may read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: One key of an order as the store sorts it: (SQL column as ordered, descending?).
OrderKey = tuple[str, bool]

#: What a pagination style's position parameter names: nothing (one page), a record (by its ID),
#: a number of records to skip, or a page number.
Position = Literal["none", "id", "offset", "page"]


@dataclass(frozen=True, slots=True)
class PagingDeclaration:
    """How a list pages, as a client sees it.

    Attributes:
        style: The style's name in ``x-paymock`` (for reports only).
        size_param: The page-size query parameter (``None``: one page holds everything).
        position_param: The query parameter that says where a page starts.
        position: What that parameter names (see :data:`Position`).
        inclusive: For ``id`` positions: whether the page starts at the named record (``from``)
            or after it (a cursor).
        first: The first page's number, for ``page`` positions.
        capped: Whether a page size above the documented maximum is capped rather than refused.
        variables: The envelope variables the style provides (``has_more``, ``next_url``, ...).
    """

    style: str
    size_param: str | None = None
    position_param: str | None = None
    position: Position = "none"
    inclusive: bool = False
    first: int = 1
    capped: bool = False
    variables: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SortTerm:
    """One value a sort parameter accepts on its own (``-amount``, ``asc``).

    Attributes:
        value: The parameter value (or one comma-separated part of it).
        field: What two terms of one request may not share (the sortable field's name).
        keys: The order the term asks for (before the tie-breakers every order ends with).
    """

    value: str
    field: str
    keys: tuple[OrderKey, ...]


@dataclass(frozen=True, slots=True)
class SortDeclaration:
    """How a list is ordered, and how a client asks for another order.

    Attributes:
        style: The style's name in ``x-paymock`` (for reports only).
        param: The sort query parameter (``None``: the order is fixed).
        default: The order when the parameter is not sent.
        terms: Every value the parameter accepts alone.
        max_terms: How many terms (of distinct fields) one value may join.
        separator: What joins them.
        orders: Every order the style can produce, the default first, as the store is asked
            for it (tie-breakers included): what the index planner builds indexes for.
    """

    style: str
    param: str | None
    default: tuple[OrderKey, ...]
    terms: tuple[SortTerm, ...] = ()
    max_terms: int = 1
    separator: str = ","
    orders: tuple[tuple[OrderKey, ...], ...] = ()
