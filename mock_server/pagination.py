"""Pagination styles, keyed by the names used in ``x-paymock.pagination.style``.

Each style names the query parameters it reads, fetches one page from the store, and returns
the variables its envelope template may use. Cursor styles use keyset conditions, so a deep
page costs what the first one does and records added mid-walk never shift a page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mock_server.declarations import PagingDeclaration
from mock_server.errors import ApiError, SpecError, reject_unknown_keys
from mock_server.registry import Registry
from mock_server.sorting import SortKey
from mock_server.store import BaseStore as Store
from mock_server.store import Condition, Row

#: Builds an absolute URL for the same request with some query parameters replaced.
LinkBuilder = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True, slots=True)
class PageQuery:
    """What a list request asks for, after validation."""

    table: str
    tenant: int
    conditions: Sequence[Condition]
    order: Sequence[SortKey]
    values: Mapping[str, Any]
    link: LinkBuilder
    noun: str


class Paginator(Protocol):
    """A compiled pagination block."""

    @property
    def roles(self) -> Mapping[str, str]:
        """Parameter name -> ``pagination``, for the parameters this style reads."""

    @property
    def variables(self) -> tuple[str, ...]:
        """Envelope variables this style provides."""

    def page(self, store: Store, query: PageQuery) -> dict[str, Any]:
        """Fetch one page; returns envelope variables, ``items`` being the :class:`~mock_server.store.Page`."""

    def declaration(self) -> PagingDeclaration:
        """What this style reads and how it counts positions, as data (for the contract kit)."""


PaginatorFactory = Callable[[Mapping[str, Any], str, Mapping[str, Mapping[str, Any]]], Paginator]
PAGINATION_STYLES: Registry[PaginatorFactory] = Registry("pagination style")


def _param(block: Mapping[str, Any], key: str, where: str, params: Mapping[str, Mapping[str, Any]]) -> str:
    name = block.get(key)
    if not isinstance(name, str) or name not in params:
        raise SpecError(
            f"{where}.{key}",
            f"must name a query parameter of this operation, got {name!r}; parameters: {', '.join(params) or 'none'}",
        )
    return name


def _limit(query: PageQuery, name: str, cap: int | None) -> int:
    value = query.values.get(name)
    limit = int(value) if value is not None else 0
    if cap is not None:
        limit = min(limit, cap)
    return limit


def _maximum(params: Mapping[str, Mapping[str, Any]], name: str) -> int | None:
    maximum = params[name].get("schema", {}).get("maximum")
    return int(maximum) if maximum is not None else None


def _anchor(store: Store, query: PageQuery, param: str, value: str) -> Row:
    row = store.find(query.table, query.tenant, value, query.order)
    if row is None:
        raise ApiError.of(
            "invalid_parameter",
            f"Invalid value {value!r} for query parameter {param!r}: no {query.noun} with this ID; "
            "pass an ID from a previous page of this list",
            "value_error",
            ("query", param),
        )
    return row


@dataclass(frozen=True, slots=True)
class CursorPaginator:
    """``limit`` + an exclusive cursor (the last ID of the previous page)."""

    limit_param: str
    cursor_param: str
    cap: int | None
    variables: tuple[str, ...] = ("items", "count", "has_more", "next_cursor")

    @property
    def roles(self) -> Mapping[str, str]:
        """The parameters this style reads."""
        return {self.limit_param: "pagination", self.cursor_param: "pagination"}

    def declaration(self) -> PagingDeclaration:
        """What this style reads, as data."""
        return PagingDeclaration(
            "cursor",
            self.limit_param,
            self.cursor_param,
            "id",
            False,
            capped=self.cap is not None,
            variables=self.variables,
        )

    def page(self, store: Store, query: PageQuery) -> dict[str, Any]:
        """One page after the cursor."""
        limit = _limit(query, self.limit_param, self.cap)
        cursor = query.values.get(self.cursor_param)
        after = (_anchor(store, query, self.cursor_param, cursor), False) if cursor else None
        records = store.page(query.table, query.tenant, query.conditions, query.order, limit + 1, after=after, ids=True)
        more = len(records) > limit
        records = records.head(limit)
        return {
            "items": records,
            "count": len(records),
            "has_more": more,
            "next_cursor": records.ids[-1] if more and records.ids else None,
        }


@PAGINATION_STYLES.register("cursor")
def _cursor(block: Mapping[str, Any], where: str, params: Mapping[str, Mapping[str, Any]]) -> Paginator:
    limit = _param(block, "limit", where, params)
    return CursorPaginator(
        limit,
        _param(block, "cursor", where, params),
        _maximum(params, limit) if block.get("cap") else None,
    )


@dataclass(frozen=True, slots=True)
class FromIdPaginator:
    """``limit`` + an inclusive ``from`` ID; next/previous as absolute links."""

    limit_param: str
    from_param: str
    cap: int | None
    variables: tuple[str, ...] = ("items", "count", "next_url", "prev_url")

    @property
    def roles(self) -> Mapping[str, str]:
        """The parameters this style reads."""
        return {self.limit_param: "pagination", self.from_param: "pagination"}

    def declaration(self) -> PagingDeclaration:
        """What this style reads, as data."""
        return PagingDeclaration(
            "from-id",
            self.limit_param,
            self.from_param,
            "id",
            True,
            capped=self.cap is not None,
            variables=self.variables,
        )

    def page(self, store: Store, query: PageQuery) -> dict[str, Any]:
        """One page starting at ``from``, with links to the neighbouring pages."""
        limit = _limit(query, self.limit_param, self.cap)
        start = query.values.get(self.from_param)
        anchor = _anchor(store, query, self.from_param, start) if start else None
        records = store.page(
            query.table,
            query.tenant,
            query.conditions,
            query.order,
            limit + 1,
            after=(anchor, True) if anchor else None,
            ids=True,
        )
        next_url = query.link({self.from_param: records.ids[limit]}) if len(records) > limit else None
        prev_url = None
        if anchor is not None:
            before = store.page(
                query.table,
                query.tenant,
                query.conditions,
                query.order,
                limit,
                after=(anchor, False),
                reverse=True,
                ids=True,
                documents=False,
            )
            if before.ids:
                prev_url = query.link({self.from_param: before.ids[-1]})
        records = records.head(limit)
        return {"items": records, "count": len(records), "next_url": next_url, "prev_url": prev_url}


@PAGINATION_STYLES.register("from-id")
def _from_id(block: Mapping[str, Any], where: str, params: Mapping[str, Mapping[str, Any]]) -> Paginator:
    limit = _param(block, "limit", where, params)
    return FromIdPaginator(
        limit,
        _param(block, "from", where, params),
        _maximum(params, limit) if block.get("cap") else None,
    )


@dataclass(frozen=True, slots=True)
class OffsetPaginator:
    """``limit`` + ``offset``, with the total and next/previous links."""

    limit_param: str
    offset_param: str
    cap: int | None
    empty_link: str | None
    variables: tuple[str, ...] = (
        "items",
        "count",
        "total",
        "limit",
        "offset",
        "next_url",
        "prev_url",
    )

    @property
    def roles(self) -> Mapping[str, str]:
        """The parameters this style reads."""
        return {self.limit_param: "pagination", self.offset_param: "pagination"}

    def declaration(self) -> PagingDeclaration:
        """What this style reads, as data."""
        return PagingDeclaration(
            "offset",
            self.limit_param,
            self.offset_param,
            "offset",
            capped=self.cap is not None,
            variables=self.variables,
        )

    def page(self, store: Store, query: PageQuery) -> dict[str, Any]:
        """One page at ``offset``."""
        limit = _limit(query, self.limit_param, self.cap)
        offset = int(query.values.get(self.offset_param) or 0)
        # The count goes with the page's own snapshot: its generation comes with the page, in one statement.
        records = store.page(query.table, query.tenant, query.conditions, query.order, limit, offset, generation=True)
        total = store.count(query.table, query.tenant, query.conditions, records.generation)
        next_url = query.link({self.offset_param: offset + limit}) if offset + limit < total else self.empty_link
        prev_url = self.empty_link
        if offset > 0:
            prev_url = query.link({self.offset_param: max(0, offset - limit)})
        return {
            "items": records,
            "count": len(records),
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_url": next_url,
            "prev_url": prev_url,
        }


@PAGINATION_STYLES.register("offset")
def _offset(block: Mapping[str, Any], where: str, params: Mapping[str, Mapping[str, Any]]) -> Paginator:
    limit = _param(block, "limit", where, params)
    empty = block.get("link-empty", "")
    return OffsetPaginator(
        limit,
        _param(block, "offset", where, params),
        _maximum(params, limit) if block.get("cap") else None,
        empty,
    )


@dataclass(frozen=True, slots=True)
class PageNumberPaginator:
    """``page`` (from 1) + ``page-size``; a next-page link while more remain."""

    page_param: str
    size_param: str
    cap: int | None
    variables: tuple[str, ...] = ("items", "count", "page", "page_size", "next_url")

    @property
    def roles(self) -> Mapping[str, str]:
        """The parameters this style reads."""
        return {self.page_param: "pagination", self.size_param: "pagination"}

    def declaration(self) -> PagingDeclaration:
        """What this style reads, as data."""
        return PagingDeclaration(
            "page-number",
            self.size_param,
            self.page_param,
            "page",
            capped=self.cap is not None,
            variables=self.variables,
        )

    def page(self, store: Store, query: PageQuery) -> dict[str, Any]:
        """One numbered page."""
        size = _limit(query, self.size_param, self.cap)
        number = int(query.values.get(self.page_param) or 1)
        records = store.page(
            query.table,
            query.tenant,
            query.conditions,
            query.order,
            size + 1,
            offset=(number - 1) * size,
        )
        more = len(records) > size
        records = records.head(size)
        next_url = query.link({self.page_param: number + 1, self.size_param: size}) if more else None
        return {
            "items": records,
            "count": len(records),
            "page": number,
            "page_size": size,
            "next_url": next_url,
        }


@PAGINATION_STYLES.register("page-number")
def _page_number(block: Mapping[str, Any], where: str, params: Mapping[str, Mapping[str, Any]]) -> Paginator:
    size = _param(block, "page-size", where, params)
    return PageNumberPaginator(
        _param(block, "page", where, params),
        size,
        _maximum(params, size) if block.get("cap") else None,
    )


@dataclass(frozen=True, slots=True)
class Unpaginated:
    """Every matching record in one answer."""

    variables: tuple[str, ...] = ("items", "count")

    @property
    def roles(self) -> Mapping[str, str]:
        """No parameters."""
        return {}

    def declaration(self) -> PagingDeclaration:
        """What this style reads, as data."""
        return PagingDeclaration("none", variables=self.variables)

    def page(self, store: Store, query: PageQuery) -> dict[str, Any]:
        """All matching records."""
        records = store.page(query.table, query.tenant, query.conditions, query.order, None)
        return {"items": records, "count": len(records)}


@PAGINATION_STYLES.register("none")
def _none(block: Mapping[str, Any], where: str, params: Mapping[str, Mapping[str, Any]]) -> Paginator:
    return Unpaginated()


def load_paginator(block: Any, where: str, params: Mapping[str, Mapping[str, Any]]) -> Paginator:
    """Compile an operation's ``pagination`` block."""
    if not isinstance(block, Mapping):
        raise SpecError(where, "must be a mapping with a 'style'")
    allowed = {
        "style",
        "limit",
        "cursor",
        "from",
        "offset",
        "page",
        "page-size",
        "cap",
        "link-empty",
    }
    reject_unknown_keys(block, allowed, where)
    factory = PAGINATION_STYLES.get(block.get("style"), f"{where}.style")
    return factory(block, where, params)
