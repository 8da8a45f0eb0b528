"""Item promises: every answer of a list holds distinct records, each of the tenant that asked.

They read every page the other promises walked (filtered, sorted, at every page size, as either
tenant) and one walk of their own, so a list reachable only with known IDs (an invoice's
ledger) is judged on real answers, paginated or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.client import Exchange
from contracts.credentials import Access
from contracts.declarations import ListDecl
from contracts.promises.context import OperationRun, PromiseContext
from contracts.promises.walk import Plan, Walk
from contracts.registry import promise

#: Pages of its own walk each item promise reads (beyond the walks already made).
OWN_PAGES = 3


def _walks(ctx: PromiseContext, lst: ListDecl) -> list[Walk] | None:
    """The walks to judge: one of the promise's own, then every walk already made; ``None`` when out of reach."""
    path = ctx.scope_path(lst) if lst.scopes else {}
    if path is None:
        return None
    size = ctx.walker.largest(lst) if lst.paging.size_param else None
    own = ctx.walker.walk(lst, Plan((), tuple(sorted(path.items())), size), pages=OWN_PAGES)
    return [own, *(w for w in ctx.walker.walked(lst) if w is not own)]


def _unreachable(run: OperationRun, lst: ListDecl) -> None:
    run.skip(f"no known value for {', '.join(s.param for s in lst.scopes)} (give one with --param NAME=VALUE)")


@promise("ids_unique", "Every item of a list answer carries its ID, and no ID appears twice in one answer.")
def ids_unique(ctx: PromiseContext) -> None:
    """Look for an item without an ID, or an ID twice, on every page walked."""
    if not ctx.contract.lists:
        ctx.not_applicable("the API has no list operation")
        return
    for lst in ctx.contract.lists:
        with ctx.on(lst.op.label) as run:
            walks = _walks(ctx, lst)
            if walks is None:
                _unreachable(run, lst)
                continue
            pages = [p for w in walks for p in w.pages if p.items is not None]
            for page in pages:
                if _page_ids(run, lst, page.items or [], page.exchange):
                    break
            if not run.failed:
                run.note(f"{len(pages)} answers, {sum(len(p.items or []) for p in pages)} items")


def _page_ids(run: OperationRun, lst: ListDecl, items: list[Any], exchange: Exchange) -> bool:
    key = lst.collection.id_field
    seen: dict[str, int] = {}
    for index, item in enumerate(items, 1):
        ident = item.get(key) if isinstance(item, Mapping) else None
        if ident is None or ident == "":
            run.fail(
                f"item {index} of the answer has no {key!r}",
                f"every item with its {key!r}",
                f"{key!r} {'missing' if not isinstance(item, Mapping) or key not in item else repr(ident)}",
                exchange,
            )
            return True
        if str(ident) in seen:
            run.fail(
                f"{key} {ident!r} appears twice in one answer",
                "every item once",
                f"items {seen[str(ident)]} and {index} both with {key} {ident!r}",
                exchange,
            )
            return True
        seen[str(ident)] = index
    return False


@promise(
    "items_belong_to_tenant",
    "Where a record shows its tenant (zutax's tenant_id), every item listed shows the tenant that asked.",
)
def items_belong_to_tenant(ctx: PromiseContext) -> None:
    """Compare the tenant every walked item shows with the tenant selector of the request."""
    lists = [x for x in ctx.contract.lists if x.tenant_fields]
    if not lists:
        ctx.not_applicable("no record shows its tenant (a property 'from: tenant.<fact>' that a tenant selector names)")
        return
    for lst in lists:
        with ctx.on(lst.op.label) as run:
            walks = _walks(ctx, lst)
            if walks is None:
                _unreachable(run, lst)
                continue
            checked = 0
            for walk in walks:
                checked += _tenant_of_items(run, lst, walk)
                if run.failed:
                    break
            if not run.failed:
                run.note(f"{checked} items show their tenant ({', '.join(lst.tenant_fields)})")


def _selector(access: Access, name: str) -> str | None:
    return access.path_selectors.get(name) or access.header_selectors.get(name)


def _tenant_of_items(run: OperationRun, lst: ListDecl, walk: Walk) -> int:
    checked = 0
    for index, item in enumerate(walk.items):
        for prop, selector in lst.tenant_fields.items():
            wanted = _selector(walk.access, selector)
            if wanted is None or not isinstance(item, Mapping):
                continue
            checked += 1
            if str(item.get(prop)) != wanted:
                run.fail(
                    f"an item listed for tenant {walk.access.label!r} belongs to another tenant",
                    f"{prop} {wanted!r} (the {selector} of the request) on every item",
                    f"{item.get(lst.collection.id_field)!r} with {prop} {item.get(prop)!r}",
                    walk.page_of(index).exchange,
                )
                return checked
    return checked
