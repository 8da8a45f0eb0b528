"""Real values for the schema-level checks: path parameters that name records the kit has seen.

Generated IDs rarely name a record, so an operation that needs one would answer nothing but
4xx to generated requests, and the checks of successful answers would judge no real record.
The kit knows some real values: IDs read from the collection's list, records in a status a
transition may move, and the values given with ``--param`` or published by paymock's mock.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.declarations import Operation
from contracts.promises.context import PromiseContext
from contracts.promises.transitions import records_in, status_field

#: Known values tried per path parameter.
PER_PARAMETER = 3


def known_keys(ctx: PromiseContext, op: Operation) -> list[str]:
    """IDs of records an operation's key may name; for a transition, records it may move."""
    t = next((t for t in ctx.contract.transitions if t.op is op), None)
    field = status_field(ctx, t) if t is not None else None
    if t is not None and field is not None:
        movable = [str(i[t.collection.id_field]) for i in records_in(ctx, t, t.allowed, field)]
        if movable:
            return movable
    return ctx.known_ids(str(op.block.get("collection", "")))


def known_path_values(ctx: PromiseContext, op: Operation) -> list[dict[str, str]]:
    """Path parameter values that name real records (a few per parameter, one parameter per entry).

    An operation that changes state gets none unless writes are allowed, and the records it is
    given are remembered as touched (never chosen again as a record in a known state).
    """
    if op.changes_state and not ctx.options.allow_writes:
        return []
    out: list[dict[str, str]] = []
    for name in op.path_parameters():
        if op.roles.get(name) == "key":
            values = known_keys(ctx, op)[:PER_PARAMETER]
        elif op.roles.get(name) == "scope":
            lst = next((x for x in ctx.contract.lists if x.op is op), None)
            values = ctx.scope_values(lst, name)[:PER_PARAMETER] if lst is not None else []
        else:
            continue
        out += [{name: v} for v in values]
    if op.changes_state:
        ctx.touched.update(v for d in out for v in d.values())
    return out


def value_sets(known: Sequence[dict[str, str]], limit: int = 2) -> list[dict[str, str]]:
    """Up to ``limit`` combinations that give every known parameter one of its values."""
    sets: list[dict[str, str]] = []
    for values in known:
        slot = next((s for s in sets if not set(values) & set(s)), None)
        if slot is not None:
            slot.update(values)
        elif len(sets) < limit:
            sets.append(dict(values))
    return sets
