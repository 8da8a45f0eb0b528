"""What both backends' stores do alike, written once: metadata, resets, revisions, snapshots, entities.

Both backends keep a collection the same way: a table of rows per tenant, documents beside them,
and a shadow of every changed record's seeded row (``o_<table>``), which a reset restores and a
snapshot is built on; entities in one table of their own. The methods of
:class:`~mock_server.store.base.BaseStore` that are the same logic over that layout live in
:class:`ShadowedStore`, built on what each backend already has: a connection for reads, one
inside a transaction, its reset inside a transaction (``_reset``), its generation ``bump``, its
:class:`~mock_server.store.dialect.Dialect` and the module that spells its snapshot and revision
statements (``store/<backend>/snapshots.py``). What differs for a reason stays in the backend:
those statements (PostgreSQL's row locks), the transaction a revision runs in (SQLite's larger
cache, :meth:`ShadowedStore.revising`), how a table's presence is asked.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any, Generic, Protocol, TypeVar

import orjson

from mock_server.errors import StoreError
from mock_server.store.base import Added, BaseStore, Condition, Revision, Snapshot, TableSpec, Then
from mock_server.store.dialect import Dialect


class Connection(Protocol):
    """What the shared methods ask of a backend's connection (``sqlite3`` and ``psycopg`` both have it)."""

    def execute(self, query: Any, params: Any = ..., /) -> Any:
        """Run one statement; a cursor over its rows."""


Db = TypeVar("Db", bound=Connection)


class SnapshotStatements(Protocol[Db]):
    """A backend's snapshot statements (its ``snapshots`` module), each inside the caller's transaction."""

    def save(self, db: Db, name: str, tables: Iterable[str], meta: Mapping[str, str], taken: int) -> Snapshot:
        """Save the changed rows of ``tables`` and ``meta`` under ``name``."""

    def listing(self, db: Db) -> list[Snapshot]:
        """Every snapshot, by name."""

    def find(self, db: Db, name: str) -> Snapshot | None:
        """Snapshot ``name``, or ``None``."""

    def restore(
        self, db: Db, bump: Callable[[Db, str, int], None], snapshot: Snapshot, tables: Iterable[str]
    ) -> Snapshot:
        """After a reset of ``tables``: write the snapshot's rows and metadata back."""

    def delete(self, db: Db, name: str) -> bool:
        """Forget snapshot ``name``; whether there was one."""

    def revise(
        self,
        db: Db,
        bump: Callable[[Db, str, int], None],
        table: TableSpec,
        tenant: int,
        where: Sequence[Condition],
        change: Revision,
        then: Then | None = None,
        added: Sequence[Added] = (),
    ) -> int:
        """Insert ``added``, ``change`` the rows meeting any of ``where``, then ``then``'s spread."""


class ShadowedStore(BaseStore, Generic[Db]):
    """The methods of :class:`~mock_server.store.base.BaseStore` both backends share (see the module)."""

    #: How the backend spells bound values (its ``sql.DIALECT``).
    dialect: Dialect
    #: The backend's snapshot statements (its ``snapshots`` module).
    snapshot_statements: SnapshotStatements[Db]

    @abstractmethod
    def reading(self) -> AbstractContextManager[Db]:
        """A connection for reads."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Db]:
        """A connection inside one write transaction (committed on leaving, rolled back on an exception)."""

    @abstractmethod
    def _reset(self, db: Db, tables: Iterable[str]) -> int:
        """Inside a transaction: restore every changed row of ``tables``; how many were restored."""

    @staticmethod
    @abstractmethod
    def bump(db: Any, table: str, rows: int = 1) -> None:
        """Inside a transaction: advance ``table``'s generation by ``rows`` (at least one)."""

    def meta(self, key: str) -> str | None:
        """A value from the meta table."""
        with self.reading() as db:
            row = db.execute(f"SELECT value FROM meta WHERE key = {self.dialect.mark}", (key,)).fetchone()
        return None if row is None else str(row[0])

    def revising(self) -> AbstractContextManager[Db]:
        """The transaction a :meth:`revise` runs in: :meth:`transaction`, unless the backend tunes it."""
        return self.transaction()

    def revise(
        self,
        table: TableSpec,
        tenant: int,
        where: Sequence[Condition],
        change: Revision,
        then: Then | None = None,
        added: Sequence[Added] = (),
    ) -> int:
        """Insert ``added``, then change the records of a tenant meeting any of ``where``, in one transaction."""
        with self.revising() as db:
            return self.snapshot_statements.revise(db, self.bump, table, tenant, where, change, then, added)

    def reset(self, tables: Iterable[str]) -> int:
        """Restore every changed row to its seeded state; returns how many rows were restored."""
        with self.transaction() as db:
            return self._reset(db, tables)

    # -- snapshots (store/<backend>/snapshots.py) ----------------------------------------------

    def save_snapshot(self, name: str, tables: Iterable[str], meta: Mapping[str, str], taken: int) -> Snapshot:
        """Save the changed rows of ``tables`` and ``meta`` under ``name``."""
        with self.transaction() as db:
            return self.snapshot_statements.save(db, name, tables, meta, taken)

    def snapshots(self) -> list[Snapshot]:
        """Every snapshot, by name."""
        with self.reading() as db:
            return self.snapshot_statements.listing(db)

    def restore_snapshot(self, name: str, tables: Iterable[str]) -> Snapshot | None:
        """Reset ``tables`` and write snapshot ``name`` back, in one transaction (``None``: no such snapshot)."""
        tables = list(tables)
        with self.transaction() as db:
            snapshot = self.snapshot_statements.find(db, name)
            if snapshot is None:
                return None
            self._reset(db, tables)
            return self.snapshot_statements.restore(db, self.bump, snapshot, tables)

    def delete_snapshot(self, name: str) -> bool:
        """Forget snapshot ``name``; whether there was one."""
        with self.transaction() as db:
            return self.snapshot_statements.delete(db, name)

    # -- entities (immutable once seeded) ------------------------------------------------------

    def entity(self, api: str, tenant: int, kind: str, seq: int, world: str = "") -> dict[str, Any]:
        """Facts of one entity (customer, subscription, invoice, user) of a tenant (see :meth:`BaseStore.entity`)."""
        return _entity_cached(self, api, tenant, kind, seq, world)

    def entities(self, api: str, tenant: int, kind: str) -> dict[int, bytes]:
        """Every entity of one kind of a tenant, by ``seq``, as stored."""
        query = f"SELECT seq, facts FROM entities WHERE api = {self.dialect.mark} AND tenant = {self.dialect.mark}"
        with self.reading() as db:
            found = db.execute(f"{query} AND kind = {self.dialect.mark}", (api, tenant, kind))
            return {int(seq): bytes(facts) for seq, facts in found}


@lru_cache(maxsize=65536)
def _entity_cached(store: ShadowedStore[Any], api: str, tenant: int, kind: str, seq: int, world: str) -> dict[str, Any]:
    mark = store.dialect.mark
    with store.reading() as db:
        row = db.execute(
            f"SELECT facts FROM entities WHERE api = {mark} AND tenant = {mark} AND kind = {mark} AND seq = {mark}",
            (api, tenant, kind, seq),
        ).fetchone()
    if row is None:
        raise StoreError(f"{store.location}: {api} tenant {tenant} has no {kind} {seq}")
    result: dict[str, Any] = orjson.loads(bytes(row[0]))
    return result
