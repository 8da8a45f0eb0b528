"""State promises: documented transitions take effect, forbidden ones are refused.

A documented transition takes effect and the next read shows it; a transition from a status the
document does not allow is refused and changes nothing.

Both change state, so they run against a foreign URL only with ``--allow-writes``; against
paymock's own mock the kit resets the sandbox afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from hypothesis import strategies as st

from contracts.client import Exchange
from contracts.declarations import TransitionDecl
from contracts.promises.context import OperationRun, PromiseContext
from contracts.promises.walk import Plan
from contracts.registry import promise


def status_field(ctx: PromiseContext, t: TransitionDecl) -> str | None:
    """The record property that shows a record's status."""
    fields = ctx.contract.fields_from(t.collection, "status")
    return fields[0] if fields else None


def records_in(ctx: PromiseContext, t: TransitionDecl, statuses: Sequence[str], field: str) -> list[Mapping[str, Any]]:
    """Records of the collection whose status is one of ``statuses`` (filtered server-side when possible)."""
    top = ctx.contract.top_list_for(t.collection)
    if top is None:
        return []
    status_filter = next((f for f in top.filters if f.op == "eq" and f.field.path == (field,)), None)
    found: list[Mapping[str, Any]] = []
    if status_filter is not None:
        size = ctx.walker.largest(top)
        for status in statuses:
            walk = ctx.walker.walk(top, Plan(((status_filter.param, status),), (), size), pages=1)
            found += [i for i in walk.items if isinstance(i, Mapping)]
    else:
        found = [i for i in ctx.sample_items(top) if isinstance(i, Mapping)]
    key = t.collection.id_field
    return [i for i in found if i.get(field) in statuses and i.get(key) and str(i[key]) not in ctx.touched]


def _send(ctx: PromiseContext, t: TransitionDecl, ident: str) -> Exchange:
    body: dict[str, Any] | None = {} if t.op.body_required else None
    return ctx.call(t.op, ctx.access, path={t.key: ident}, json_body=body)


def _read_status(ctx: PromiseContext, t: TransitionDecl, ident: str, field: str) -> tuple[Any, Exchange | None]:
    get = ctx.contract.get_for(t.collection)
    if get is None:
        return None, None
    answer = ctx.call(get.op, ctx.access, path={get.key: ident})
    record = get.envelope.get(answer.json(), "item") if answer.status == 200 else None
    return (record.get(field) if isinstance(record, Mapping) else None), answer


@promise(
    "state_changes_visible",
    "A documented transition (such as mark-paid or cancel) takes effect, and the next read shows the new status.",
    writes=True,
)
def state_changes_visible(ctx: PromiseContext) -> None:
    """Move records out of allowed statuses and read them back."""
    if not ctx.contract.transitions:
        ctx.not_applicable("the API declares no state transition")
        return
    for t in ctx.contract.transitions:
        with ctx.on(t.op.label) as run:
            field = status_field(ctx, t)
            if field is None:
                run.skip(f"no property of {t.collection.name!r} shows its status")
                continue
            candidates = records_in(ctx, t, t.allowed, field)
            if not candidates:
                run.skip(f"no record in status {', '.join(t.allowed)} to move to {t.to!r}")
                continue
            used: set[str] = set()
            ctx.explore(
                run,
                st.sampled_from(candidates),
                partial(_move, ctx, run, t, field, used),
                explicit=candidates[:1],
                examples=min(3, ctx.options.promise_examples),
            )


