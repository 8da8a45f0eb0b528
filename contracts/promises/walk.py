"""Walking a paginated list to its end, the way a client would, and remembering every page.

The walker follows whatever the pagination style declares (a cursor, an inclusive ``from`` ID,
an offset, a page number, or the absolute next link in the envelope) and stops at the end, at
a cycle, at an empty page that was announced, at an error, or after the page budget. It judges
nothing: the pagination promises read the walk. Walks are cached, so promises that draw the
same plan share the requests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from contracts.client import Exchange
from contracts.credentials import Access
from contracts.declarations import ListDecl

if TYPE_CHECKING:
    from contracts.promises.context import PromiseContext

#: Why a walk ended.
Stop = Literal["end", "cycle", "budget", "error", "empty", "offsite"]


@dataclass(frozen=True, slots=True)
class Plan:
    """What to ask a list for: filters and sort (query), scope (path) and a page size.

    Attributes:
        query: Filter and sort parameters.
        path: Scope path parameters.
        size: Page size to request (``None``: the default).
    """

    query: tuple[tuple[str, str], ...] = ()
    path: tuple[tuple[str, str], ...] = ()
    size: int | None = None

    def with_size(self, size: int | None) -> Plan:
        """The same plan at another page size."""
        return Plan(self.query, self.path, size)

    def describe(self) -> str:
        """``status='paid', limit 7``."""
        parts = [f"{k}={v!r}" for k, v in (*self.path, *self.query)]
        parts.append(f"page size {self.size}" if self.size is not None else "default page size")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a walk.

    Attributes:
        exchange: The request and its answer.
        items: The page's records (``None`` when the answer is not the declared envelope).
        announced_next: Whether the page announced a next page.
    """

    exchange: Exchange
    items: list[Any] | None
    announced_next: bool


@dataclass(slots=True)
class Walk:
    """All pages of one plan, as far as the walk got.

    Attributes:
        lst: The list operation.
        plan: What was asked.
        access: As which tenant.
        pages: The pages, in order.
        stop: Why it ended.
    """

    lst: ListDecl
    plan: Plan
    access: Access
    pages: list[Page] = field(default_factory=list)
    stop: Stop = "end"

    @property
    def complete(self) -> bool:
        """Whether the walk reached the last page without trouble."""
        return self.stop == "end"

    @property
    def items(self) -> list[Any]:
        """Every record of every page, in order."""
        return [i for p in self.pages for i in (p.items or [])]

    def ids(self) -> list[str]:
        """IDs of every record, in order (``""`` for a record without one)."""
        key = self.lst.collection.id_field
        return [str(i.get(key, "")) if isinstance(i, Mapping) else "" for i in self.items]

    def page_of(self, index: int) -> Page:
        """The page holding the record at ``index`` of :attr:`items`."""
        seen = 0
        for page in self.pages:
            seen += len(page.items or [])
            if index < seen:
                return page
        return self.pages[-1]


