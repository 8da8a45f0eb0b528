"""Access promises: credentials required, tenants kept apart, echoed headers echoed.

A request without credentials or with a tampered key is refused; a second tenant can neither list,
read nor select the first tenant's records; the headers the document says are echoed come back.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from functools import partial
from typing import Any

from hypothesis import strategies as st

from contracts.client import Exchange
from contracts.credentials import Access
from contracts.declarations import ListDecl, Operation
from contracts.promises.context import OperationRun, PromiseContext
from contracts.promises.values import valid
from contracts.promises.walk import Plan
from contracts.registry import promise

#: A well-formed ID that no record has (tried where a real one is unknown or must not be touched).
ABSENT_ID = "00000000-0000-4000-8000-000000000000"


def mutate(value: str, count: int = 6) -> str:
    """``value`` with its last ``count`` letters and digits changed, each within its own class.

    A key stays well-formed (same length and character classes) but is no longer the tenant's.
    """
    chars = list(value)
    changed = 0
    for i in range(len(chars) - 1, -1, -1):
        c = chars[i]
        for alphabet in (string.digits, string.ascii_lowercase, string.ascii_uppercase):
            if c in alphabet:
                chars[i] = alphabet[(alphabet.index(c) + 7) % len(alphabet)]
                changed += 1
                break
        if changed == count:
            break
    return "".join(chars)


def path_values(ctx: PromiseContext, op: Operation, *, real: bool) -> dict[str, str]:
    """Values for ``op``'s non-tenant path parameters: known IDs when ``real``, else an absent ID."""
    out: dict[str, str] = {}
    role = op.roles
    for name in op.path_parameters():
        if name in ctx.access.path_selectors:
            continue
        value = ctx.access.params.get(name)
        if value is None and real and role.get(name) == "key":
            collection = str(op.block.get("collection", ""))
            ids = ctx.known_ids(collection)
            value = ids[0] if ids else None
        if value is None and real and role.get(name) == "scope":
            lst = next((x for x in ctx.contract.lists if x.op is op), None)
            values = ctx.scope_values(lst, name) if lst is not None else []
            value = values[0] if values else None
        out[name] = value if value is not None else ABSENT_ID
    return out


def _writes(op: Operation) -> bool:
    return op.method not in ("GET", "HEAD", "OPTIONS") and op.secured


@promise("auth_required", "A request without credentials, or with wrong ones, is refused with the documented 401.")
def auth_required(ctx: PromiseContext) -> None:
    """Send each secured operation a valid request without credentials, then with a tampered key."""
    ops = [op for op in ctx.contract.operations if op.secured]
    if not ops:
        ctx.not_applicable("no operation requires credentials")
        return
    expected = ctx.contract.error_status("unauthorized")
    auth_names = {h.lower() for h in ctx.contract.auth_headers}
    for op in ops:
        with ctx.on(op.label) as run:
            path = path_values(ctx, op, real=not _writes(op))
            selectors = ctx.access.header_selectors
            given = {k: v for k, v in ctx.access.headers.items() if k.lower() in auth_names}
            if not given:
                run.skip("the credentials carry no header the document declares for authentication")
                continue
            variants = [
                ("without credentials", dict(selectors)),
                ("with a tampered key", {**selectors, **{k: mutate(v) for k, v in given.items()}}),
            ]
            for what, headers in variants:
                answer = ctx.call(op, None, path={**ctx.access.path_for(op), **path}, headers=headers)
                if answer.status != expected:
                    run.fail(
                        f"a request {what} is not refused",
                        f"{expected} (the document's 'unauthorized' answer)",
                        answer.describe(),
                        answer,
                    )
                    break


@promise(
    "tenant_isolation",
    "One tenant cannot list, read or select another tenant's data.",
)
def tenant_isolation(ctx: PromiseContext) -> None:
    """With a second tenant's credentials, try to reach the first tenant's records."""
    other = ctx.other
    if other is None:
        ctx.not_applicable(
            "needs a second tenant's credentials (--credentials FILE with two tenants, or paymock's mock)"
        )
        return
    for op in ctx.contract.operations:
        if not op.secured or (_writes(op) and not ctx.options.allow_writes):
            continue
        with ctx.on(op.label) as run:
            lst = next((x for x in ctx.contract.lists if x.op is op), None)
            if lst is not None and not lst.scopes:
                _lists_apart(ctx, run, lst, other)
            elif op.path_parameters():
                _reads_refused(ctx, run, op, other)
            if not run.failed:
                _selectors_bound(ctx, run, op, other)


def _refusal(ctx: PromiseContext) -> set[int]:
    return {ctx.contract.error_status("forbidden"), ctx.contract.error_status("not_found")}


