"""Filter and order promises: filters hold, and so does every documented order.

Every returned item satisfies every filter requested, no matching item is left out (checked
against the unfiltered list where that list is small enough to read whole), and the order holds
for every documented sort key and direction (two-key signed sorts with their own ``-``/``+``
meaning included).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from statistics import median_low

from hypothesis import strategies as st

from contracts.declarations import FilterDecl, ListDecl, SortChoice
from contracts.promises.context import OperationRun, PromiseContext
from contracts.promises.values import choices, filter_sets, holds, key_of, out_of_order, shown
from contracts.promises.walk import Plan, Walk
from contracts.registry import promise

#: Pages of each order that sort_order reads (the order must hold across their boundaries).
SORT_PAGES = 2
#: Pages of each filtered list that filters_hold reads.
FILTER_PAGES = 3
#: Pages (at the largest page size) of the unfiltered list that completeness may read: beyond
#: them, only what is returned is judged, and the outcome says so.
COMPLETENESS_PAGES = 10


def _explicit_value(flt: FilterDecl, values: list[str]) -> str:
    """A value that keeps some records out: the median for a range, the first seen for equality."""
    return median_low(values) if flt.op in ("gte", "lte") else values[0]


@promise(
    "filters_hold",
    "Every returned item satisfies every filter requested, and no matching item is left out "
    "(where the unfiltered list is small enough to compare with).",
)
def filters_hold(ctx: PromiseContext) -> None:
    """Each filter alone, then drawn combinations, with values taken from returned records."""
    lists = [x for x in ctx.contract.lists if x.filters]
    if not lists:
        ctx.not_applicable("no list operation declares a filter")
        return
    for lst in lists:
        with ctx.on(lst.op.label) as run:
            path = ctx.scope_path(lst) if lst.scopes else {}
            if path is None:
                run.skip(f"no known value for {', '.join(s.param for s in lst.scopes)}")
                continue
            values = choices(lst.filters, ctx.sample_items(lst))
            if not values:
                run.skip("no records to take filter values from")
                continue
            by_param = {f.param: f for f in lst.filters}
            path_items = tuple(sorted(path.items()))
            explicit = [Plan(((p, _explicit_value(by_param[p], v)),), path_items) for p, v in values.items()]
            plans = st.builds(Plan, query=filter_sets(values, min_size=1, max_size=3), path=st.just(path_items))
            checked: list[int] = []
            whole = ctx.walker.walk(lst, Plan((), path_items, ctx.walker.largest(lst)), pages=COMPLETENESS_PAGES)
            reference = whole if whole.complete else None
            test = partial(_check_filters, ctx, run, lst, checked, reference)
            ctx.explore(run, plans, test, explicit=explicit)
            note = f"{len(checked)} filter combinations, {sum(checked)} items checked"
            if reference is not None:
                note += f"; none missing from the {len(reference.items)} items of the unfiltered list"
            else:
                note += (
                    f"; completeness not checked: the unfiltered list is longer than {COMPLETENESS_PAGES} pages "
                    f"of {ctx.walker.largest(lst) or 'the default size'}"
                    if whole.stop == "budget"
                    else "; completeness not checked: the unfiltered list could not be read to its end"
                )
            run.note(note)


def _check_filters(
    ctx: PromiseContext, run: OperationRun, lst: ListDecl, checked: list[int], reference: Walk | None, plan: Plan
) -> None:
    pages = COMPLETENESS_PAGES if reference is not None else FILTER_PAGES
    walk = ctx.walker.walk(lst, plan.with_size(ctx.walker.largest(lst)), pages=pages)
    checked.append(len(walk.items))
    filters = {f.param: f for f in lst.filters}
    _judge_filters(run, walk, filters)
    if not run.failed and reference is not None and walk.complete:
        _judge_completeness(run, walk, reference, filters)


def _judge_completeness(run: OperationRun, walk: Walk, reference: Walk, filters: Mapping[str, FilterDecl]) -> None:
    """Every item of the unfiltered list that satisfies the filters is in the filtered one."""
    got = set(walk.ids())
    wanted = [
        ident
        for ident, item in zip(reference.ids(), reference.items, strict=True)
        if all(holds(filters[p], wire, item) for p, wire in walk.plan.query if p in filters)
    ]
    missing = [ident for ident in wanted if ident not in got]
    if missing:
        index = reference.ids().index(missing[0])
        run.fail(
            f"{len(missing)} item(s) that satisfy the filter are missing from the filtered list "
            f"({walk.plan.describe()})",
            f"the {len(wanted)} items of the unfiltered list that satisfy it",
            f"{len(walk.items)} items; missing e.g. {missing[:3]}",
            walk.pages[0].exchange,
            details=[f"{missing[0]!r} is listed here without the filter: {reference.page_of(index).exchange.curl}"],
        )


def _judge_filters(run: OperationRun, walk: Walk, filters: Mapping[str, FilterDecl]) -> None:
    if walk.stop == "error":
        page = walk.pages[-1]
        run.fail(
            f"the filtered list is not answered ({walk.plan.describe()})",
            "200",
            page.exchange.describe(),
            page.exchange,
        )
        return
    for index, item in enumerate(walk.items):
        for param, wire in walk.plan.query:
            flt = filters.get(param)
            if flt is not None and not holds(flt, wire, item):
                ident = item.get(walk.lst.collection.id_field) if isinstance(item, Mapping) else None
                where = flt.field.shown()
                op = {"eq": "=", "gte": ">=", "lte": "<="}.get(flt.op, flt.op)
                run.fail(
                    f"item {ident!r} does not satisfy the filter {param}={wire!r} ({walk.plan.describe()})",
                    f"every item with {where} {op} {wire!r}",
                    f"{where} = {shown(flt, item)!r} (as the record shows it: {flt.field.raw(item)!r})",
                    walk.page_of(index).exchange,
                )
                return


def _sort_choices(lst: ListDecl) -> tuple[list[SortChoice], st.SearchStrategy[SortChoice]]:
    sort = lst.sort
    assert sort is not None
    return sort.explicit(), sort.orders()


@promise(
    "sort_order",
    "Items come in the documented order for every sort key and direction, across page boundaries (ties allowed).",
)
def sort_order(ctx: PromiseContext) -> None:
    """Read the first pages of every documented order and compare neighbouring items."""
    lists = [x for x in ctx.contract.lists if x.sort is not None]
    if not lists:
        ctx.not_applicable("no list operation declares an order")
        return
    for lst in lists:
        with ctx.on(lst.op.label) as run:
            path = ctx.scope_path(lst) if lst.scopes else {}
            if path is None:
                run.skip(f"no known value for {', '.join(s.param for s in lst.scopes)}")
                continue
            explicit, drawn = _sort_choices(lst)
            tried: list[str] = []
            ctx.explore(run, drawn, partial(_check_order, ctx, run, lst, path, tried), explicit=explicit)
            run.note(f"{len(tried)} orders checked")


def _check_order(
    ctx: PromiseContext, run: OperationRun, lst: ListDecl, path: dict[str, str], tried: list[str], choice: SortChoice
) -> None:
    assert lst.sort is not None
    query = () if choice.value is None or lst.sort.param is None else ((lst.sort.param, choice.value),)
    size = ctx.walker.largest(lst) if lst.paging.size_param else None
    walk = ctx.walker.walk(lst, Plan(query, tuple(sorted(path.items())), size), pages=SORT_PAGES)
    tried.append(choice.describe())
    _judge_order(run, walk, choice)


def _judge_order(run: OperationRun, walk: Walk, choice: SortChoice) -> None:
    if walk.stop == "error":
        page = walk.pages[-1]
        run.fail(
            f"the sorted list is not answered: {choice.describe()}", "200", page.exchange.describe(), page.exchange
        )
        return
    items = walk.items
    for index in range(1, len(items)):
        a, b = items[index - 1], items[index]
        if out_of_order(choice.keys, a, b):
            id_field = walk.lst.collection.id_field
            run.fail(
                f"items {index} and {index + 1} are out of order for {choice.describe()}",
                f"items ordered by {', '.join(k.describe() for k in choice.keys)} (ties allowed)",
                f"{a.get(id_field)!r} with {list(key_of(choice.keys, a))} followed by "
                f"{b.get(id_field)!r} with {list(key_of(choice.keys, b))}",
                walk.page_of(index).exchange,
            )
            return