class Walker:
    """Walks lists and caches the walks.

    Args:
        ctx: The promise context (HTTP, options).
    """

    #: Most pages a walk with a drawn (small) page size may take.
    SMALL_WALK_PAGES = 30

    def __init__(self, ctx: PromiseContext) -> None:
        self.ctx = ctx
        self._cache: dict[tuple[str, str, Plan, int | None], Walk] = {}

    def largest(self, lst: ListDecl) -> int | None:
        """The largest page size the document allows (``None``: unpaginated or undeclared)."""
        return lst.paging.maximum or lst.paging.default

    def reference(self, lst: ListDecl, plan: Plan, access: Access | None = None) -> Walk:
        """The walk of ``plan`` at the largest page size: what smaller pages are compared with."""
        return self.walk(lst, plan.with_size(self.largest(lst)), access)

    def affordable(self, lst: ListDecl, plan: Plan, size: int) -> int:
        """``size``, raised so that walking the plan takes at most :attr:`SMALL_WALK_PAGES` pages."""
        ref = self.reference(lst, plan)
        largest = self.largest(lst) or size
        floor = math.ceil(len(ref.items) / self.SMALL_WALK_PAGES) if ref.complete else largest // 2
        return max(1, min(largest, max(size, floor)))

    def walked(self, lst: ListDecl) -> list[Walk]:
        """Every walk of ``lst`` made so far, by any promise and as any tenant."""
        return [w for (label, *_), w in self._cache.items() if label == lst.op.label]

    def walk(self, lst: ListDecl, plan: Plan, access: Access | None = None, *, pages: int | None = None) -> Walk:
        """Every page of ``plan`` (cached); ``pages`` stops earlier (a walk that stops so is not complete)."""
        access = access or self.ctx.access
        key = (lst.op.label, access.label, plan, pages)
        if key not in self._cache:
            self._cache[key] = self._walk(lst, plan, access, pages)
        return self._cache[key]

    def _walk(self, lst: ListDecl, plan: Plan, access: Access, pages: int | None) -> Walk:
        walk = Walk(lst, plan, access)
        paging, env = lst.paging, lst.envelope
        query: dict[str, Any] = dict(plan.query)
        if paging.size_param and plan.size is not None:
            query[paging.size_param] = plan.size
        first = self.ctx.call(lst.op, access, path=dict(plan.path), params=query)
        seen: set[str] = set()
        exchange: Exchange | None = first
        budget = self.ctx.options.max_pages if plan.size in (None, self.largest(lst)) else self.SMALL_WALK_PAGES
        budget = min(budget, pages or budget)
        while exchange is not None:
            body = exchange.json()
            items = env.get(body, "items") if exchange.status == 200 else None
            if not isinstance(items, list):
                walk.pages.append(Page(exchange, None, False))
                walk.stop = "error"
                return walk
            nxt = self._next(lst, body, items, query, plan.size)
            walk.pages.append(Page(exchange, items, nxt is not None))
            if len(walk.pages) > 1 and not items:
                walk.stop = "empty"
                return walk
            if nxt is None:
                walk.stop = "end"
                return walk
            kind, value = nxt
            if value in seen:
                walk.stop = "cycle"
                return walk
            seen.add(value)
            if len(walk.pages) >= budget:
                walk.stop = "budget"
                return walk
            if kind == "url":
                if not self.ctx.client.same_origin(value):
                    walk.stop = "offsite"
                    return walk
                sent = {**access.headers_for(lst.op)}
                exchange = self.ctx.client.request("GET", value, headers=sent)
            else:
                assert paging.position_param is not None
                query = {**query, paging.position_param: value}
                exchange = self.ctx.call(lst.op, access, path=dict(plan.path), params=query)
        return walk

    def _next(
        self, lst: ListDecl, body: Any, items: list[Any], query: Mapping[str, Any], size: int | None
    ) -> tuple[str, str] | None:
        """How to ask for the next page: ``("url", link)``, ``("cursor", id)``, ``("position", n)``; None at the end."""
        paging, env = lst.paging, lst.envelope
        if not paging.paginated:
            return None
        if env.has("next_url"):
            link = env.get(body, "next_url")
            return ("url", str(link)) if link else None
        if paging.position == "id":
            more = env.get(body, "has_more") if env.has("has_more") else None
            cursor = env.get(body, "next_cursor") if env.has("next_cursor") else None
            if more is False or (more is None and not cursor):
                return None
            if not cursor and items and not paging.inclusive:
                cursor = items[-1].get(lst.collection.id_field) if isinstance(items[-1], Mapping) else None
            return ("cursor", str(cursor)) if cursor else None
        page_size = size or paging.default or len(items)
        if paging.position == "offset":
            offset = int(query.get(paging.position_param or "", 0) or 0)
            total = env.get(body, "total")
            more = offset + len(items) < total if isinstance(total, int) else len(items) >= page_size > 0
            return ("position", str(offset + page_size)) if more else None
        if paging.position == "page":
            page = int(query.get(paging.position_param or "", paging.first) or paging.first)
            return ("position", str(page + 1)) if len(items) >= page_size > 0 else None
        return None
