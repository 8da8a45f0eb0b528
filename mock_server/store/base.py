"""The store interface: every operation the request pipeline and seeding ask of a database.

A backend is a package beside this module (``sqlite/``, ``postgresql/``) with one class that
implements :class:`BaseStore`, and a :class:`Loader` for seeding. Callers hold a ``BaseStore``
and never ask which engine it is: what differs between engines (a store private to one process,
say) is declared in :class:`Features`.

Filters and orders reach a store as values, never as SQL: a :class:`Condition` names a column,
an operator of :data:`OPERATORS` and its bound values, and a sort key is ``(column, descending)``.
Column names are the ``x-paymock`` names of a collection's columns, plus :data:`CREATION` (the
creation order, which breaks every tie) and :data:`RECORD_ID` (the record's ID); each backend
maps them onto its own tables.

A collection is stored per tenant: no query can read another tenant's rows, because every
operation names its tenant and every backend keeps a tenant's rows apart by construction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from mock_server.errors import StoreError
from mock_server.store.page import Page, Row

#: The column that orders records by creation (the primary key): every order's last tie-breaker.
CREATION = "pk"
#: The column holding a record's ID.
RECORD_ID = "id"
#: What a column holds, as the store keeps it: text or a 64-bit integer (money in minor units,
#: instants as epoch seconds), so that every engine's own ordering is the right one.
STORED_KINDS = ("text", "integer")

#: Operator name -> how many bound values it takes. ``null`` matches a missing value; ``between``
#: is inclusive at both ends.
OPERATORS: Mapping[str, int] = {"eq": 1, "null": 0, "between": 2, "gte": 1, "lte": 1}

#: What :meth:`BaseStore.bump`-like generation counters are advanced by when a table is made anew:
#: more rows than any table holds, so that no count made before is taken as near enough.
TABLE_REPLACED = 2**32

#: A sort key: (column, descending?).
SortKey = tuple[str, bool]


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition a listed record must meet: ``column <op> values``.

    Attributes:
        column: A column name (see the module's docstring).
        op: An operator of :data:`OPERATORS`.
        values: Its bound values, in the column's stored form.
    """

    column: str
    op: str
    values: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        arity = OPERATORS.get(self.op)
        if arity is None:
            raise StoreError(f"unknown condition operator {self.op!r}; available: {', '.join(OPERATORS)}")
        if len(self.values) != arity:
            raise StoreError(f"operator {self.op!r} takes {arity} value(s), got {len(self.values)}: {self.values!r}")

    @property
    def fixes(self) -> str | None:
        """The column, when the condition holds it to one value (equality, or null); else ``None``.

        Such a column never decides an order among the rows that pass, and a keyset condition may
        leave it out, so that the database reads the rows by the equality.
        """
        return self.column if self.op in ("eq", "null") else None

    @property
    def value(self) -> Any:
        """The one value a fixing condition holds its column to (``None`` for ``null``)."""
        return self.values[0] if self.values else None


