"""Pagination promises: whole walks, page sizes, counts, limits, and the last page.

A walk returns every matching item exactly once, pages respect their size, counts agree, defaults
and maxima behave as documented, and the last page announces no next one.

Plans are drawn by hypothesis: a page size, up to two filters with values taken from records
actually returned, and (where the list has a sort parameter) an order. Each plan is walked twice,
at the largest page size (the reference) and at the drawn one, and the two walks must agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hypothesis import strategies as st

from contracts.declarations import ListDecl
from contracts.promises.context import OperationRun, PromiseContext
from contracts.promises.values import choices, filter_sets
from contracts.promises.walk import Plan, Walk
from contracts.registry import promise


def _query_strategy(
    ctx: PromiseContext, lst: ListDecl, values: dict[str, list[str]]
) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    filters = filter_sets(values) if values else st.just(())
    sort = lst.sort
    if sort is None or sort.param is None:
        return filters
    param = sort.param
    choices_ = sort.orders()

    @st.composite
    def draw(draw_value: st.DrawFn) -> tuple[tuple[str, str], ...]:
        query = draw_value(filters)
        order = draw_value(st.one_of(st.none(), choices_))
        return query if order is None or order.value is None else (*query, (param, order.value))

    return draw()


def plans(ctx: PromiseContext, lst: ListDecl) -> tuple[st.SearchStrategy[Plan], list[Plan]] | None:
    """Drawn and explicit plans for a list, or ``None`` when its scope values are unknown."""
    path = ctx.scope_path(lst) if lst.scopes else {}
    if path is None:
        return None
    items = ctx.sample_items(lst)
    values = choices(lst.filters, items)
    largest = ctx.walker.largest(lst) or 1
    smallest = max(1, lst.paging.minimum or 1)
    path_items = tuple(sorted(path.items()))
    strategy = st.builds(
        Plan,
        query=_query_strategy(ctx, lst, values),
        path=st.just(path_items),
        size=st.integers(smallest, largest) if lst.paging.size_param else st.none(),
    )
    size = smallest if lst.paging.size_param else None
    explicit = [Plan((), path_items, size)]
    # A value held by a single sample record makes a short list: small pages, many boundaries.
    for param, options in values.items():
        flt = next(f for f in lst.filters if f.param == param)
        if flt.op == "eq" and options:
            explicit.append(Plan(((param, options[0]),), path_items, size))
            break
    return strategy, explicit


def _explore_walks(
    ctx: PromiseContext, judge: Callable[[OperationRun, ListDecl, Plan], None], *, paginated: bool
) -> None:
    lists = [x for x in ctx.contract.lists if x.paging.paginated or not paginated]
    if not lists:
        ctx.not_applicable("no list operation is paginated" if paginated else "the API has no list operation")
        return
    for lst in lists:
        with ctx.on(lst.op.label) as run:
            found = plans(ctx, lst)
            if found is None:
                run.skip(
                    f"no known value for {', '.join(s.param for s in lst.scopes)} (give one with --param NAME=VALUE)"
                )
                continue
            strategy, explicit = found
            ctx.explore(run, strategy, partial(judge, run, lst), explicit=explicit)


def _sized(ctx: PromiseContext, lst: ListDecl, plan: Plan) -> Plan:
    """The plan at its drawn size, made affordable, and different from the reference size."""
    if plan.size is None or lst.paging.size_param is None:
        return plan
    size = ctx.walker.affordable(lst, plan, plan.size)
    largest = ctx.walker.largest(lst)
    if size == largest and size > 1:
        size -= 1
    return plan.with_size(size)


def _walk_trouble(run: OperationRun, walk: Walk) -> bool:
    """Record what makes a walk unusable (an error page, a cycle, a link elsewhere)."""
    last = walk.pages[-1]
    where = f"page {len(walk.pages)} of the walk ({walk.plan.describe()})"
    if walk.stop == "error":
        run.fail(
            f"{where} is not a page of the list",
            "200 with the documented envelope",
            last.exchange.describe(),
            last.exchange,
        )
    elif walk.stop == "cycle":
        run.fail(
            f"the walk does not terminate: {where} leads back to a page already visited",
            "every next page to be new, and the walk to end",
            "a cursor or link seen before",
            last.exchange,
        )
    elif walk.stop == "offsite":
        run.fail(
            f"{where} links to another site",
            "next links below the base URL",
            f"a next link outside {walk.lst.op.label}",
            last.exchange,
        )
    return run.failed


def _duplicates(run: OperationRun, walk: Walk) -> None:
    seen: dict[str, int] = {}
    for index, ident in enumerate(walk.ids()):
        if ident in seen:
            first, again = walk.page_of(seen[ident]), walk.page_of(index)
            run.fail(
                f"item {ident!r} is returned twice ({walk.plan.describe()})",
                "every item exactly once",
                f"{ident!r} on page {walk.pages.index(first) + 1} and again on page {walk.pages.index(again) + 1}",
                again.exchange,
            )
            return
        seen[ident] = index


def _gap(run: OperationRun, ref: Walk, walk: Walk) -> None:
    ref_ids, ids = ref.ids(), walk.ids()
    if ref.complete and walk.complete:
        missing = [i for i in ref_ids if i not in set(ids)]
        extra = [i for i in ids if i not in set(ref_ids)]
        if not missing and not extra:
            return
        exchange = walk.pages[0].exchange
        if missing:
            index = ref_ids.index(missing[0])
            before = ref_ids[index - 1] if index else None
            if before in ids:
                at = ids.index(before)
                exchange = walk.page_of(min(at + 1, len(ids) - 1)).exchange
        run.fail(
            f"walking at page size {walk.plan.size} does not return the same items as at page size {ref.plan.size} "
            f"({walk.plan.describe()})",
            f"the same {len(ref_ids)} items at any page size",
            f"{len(ids)} items: {len(missing)} missing (e.g. {missing[:3]}), "
            f"{len(extra)} unexpected (e.g. {extra[:3]})",
            exchange,
            details=[f"walk with the largest pages: {ref.pages[0].exchange.curl}"],
        )
        return
    # One walk hit its page budget: the order is total, so the common prefix must match.
    n = min(len(ref_ids), len(ids))
    for index in range(n):
        if ref_ids[index] != ids[index]:
            run.fail(
                f"item {index + 1} differs between page sizes {walk.plan.size} and {ref.plan.size} "
                f"({walk.plan.describe()})",
                f"{ref_ids[index]!r} (as with the largest pages)",
                repr(ids[index]),
                walk.page_of(index).exchange,
            )
            return


@promise(
    "pagination_covers_exactly_once",
    "A walk over all pages, with any page size, filters and sort, returns every matching item exactly once and ends.",
)
def pagination_covers_exactly_once(ctx: PromiseContext) -> None:
    """Walk drawn plans at the largest and at a drawn page size; the walks must agree."""

    def judge(run: OperationRun, lst: ListDecl, plan: Plan) -> None:
        ref = ctx.walker.reference(lst, plan)
        if _walk_trouble(run, ref):
            return
        _duplicates(run, ref)
        walk = ctx.walker.walk(lst, _sized(ctx, lst, plan))
        if run.failed or _walk_trouble(run, walk):
            return
        _duplicates(run, walk)
        if not run.failed and walk.plan != ref.plan:
            _gap(run, ref, walk)

    _explore_walks(ctx, judge, paginated=True)


@promise("page_size_within_limit", "No page holds more items than the page size requested (or the default).")
def page_size_within_limit(ctx: PromiseContext) -> None:
    """Every page of drawn walks holds at most the requested number of items."""

    def judge(run: OperationRun, lst: ListDecl, plan: Plan) -> None:
        walk = ctx.walker.walk(lst, _sized(ctx, lst, plan))
        limit = walk.plan.size or lst.paging.default
        if limit is None:
            return
        for number, page in enumerate(walk.pages, 1):
            if page.items is not None and len(page.items) > limit:
                run.fail(
                    f"page {number} holds more items than requested ({walk.plan.describe()})",
                    f"at most {limit} items",
                    f"{len(page.items)} items",
                    page.exchange,
                )
                return

    _explore_walks(ctx, judge, paginated=True)


def _requested(page_url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(page_url).query, keep_blank_values=True))


@promise(
    "counts_agree",
    "Counts the API reports (items on the page, total, limit, offset, page) agree with what it returns.",
)
def counts_agree(ctx: PromiseContext) -> None:
    """Compare every reported count of drawn walks with the walk itself."""

    def judge(run: OperationRun, lst: ListDecl, plan: Plan) -> None:
        env, paging = lst.envelope, lst.paging
        walk = ctx.walker.walk(lst, _sized(ctx, lst, plan))
        totals = set()
        for number, page in enumerate(walk.pages, 1):
            if page.items is None:
                return
            body = page.exchange.json()
            asked = _requested(page.exchange.url)
            expect: list[tuple[str, Any, Any]] = [("count", len(page.items), env.get(body, "count"))]
            size = walk.plan.size or paging.default
            if paging.position == "offset" and size is not None:
                expect.append(("limit", size, env.get(body, "limit")))
                expect.append(("offset", int(asked.get(paging.position_param or "", 0) or 0), env.get(body, "offset")))
            if paging.position == "page" and size is not None:
                expect.append(("page_size", size, env.get(body, "page_size")))
                number = int(asked.get(paging.position_param or "", paging.first) or paging.first)
                expect.append(("page", number, env.get(body, "page")))
            if env.has("has_more") and env.has("next_cursor"):
                expect.append(("has_more", env.get(body, "next_cursor") is not None, env.get(body, "has_more")))
            for name, wanted, got in expect:
                if env.has(name) and got != wanted:
                    run.fail(
                        f"page {number} reports {name} {got!r} ({walk.plan.describe()})",
                        f"{name} {wanted!r}, as the page shows",
                        f"{name} {got!r}",
                        page.exchange,
                    )
                    return
            if env.has("total"):
                totals.add(env.get(body, "total"))
        if len(totals) > 1:
            run.fail(
                f"the total changes from page to page ({walk.plan.describe()})",
                "one total for the whole walk",
                f"totals {sorted(totals, key=str)}",
                walk.pages[-1].exchange,
            )
        elif totals and walk.complete and totals != {len(walk.items)}:
            run.fail(
                f"the reported total is not the number of items the walk returns ({walk.plan.describe()})",
                f"total {len(walk.items)}",
                f"total {next(iter(totals))!r}",
                walk.pages[0].exchange,
            )

    _explore_walks(ctx, judge, paginated=False)


@promise("last_page_has_no_next", "The page holding the last item announces no further page.")
def last_page_has_no_next(ctx: PromiseContext) -> None:
    """A next page announced by a walk must hold items."""

    def judge(run: OperationRun, lst: ListDecl, plan: Plan) -> None:
        walk = ctx.walker.walk(lst, _sized(ctx, lst, plan))
        first = walk.pages[0]
        if len(walk.pages) == 1 and first.items == [] and first.announced_next:
            run.fail(
                f"an empty list announces a next page ({walk.plan.describe()})",
                "no next page",
                "a next page announced",
                first.exchange,
            )
        elif walk.stop == "empty":
            last = walk.pages[-2]
            run.fail(
                f"page {len(walk.pages) - 1} announces a next page, which is empty ({walk.plan.describe()})",
                "the page holding the last item announces no next page",
                f"a next page with no items: {walk.pages[-1].exchange.url}",
                last.exchange,
            )

    _explore_walks(ctx, judge, paginated=True)


def _boundary_cases(lst: ListDecl) -> Sequence[tuple[str, int | None]]:
    paging = lst.paging
    cases: list[tuple[str, int | None]] = [("default", None)]
    if paging.maximum is not None:
        cases += [("maximum", paging.maximum), ("above", paging.maximum + 1)]
    if paging.minimum is not None:
        cases.append(("below", paging.minimum - 1))
    return cases


@promise(
    "limits_and_defaults",
    "Without a page size the documented default applies; the maximum is accepted; beyond the limits "
    "the request is refused with a documented 4xx (or capped, where the document says so).",
)
def limits_and_defaults(ctx: PromiseContext) -> None:
    """Ask for the default, the maximum, one above it and one below the minimum."""
    lists = [x for x in ctx.contract.lists if x.paging.size_param is not None]
    if not lists:
        ctx.not_applicable("no list operation has a page-size parameter")
        return
    for lst in lists:
        with ctx.on(lst.op.label) as run:
            path = ctx.scope_path(lst) if lst.scopes else {}
            if path is None:
                run.skip(
                    f"no known value for {', '.join(s.param for s in lst.scopes)} (give one with --param NAME=VALUE)"
                )
                continue
            _limits(ctx, run, lst, path)


def _limits(ctx: PromiseContext, run: OperationRun, lst: ListDecl, path: dict[str, str]) -> None:
    paging, env = lst.paging, lst.envelope
    assert paging.size_param is not None
    for case, size in _boundary_cases(lst):
        params = {} if size is None else {paging.size_param: size}
        answer = ctx.call(lst.op, ctx.access, path=path, params=params)
        items = ctx.items_of(lst, answer)
        refused = 400 <= answer.status < 500 and lst.op.documents(answer.status)
        label = f"{paging.size_param}={size}" if size is not None else f"no {paging.size_param}"
        if case == "default":
            if items is None:
                run.fail(f"the list without {paging.size_param} is not answered", "200", answer.describe(), answer)
                return
            more = lst.envelope.get(answer.json(), "has_more") or lst.envelope.get(answer.json(), "next_url")
            default = paging.default
            if default is not None and (len(items) > default or (more and len(items) != default)):
                run.fail(
                    f"{label}: the default page size is not applied",
                    f"{default} items (the documented default)" + ("" if more else " or fewer on the only page"),
                    f"{len(items)} items",
                    answer,
                )
                return
            if default is not None and env.has("limit") and env.get(answer.json(), "limit") != default:
                run.fail(
                    f"{label}: the page reports a limit other than the default",
                    f"limit {default}",
                    f"limit {env.get(answer.json(), 'limit')!r}",
                    answer,
                )
                return
        elif case == "maximum" or (case == "above" and paging.cap):
            assert paging.maximum is not None
            if items is None or len(items) > paging.maximum:
                run.fail(
                    f"{label}: the maximum page size is not honoured",
                    f"200 with at most {paging.maximum} items",
                    answer.describe() if items is None else f"{len(items)} items",
                    answer,
                )
                return
        elif not refused:
            run.fail(
                f"{label} is outside the documented range but is not refused",
                "a documented 4xx" + (f" (this operation documents {', '.join(lst.op.statuses())})"),
                answer.describe(),
                answer,
            )
            return
