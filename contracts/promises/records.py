"""Record promises: the same record reads the same wherever it is listed.

A list and the detail operation agree on the same ID, and a nested collection (an invoice's
payments) agrees with the top-level one.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from hypothesis import strategies as st

from contracts.declarations import GetDecl, ListDecl, ScopeDecl
from contracts.promises.context import OperationRun, PromiseContext
from contracts.promises.walk import Plan
from contracts.registry import promise
from contracts.semantics import satisfies


def differences(a: Any, b: Any, prefix: str = "", names: tuple[str, str] = ("the list", "the detail")) -> list[str]:
    """Paths where two JSON values differ (``amount: 12.5 != '12.50'``); ``names`` say where each came from."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for key in list(dict.fromkeys([*a, *b])):
            where = f"{prefix}{key}"
            if key not in a:
                out.append(f"{where}: missing in {names[0]}, {b[key]!r} in {names[1]}")
            elif key not in b:
                out.append(f"{where}: {a[key]!r} in {names[0]}, missing in {names[1]}")
            else:
                out += differences(a[key], b[key], where + ".", names)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{prefix}{i}.", names)]
    if a != b or type(a) is not type(b):
        return [f"{prefix.rstrip('.') or 'record'}: {a!r} != {b!r}"]
    return []


@promise("list_detail_agree", "The detail operation returns the same record as the list, for the same ID.")
def list_detail_agree(ctx: PromiseContext) -> None:
    """Fetch listed records by ID and compare them field by field."""
    pairs = [(lst, ctx.contract.get_for(lst.collection)) for lst in ctx.contract.lists if not lst.scopes]
    found = [(lst, get) for lst, get in pairs if get is not None]
    if not found:
        ctx.not_applicable("no collection has both a list and a detail operation")
        return
    for lst, get in found:
        with ctx.on(get.op.label) as run:
            items = [i for i in ctx.sample_items(lst) if isinstance(i, Mapping) and i.get(lst.collection.id_field)]
            if not items:
                run.skip(f"{lst.op.label} returned no records to look up")
                continue
            explicit = [items[0], items[-1]]
            ctx.explore(run, st.sampled_from(items), partial(_compare, ctx, run, get), explicit=explicit)


def _compare(ctx: PromiseContext, run: OperationRun, get: GetDecl, item: Mapping[str, Any]) -> None:
    ident = str(item[get.collection.id_field])
    answer = ctx.call(get.op, ctx.access, path={get.key: ident})
    record = get.envelope.get(answer.json(), "item") if answer.status == 200 else None
    if record is None:
        run.fail(f"listed item {ident!r} cannot be fetched by its ID", "200 with the record", answer.describe(), answer)
        return
    diff = differences(item, record)
    if diff:
        run.fail(
            f"the detail of {ident!r} differs from the same record in the list",
            "the same record in both",
            f"{len(diff)} difference(s): {'; '.join(diff[:3])}",
            answer,
            details=diff[3:10],
        )


@promise(
    "nested_agrees_with_top_level",
    "A nested list (an invoice's payments) holds exactly the top-level records of that parent, unchanged.",
)
def nested_agrees_with_top_level(ctx: PromiseContext) -> None:
    """Compare each drawn parent's nested list with the top-level records that name that parent."""
    nested = [x for x in ctx.contract.lists if x.scopes]
    if not nested:
        ctx.not_applicable("no list operation is scoped to a parent")
        return
    for lst in nested:
        with ctx.on(lst.op.label) as run:
            scope = lst.scopes[0]
            values = ctx.scope_values(lst, scope.param)
            if not values:
                run.skip(f"no known value for {scope.param!r} (give one with --param {scope.param}=VALUE)")
                continue
            ctx.explore(run, st.sampled_from(values), partial(_nested, ctx, run, lst, scope), explicit=values[:1])


def _nested(ctx: PromiseContext, run: OperationRun, lst: ListDecl, scope: ScopeDecl, value: str) -> None:
    plan = Plan((), ((scope.param, value),), ctx.walker.largest(lst) if lst.paging.size_param else None)
    walk = ctx.walker.walk(lst, plan)
    if walk.stop == "error":
        page = walk.pages[-1]
        run.fail(f"the list of {scope.param}={value!r} is not answered", "200", page.exchange.describe(), page.exchange)
        return
    for index, item in enumerate(walk.items):
        if not satisfies(scope.field, "eq", value, item):
            run.fail(
                f"an item listed under {scope.param}={value!r} belongs to another parent",
                f"every item with {scope.field.shown()} = {value!r}",
                f"{item.get(lst.collection.id_field)!r} with {scope.field.raw(item)!r}",
                walk.page_of(index).exchange,
            )
            return
    top = ctx.contract.top_list_for(lst.collection)
    if top is None:
        return
    whole = ctx.walker.reference(top, Plan())
    if not walk.complete or not whole.complete:
        run.note("a walk hit the page budget: only each item's parent was checked")
        return
    key = lst.collection.id_field
    expected = {str(i.get(key)): i for i in whole.items if satisfies(scope.field, "eq", value, i)}
    got = {str(i.get(key)): i for i in walk.items}
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    if missing or extra:
        run.fail(
            f"the list of {scope.param}={value!r} does not hold the top-level records of that parent",
            f"{len(expected)} record(s) of {top.op.label} that name {value!r}",
            f"{len(got)}: missing {missing[:3]}, not in the top-level list {extra[:3]}",
            walk.pages[0].exchange,
        )
        return
    for ident, item in got.items():
        diff = differences(expected[ident], item, names=("the top-level list", "the nested list"))
        if diff:
            run.fail(
                f"record {ident!r} differs between {top.op.label} and the nested list",
                "the same record in both",
                "; ".join(diff[:3]),
                walk.pages[0].exchange,
            )
            return