@dataclass(frozen=True, slots=True)
class TableSpec:
    """The columns of one collection's table, as the document declares them.

    Attributes:
        name: The table's name (``r_<api>_<collection>``).
        columns: ``(column, stored kind)`` pairs, kinds from :data:`STORED_KINDS`.
        indexes: Column lists a tenant's rows are indexed by; each ends with :data:`CREATION`.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    indexes: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Features:
    """What differs between backends, declared rather than asked about.

    Attributes:
        private: The data lives in this process only (``:memory:``): one serving process, and
            seeding happens in it.
        shared: Several servers (replicas, on other machines too) may serve the same data.
    """

    private: bool = False
    shared: bool = False


#: A state change: the record's facts -> (new facts, new document, new column values), or raises
#: to refuse the change.
Change = Callable[[dict[str, Any]], tuple[dict[str, Any], bytes, Sequence[Any]]]
#: A change of many records (:meth:`BaseStore.revise`): like :data:`Change`, or ``None`` to leave one as it is.
Revision = Callable[[dict[str, Any]], tuple[dict[str, Any], bytes, Sequence[Any]] | None]


@dataclass(frozen=True, slots=True)
class Spread:
    """A second change inside a :meth:`BaseStore.revise`: of every record holding one of some column values.

    What the first change did may concern records it did not select (a payment collected lowers
    its invoice's outstanding amount, which every payment of that invoice shows): the revision
    asks for a spread once the first change has seen every record, and applies it to the
    records it names in the same transaction, each to its facts as the first change left them.

    Attributes:
        column: A column of the table.
        values: Records holding any of these values in ``column`` (as stored before the revision) are changed.
        change: The change of each of them.
    """

    column: str
    values: frozenset[Any]
    change: Revision


#: Asked once the first change of a :meth:`BaseStore.revise` has seen every record: a spread, or ``None``.
Then = Callable[[], Spread | None]
#: A record a :meth:`BaseStore.revise` inserts first: (ID, facts, document, column values).
Added = tuple[str, dict[str, Any], bytes, Sequence[Any]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A saved state: the records that differed from their seeded state, and some metadata (clocks).

    Attributes:
        name: Its name.
        taken: When it was saved (epoch seconds of the machine's clock).
        records: How many changed records it holds.
        meta: The metadata saved with it, written back on restore.
    """

    name: str
    taken: int
    records: int
    meta: Mapping[str, str]


class BaseStore(ABC):
    """Every API's collections, their records' facts and entities, and the world's metadata."""

    #: Where the data lives, for messages (a path, or a URL without its password).
    location: str
    features: Features

    # -- metadata ------------------------------------------------------------------------------

    @abstractmethod
    def meta(self, key: str) -> str | None:
        """A metadata value (a world's fingerprint, its tenant count, its as-of date), or ``None``."""

    @abstractmethod
    def set_meta(self, values: Mapping[str, str]) -> None:
        """Set metadata values, in one transaction."""

    @abstractmethod
    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """Hold the lock ``name`` against every thread, process and replica on this store.

        For work of several transactions that must not interleave with itself: two clock moves
        at once (a running clock's tick and an admin request) would both read the same clock
        and both add the same new records.
        """

    @abstractmethod
    def generation(self, table: str) -> int:
        """A number that changes whenever any process (of any replica) commits a change to ``table``.

        It advances by the rows each commit changed, so a count cached ``n`` generations ago is
        off by ``n`` at most.
        """

    # -- reads ---------------------------------------------------------------------------------

    @abstractmethod
    def select(
        self,
        table: str,
        tenant: int,
        conditions: Sequence[Condition],
        order: Sequence[SortKey],
        limit: int | None,
        offset: int = 0,
        after: tuple[Row, bool] | None = None,
        reverse: bool = False,
    ) -> list[Row]:
        """Rows of one tenant that meet every condition, in ``order`` (ties by creation order).

        Args:
            table: Collection table.
            tenant: Tenant number.
            conditions: Filter and scope conditions, all of which must hold.
            order: Sort keys; creation order breaks ties.
            limit: Most rows to return (``None``: all).
            offset: Rows to skip.
            after: ``(anchor, inclusive)``: start after (or at) the anchor row, in this order
                (a keyset page: a deep page costs what the first does).
            reverse: Walk the order backwards (for "previous page" links).
        """

    @abstractmethod
    def page(
        self,
        table: str,
        tenant: int,
        conditions: Sequence[Condition],
        order: Sequence[SortKey],
        limit: int | None,
        offset: int = 0,
        after: tuple[Row, bool] | None = None,
        reverse: bool = False,
        *,
        ids: bool = False,
        documents: bool = True,
        generation: bool = False,
    ) -> Page:
        """The records :meth:`select` gives, as one :class:`Page`.

        ``ids`` reads the records' IDs too; ``documents=False`` reads none of their documents;
        ``generation`` reads the table's generation in the same statement (``Page.generation``,
        left ``None`` where a page is not one statement), for :meth:`count`.
        """

    @abstractmethod
    def count(self, table: str, tenant: int, conditions: Sequence[Condition], generation: int | None = None) -> int:
        """How many rows of a tenant meet every condition.

        ``generation`` is the table's generation as the caller read it with its page
        (``Page.generation``): a cached count of that generation is used without reading it again.
        """

    @abstractmethod
    def find(self, table: str, tenant: int, id_: str, order: Sequence[SortKey] = ()) -> Row | None:
        """The row of a tenant with this ID, with its sort-key values for ``order``."""

    @abstractmethod
    def exists(self, table: str, tenant: int, column: str, value: Any) -> bool:
        """Whether any row of a tenant has ``column = value``."""

    @abstractmethod
    def sample(self, table: str, tenant: int, column: str, n: int) -> list[Any]:
        """Up to ``n`` distinct values of a column for one tenant, from its newest records.

        Reads a bounded number of rows, so it costs the same over a million records as over a hundred.
        """

    @abstractmethod
    def entity(self, api: str, tenant: int, kind: str, seq: int, world: str = "") -> dict[str, Any]:
        """Facts of one entity (customer, subscription, invoice block, user) of a tenant.

        Entities never change within one world, so backends keep what they read; ``world`` (the
        world's fingerprint, read once by a caller reading many) tells one world from the next:
        a world seeded anew while serving (other fixtures) has other customers and invoices.

        Raises:
            StoreError: The tenant has no such entity.
        """

    @abstractmethod
    def entities(self, api: str, tenant: int, kind: str) -> dict[int, bytes]:
        """Every entity of one kind of a tenant, by ``seq``, as stored (JSON): one read for many records.

        For work that resolves the entities of a large share of a tenant's records (the sandbox
        clock moving hundreds of thousands), where reading them one at a time costs a query each.
        """

    # -- writes --------------------------------------------------------------------------------

    @abstractmethod
    def update(self, table: TableSpec, tenant: int, id_: str, change: Change) -> bytes | None:
        """Read a record's facts, apply ``change`` and write the result, as one transaction.

        Of two racing changes of one record, whichever process or replica makes them, exactly
        one sees the record as it was; the other sees its result (and may refuse). The record's
        seeded state is kept on its first change, for :meth:`reset`. Returns the new document, or
        ``None`` when the tenant has no such record.
        """

    @abstractmethod
    def revise(
        self,
        table: TableSpec,
        tenant: int,
        where: Sequence[Condition],
        change: Revision,
        then: Then | None = None,
        added: Sequence[Added] = (),
    ) -> int:
        """Apply ``change`` to every record of a tenant that meets any of ``where``, as one transaction.

        ``added`` records are inserted first, in the same transaction, after every record of the
        tenant in creation order (primary keys from :func:`~mock_server.store.revision.first_added`,
        so they depend on what was added before, not on other tenants): ``change`` then sees them
        like the others. A reset removes them; a snapshot saves them. Records ``change`` returns
        ``None`` for are left as they are; the others are written as :meth:`update` writes one
        (their seeded state kept for :meth:`reset`). ``then``, when given, is asked afterwards for
        a :class:`Spread` applied in the same transaction. Returns how many records changed.
        """

    @abstractmethod
    def changed(self, tables: Iterable[str]) -> int:
        """How many records of ``tables`` differ from their seeded state (what :meth:`reset` would restore)."""

    @abstractmethod
    def reset(self, tables: Iterable[str]) -> int:
        """Restore every changed row of ``tables`` to its seeded state; returns how many were restored."""

    # -- snapshots -------------------------------------------------------------------------------
    # A snapshot holds only the records that differ from their seeded state (what reset would
    # restore), so saving one of a million-record world costs what its changes cost.

    @abstractmethod
    def save_snapshot(self, name: str, tables: Iterable[str], meta: Mapping[str, str], taken: int) -> Snapshot:
        """Save the current state of ``tables`` and ``meta`` under ``name`` (replacing one of that name)."""

    @abstractmethod
    def snapshots(self) -> list[Snapshot]:
        """Every saved snapshot, by name."""

    @abstractmethod
    def restore_snapshot(self, name: str, tables: Iterable[str]) -> Snapshot | None:
        """Bring ``tables`` and the saved metadata back to snapshot ``name``, in one transaction.

        Returns the snapshot, or ``None`` when there is none of that name.
        """

    @abstractmethod
    def delete_snapshot(self, name: str) -> bool:
        """Forget snapshot ``name``; whether there was one."""

    # -- seeding and lifetime ------------------------------------------------------------------

    @abstractmethod
    def loader(self) -> Loader:
        """A bulk loader, for seeding one API's world after another."""

    @abstractmethod
    def close(self) -> None:
        """Let go of this process's (or thread's) connections; the store opens them again when used."""


@dataclass(frozen=True, slots=True)
class Part:
    """What a :class:`Sink` wrote: the store's to take in with :meth:`Loader.absorb`.

    Attributes:
        rows: Rows written to the first table.
        handle: The backend's reference to the written data (a scratch file), if it is not in the store yet.
    """

    rows: int
    handle: str | None = None


class Sink(ABC):
    """Writes one tenant's rows in bulk: in the seeding process, or in a forked rendering worker.

    The rows carry their primary keys, so parts may be written in any order and by any process.
    """

    @abstractmethod
    def rows(self, table: TableSpec, rows: Iterable[Sequence[Any]], documents: Iterable[Sequence[Any]]) -> None:
        """Write ``(pk, id, *columns)`` rows and their ``(pk, doc, facts)``."""

    def records(self, table: TableSpec, rows: Iterable[Sequence[Any]], start: int) -> None:
        """Write ``(id, facts, doc, *columns)`` records, numbered from primary key ``start``."""
        batch = list(rows)
        self.rows(
            table,
            ((start + i, id_, *cols) for i, (id_, _, _, *cols) in enumerate(batch)),
            ((start + i, doc, facts) for i, (_, facts, doc, *_) in enumerate(batch)),
        )

    @abstractmethod
    def entities(self, rows: Iterable[tuple[str, int, str, int, bytes]]) -> None:
        """Write ``(api, tenant, kind, seq, facts JSON)`` entities."""

    @abstractmethod
    def close(self) -> Part:
        """Finish writing; what was written."""


class Loader(ABC):
    """Seeds one API's world after another into a store: a context manager around the whole load.

    Inside the block the store is set for writing in bulk; a world is never served half written,
    because its fingerprint (:meth:`finish`'s metadata) is written last.
    """

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @abstractmethod
    def begin(self, api: str, tables: Sequence[TableSpec]) -> None:
        """Forget ``api``'s world: its entities and fingerprint go, its tables are made anew, empty."""

    @abstractmethod
    def add_tenant(self, tables: Sequence[TableSpec], tenant: int) -> list[int]:
        """Make a tenant's (empty) tables; the primary key its first row of each table gets."""

    @abstractmethod
    def sink(self, tables: Sequence[TableSpec], tenant: int, scratch: str | None = None, name: str = "") -> Sink:
        """A writer of a tenant's rows of ``tables`` (and entities).

        With ``scratch`` (a directory), the sink may be used in a forked worker and may write to
        a file named after ``name`` there; the seeding process then takes the :class:`Part` in
        with :meth:`absorb`. Without, it writes into the store from this process.
        """

    @abstractmethod
    def absorb(self, part: Part, tables: Sequence[TableSpec], tenant: int, entities: bool = False) -> int:
        """Take in what a sink wrote (a no-op for a sink that wrote into the store); returns its rows."""

    @abstractmethod
    def finish(self, tables: Sequence[TableSpec], tenants: int, meta: Mapping[str, str]) -> None:
        """Index the tables of every tenant, advance their generations and write ``meta`` (last)."""

    @property
    @abstractmethod
    def scratch(self) -> str | None:
        """The directory rendering workers' scratch files go in (beside the data), or ``None``: the system's."""
