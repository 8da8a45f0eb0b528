"""Sandbox clock and snapshots: advancing 30 days, saving, resetting and restoring, timed.

Runs in process through the embedding entry point (``Sandbox``) on a data file, as a served
``POST /__paymock/clock`` does (the HTTP layer adds one request). Figures:

1. the default world (all five APIs, each document's size, two tenants each): one 30-day move of
   every clock (target < 1 s), the same move with no instalments appearing (the documents'
   ``appear`` left out: what appearing costs, side by side), the same 30 days as 30 one-day
   moves, a snapshot saved (with its size in records), a reset, the snapshot restored;
2. with ``--big``: one tenant of 1,000,000 flexportal payments (the file ``seeding.py`` leaves in
   $PAYMOCK_BENCH_DATA, seeded here when missing): the same figures (target < 60 s for the move).
   The file is reset afterwards, so other scripts find it as seeded.

    .venv/bin/python bench/clock.py [--quick] [--big]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from _common import data_file, header, parser, remove_data, table

from mock_server.lifecycle.clock import SandboxClock
from mock_server.sandbox import Sandbox
from mock_server.spec import ApiSpec

DAY = 86_400


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``work`` took, and what it returned."""
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def measure(sandbox: Sandbox, label: str, stepped: bool) -> list[list[Any]]:
    """The rows of one world's figures."""
    clock = sandbox.clock
    pairs = clock.select(None, None)
    sandbox.reset()
    rows: list[list[Any]] = []
    still = SandboxClock(
        [_without_appear(s) for s in clock.specs.values()], clock.store, clock.seed, clock.as_of, clock.tenants
    )
    took, moved = timed(lambda: still.advance({p: still.now(*p) + 30 * DAY for p in pairs}))
    records = sum(n for tenants in moved.records.values() for n in tenants.values())
    rows.append([label, "advance 30 days (one move, none appearing)", took, records])
    sandbox.reset()
    took, moved = timed(lambda: clock.advance({p: clock.now(*p) + 30 * DAY for p in pairs}))
    records = sum(n for tenants in moved.records.values() for n in tenants.values())
    appeared = sum(sum(c.values()) for tenants in moved.appeared.values() for c in tenants.values())
    rows.append([label, f"advance 30 days (one move, {appeared} appearing)", took, records])
    took, snapshot = timed(lambda: sandbox.save_snapshot("bench"))
    rows.append([label, "snapshot saved", took, snapshot.records])
    took, restored = timed(sandbox.reset)
    rows.append([label, "reset", took, restored])
    took, snapshot = timed(lambda: sandbox.restore_snapshot("bench"))
    rows.append([label, "snapshot restored", took, snapshot.records if snapshot else 0])
    if stepped:
        sandbox.reset()

        def thirty() -> int:
            total = 0
            for _ in range(30):
                moved = clock.advance({p: clock.now(*p) + DAY for p in pairs})
                total += sum(n for tenants in moved.records.values() for n in tenants.values())
            return total

        took, records = timed(thirty)
        rows.append([label, "advance 30 days (30 one-day moves)", took, records])
    sandbox.store.delete_snapshot("bench")
    sandbox.reset()
    return rows


def _without_appear(spec: ApiSpec) -> ApiSpec:
    """A document whose lifecycles make no new records (the same moves)."""
    collections = {
        name: c if c.lifecycle is None else replace(c, lifecycle=replace(c.lifecycle, appear=()))
        for name, c in spec.collections.items()
    }
    return replace(spec, collections=collections)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--big", action="store_true", help="also one tenant of 1,000,000 flexportal payments")
    args = p.parse_args()
    header("sandbox clock: advance 30 days, snapshot, reset, restore (in process, SQLite data file)")
    rows: list[list[Any]] = []
    default = data_file("clock-default")
    remove_data(default)
    payments = 500 if args.quick else None
    sandbox = Sandbox.open(store=str(default), payments=payments, as_of="2026-11-01").seed()
    rows += measure(sandbox, "default world" if not args.quick else "500 a tenant", stepped=True)
    sandbox.close()
    if args.big:
        size = 20_000 if args.quick else 1_000_000
        big: Path = data_file(f"flexportal-{size}x1")
        took, sandbox = timed(
            lambda: Sandbox.open(["flexportal"], store=str(big), payments=size, tenants=1, as_of="2026-11-01").seed()
        )
        print(f"   {big}: opened (seeded when missing) in {took:.1f} s")
        rows += measure(sandbox, f"{size:,} payments", stepped=False)
        sandbox.close()
    table(rows, ["world", "operation", "seconds", "records"])


if __name__ == "__main__":
    main()