def _fingerprint(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def _lists_apart(ctx: PromiseContext, run: OperationRun, lst: ListDecl, other: Access) -> None:
    # Two tenants may number their records alike; a leak is one tenant's very record in the other's list.
    mine = ctx.walker.reference(lst, Plan())
    theirs = ctx.walker.reference(lst, Plan(), access=other)
    mine_records = {_fingerprint(i) for i in mine.items}
    for index, item in enumerate(theirs.items):
        if _fingerprint(item) in mine_records:
            ident = item.get(lst.collection.id_field) if isinstance(item, Mapping) else item
            run.fail(
                f"tenant {other.label!r} is shown a record of tenant {ctx.access.label!r}",
                f"only {other.label!r}'s own records",
                f"{ident!r}, which {ctx.access.label!r} lists too",
                theirs.page_of(index).exchange,
            )
            return


def _reads_refused(ctx: PromiseContext, run: OperationRun, op: Operation, other: Access) -> None:
    path = path_values(ctx, op, real=True)
    if ABSENT_ID in path.values():
        run.note("no record of the first tenant is known here; only tenant selectors were tried")
        return
    answer = ctx.call(op, other, path={**other.path_for(op), **path})
    if answer.status == 200 and not _shows_mine(ctx, op, answer, path):
        return  # the other tenant's own record (or list) under the same ID: IDs need not be global
    if answer.status not in _refusal(ctx):
        run.fail(
            f"tenant {other.label!r} reaches {ctx.access.label!r}'s {', '.join(path.values())}",
            f"{' or '.join(map(str, sorted(_refusal(ctx))))}",
            answer.describe(),
            answer,
        )


def _shows_mine(ctx: PromiseContext, op: Operation, answer: Exchange, path: Mapping[str, str]) -> bool:
    """Whether a 200 to the other tenant shows what the same request shows the first tenant."""
    lst = next((x for x in ctx.contract.lists if x.op is op), None)
    get = next((g for g in ctx.contract.gets if g.op is op), None)
    if lst is None and get is None:
        return True  # a state change made for the wrong tenant

    def records(exchange: Exchange) -> list[Any]:
        if lst is not None:
            return ctx.items_of(lst, exchange) or []
        assert get is not None
        return [get.envelope.get(exchange.json(), "item")]

    mine = {_fingerprint(i) for i in records(ctx.call(op, ctx.access, path={**ctx.access.path_for(op), **path}))}
    return any(_fingerprint(i) in mine for i in records(answer))


def _selectors_bound(ctx: PromiseContext, run: OperationRun, op: Operation, other: Access) -> None:
    """The first tenant's selectors with the second tenant's credentials (and the reverse) are refused."""
    if not ctx.access.header_selectors and not ctx.access.path_for(op):
        return
    path = path_values(ctx, op, real=not _writes(op))
    allowed = {*_refusal(ctx), ctx.contract.error_status("unauthorized")}
    for who, creds, selectors_of in ((other, other, ctx.access), (ctx.access, ctx.access, other)):
        headers = {**creds.headers, **selectors_of.header_selectors}
        answer = ctx.call(op, None, path={**selectors_of.path_for(op), **path}, headers=headers)
        if answer.status not in allowed:
            run.fail(
                f"tenant {who.label!r}'s credentials are accepted with tenant {selectors_of.label!r}'s selectors",
                f"{' or '.join(map(str, sorted(allowed)))}",
                answer.describe(),
                answer,
            )
            return


def _echo_value(op: Operation, name: str) -> st.SearchStrategy[str]:
    schema = op.schema_of(name)
    alphabet = string.ascii_letters + string.digits + "-_"
    drawn = st.builds("paymock-{}".format, st.text(alphabet, min_size=1, max_size=32))
    return drawn.filter(partial(valid, schema)) if schema else drawn


@promise("echoed_headers", "Headers the document says are echoed come back unchanged, on success and on errors.")
def echoed_headers(ctx: PromiseContext) -> None:
    """Send each operation an echoed header, with and without credentials."""
    names = ctx.contract.echo_headers
    if not names:
        ctx.not_applicable("the document declares no echoed header")
        return
    for op in ctx.contract.operations:
        if _writes(op) and not ctx.options.allow_writes:
            continue
        with ctx.on(op.label) as run:
            path = path_values(ctx, op, real=not _writes(op))
            for name in names:
                ctx.explore(
                    run,
                    _echo_value(op, name),
                    partial(_echo, ctx, run, op, name, path),
                    explicit=["paymock-check-1"],
                    examples=2,
                    salt=name,
                )


def _echo(
    ctx: PromiseContext, run: OperationRun, op: Operation, name: str, path: Mapping[str, str], value: str
) -> None:
    attempts: list[tuple[str, Access | None]] = [
        ("a valid request", ctx.access),
        ("a request without credentials", None),
    ]
    for what, access in attempts:
        answer: Exchange = ctx.call(op, access, path={**ctx.access.path_for(op), **path}, headers={name: value})
        got: Any = answer.header(name)
        if got != value:
            run.fail(
                f"{name} is not echoed on {what} (answered {answer.status})",
                f"{name}: {value}",
                f"{name}: {got}" if got is not None else f"no {name} header",
                answer,
            )
            return
