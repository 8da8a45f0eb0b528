"""The store's view of the documents: each collection's table, and the tables a reset restores.

Derived here, once, from the loaded documents: seeding, transitions and every reset (``POST
/__paymock/reset``, the embedding :class:`~mock_server.sandbox.Sandbox`, the contract kit's
in-process mock) ask this module rather than listing tables themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from mock_server.spec import ApiSpec, CollectionSpec
from mock_server.store.base import TableSpec


def table_spec(collection: CollectionSpec, indexes: tuple[tuple[str, ...], ...] = ()) -> TableSpec:
    """The store's table layout for a collection (with ``indexes``, the column lists it is indexed by)."""
    columns = tuple((c.key, c.ctype.stored) for c in collection.columns.values())
    return TableSpec(collection.table, columns, indexes)


def reset_tables(specs: Iterable[ApiSpec]) -> list[str]:
    """Every table of every collection of ``specs``: what a reset restores."""
    return [c.table for spec in specs for c in spec.collections.values()]