def _move(
    ctx: PromiseContext, run: OperationRun, t: TransitionDecl, field: str, used: set[str], item: Mapping[str, Any]
) -> None:
    ident = str(item[t.collection.id_field])
    if ident in used:
        return
    used.add(ident)
    before, _ = _read_status(ctx, t, ident, field)
    if before is not None and before not in t.allowed:
        return  # changed since it was listed: no longer a candidate
    before = before or item.get(field)
    ctx.touched.add(ident)
    answer = _send(ctx, t, ident)
    record = t.envelope.get(answer.json(), "item") if 200 <= answer.status < 300 else None
    if not isinstance(record, Mapping):
        run.fail(
            f"{ident!r} in status {before!r} cannot be moved to {t.to!r}",
            f"2xx with the record (the document allows {t.op.label} from {', '.join(t.allowed)})",
            answer.describe(),
            answer,
        )
        return
    if record.get(field) != t.to:
        run.fail(
            f"the answer to {t.op.label} does not show the new status",
            f"{field} {t.to!r}",
            f"{field} {record.get(field)!r}",
            answer,
        )
        return
    for fact in t.sets:
        for prop in ctx.contract.fields_from(t.collection, fact):
            if record.get(prop) is None:
                run.fail(
                    f"the answer to {t.op.label} leaves {prop!r} empty",
                    f"{prop} set by the transition (it sets {fact})",
                    f"{prop} {record.get(prop)!r}",
                    answer,
                )
                return
    now, read = _read_status(ctx, t, ident, field)
    if read is not None and now != t.to:
        run.fail(
            f"after {t.op.label} on {ident!r} (answered {answer.status}), the next read shows the old status",
            f"{field} {t.to!r}",
            f"{field} {now!r} ({read.describe()})",
            read,
            details=[f"the transition: {answer.curl}"],
        )


@promise(
    "forbidden_transition_refused",
    "A transition from a status the document does not allow (a second mark-paid or cancel) is refused "
    "with a documented 4xx and changes nothing.",
    writes=True,
)
def forbidden_transition_refused(ctx: PromiseContext) -> None:
    """Repeat a transition, and try it on records in statuses it does not allow."""
    if not ctx.contract.transitions:
        ctx.not_applicable("the API declares no state transition")
        return
    for t in ctx.contract.transitions:
        with ctx.on(t.op.label) as run:
            field = status_field(ctx, t)
            if field is None:
                run.skip(f"no property of {t.collection.name!r} shows its status")
                continue
            forbidden = [s for s in t.collection.statuses if s not in t.allowed]
            if not forbidden:
                run.skip(f"{t.op.label} is allowed from every status")
                continue
            candidates = records_in(ctx, t, forbidden, field)
            if t.to not in t.allowed:
                movable = records_in(ctx, t, t.allowed, field)
                if movable:
                    _twice(ctx, run, t, movable[-1], field)
            if not candidates:
                if not run.failed:
                    run.note(f"no record in status {', '.join(forbidden)}; only the repeated transition was tried")
                continue
            ctx.explore(
                run,
                st.sampled_from(candidates),
                partial(_refuse, ctx, run, t, field),
                explicit=candidates[:1],
                examples=min(3, ctx.options.promise_examples),
            )


def _twice(ctx: PromiseContext, run: OperationRun, t: TransitionDecl, item: Mapping[str, Any], field: str) -> None:
    ident = str(item[t.collection.id_field])
    ctx.touched.add(ident)
    first = _send(ctx, t, ident)
    if not 200 <= first.status < 300:
        return  # not this promise's business: state_changes_visible reports it
    _refuse(ctx, run, t, field, {**item, field: t.to}, again=first)


def _refuse(
    ctx: PromiseContext,
    run: OperationRun,
    t: TransitionDecl,
    field: str,
    item: Mapping[str, Any],
    again: Exchange | None = None,
) -> None:
    ident = str(item[t.collection.id_field])
    before = item.get(field)
    ctx.touched.add(ident)
    answer = _send(ctx, t, ident)
    refused = 400 <= answer.status < 500 and t.op.documents(answer.status)
    what = "a second time" if again is not None else f"from status {before!r}"
    if not refused:
        run.fail(
            f"{t.op.label} on {ident!r} {what} is not refused",
            f"a documented 4xx (the document allows {t.to!r} only from {', '.join(t.allowed)}; "
            f"conflicts are {ctx.contract.error_status('conflict')})",
            answer.describe(),
            answer,
            details=[f"first transition: {again.curl}"] if again is not None else [],
        )
        return
    now, read = _read_status(ctx, t, ident, field)
    if read is not None and now != before:
        run.fail(
            f"a refused {t.op.label} on {ident!r} still changed its status",
            f"{field} {before!r}",
            f"{field} {now!r}",
            read,
        )
