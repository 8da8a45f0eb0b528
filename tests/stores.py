"""Filling a store through its loader, as seeding does, for the store's own tests (any backend)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mock_server.store import BaseStore, TableSpec


def fill(store: BaseStore, table: TableSpec, records: Sequence[tuple[int, tuple[Any, ...]]], tenants: int = 1) -> None:
    """Make ``table`` anew with ``(tenant, (id, facts, doc, *columns))`` records, in creation order; then index it.

    Record ``i`` gets primary key ``i + 1``, whatever its tenant.
    """
    with store.loader() as loader:
        loader.begin("unit", [table])
        for tenant in range(1, tenants + 1):
            loader.add_tenant([table], tenant)
            sink = loader.sink([table], tenant)
            mine = [(pk, record) for pk, (t, record) in enumerate(records, start=1) if t == tenant]
            sink.rows(
                table,
                [(pk, id_, *cols) for pk, (id_, _, _, *cols) in mine],
                [(pk, doc, facts) for pk, (_, facts, doc, *_) in mine],
            )
            sink.close()
        loader.finish([table], tenants, {})
