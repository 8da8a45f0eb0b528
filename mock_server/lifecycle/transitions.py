"""State changes of one record: from some statuses to one, setting some moments, re-rendered.

A :class:`Transition` is compiled from a ``transition`` action's block at load. Applying it is
one store transaction (:meth:`~mock_server.store.BaseStore.update`): the record's facts are read,
checked, changed and the record is rendered again from them, so that of two racing changes
exactly one sees the record as it was. The request path (``actions.TransitionAction``) calls
:meth:`Transition.apply`; so can anything else that moves records on (a sandbox clock).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from mock_server.columns import parse_instant
from mock_server.errors import ApiError
from mock_server.lifecycle.schedule import REVISION
from mock_server.spec import ApiSpec, CollectionSpec
from mock_server.store.base import BaseStore
from mock_server.tables import table_spec
from mock_server.world import Facts, Hydrator, InvoiceBlocks


@dataclass(frozen=True, slots=True)
class Transition:
    """A documented state change of a collection's records.

    Attributes:
        collection: The collection whose records change.
        name: What the change is called in messages (the last step of its path: ``cancel``).
        to: The status a record gets.
        allowed: The statuses it may be changed from.
        sets: Facts set to the moment of the change -> the body field that may give that moment (or ``None``).
        key: The path parameter naming the record, where refusals point.
    """

    collection: CollectionSpec
    name: str
    to: str
    allowed: tuple[str, ...]
    sets: Mapping[str, str | None]
    key: str

    def apply(
        self,
        store: BaseStore,
        api: ApiSpec,
        tenant: int,
        tenant_info: Facts,
        record_id: str,
        now: int,
        body: Mapping[str, Any] | None = None,
    ) -> bytes | None:
        """Change one record of a tenant; its new JSON document, or ``None`` when it has no such record.

        Args:
            store: The store holding the record.
            api: The record's document.
            tenant: Tenant number.
            tenant_info: The tenant's facts (records show some of them).
            record_id: The record's ID.
            now: Epoch seconds of the change, the tenant's sandbox clock (the moment a ``set`` fact
                gets when the body gives none, and the latest the body may give).
            body: The request body, which may give the moments of ``sets`` facts.

        Raises:
            ApiError: ``conflict`` when the record's status does not allow the change;
                ``invalid_body`` when a moment given in the body is before the record was created
                or after ``now``.
        """
        given = body or {}
        noun = self.collection.entity

        def change(facts: dict[str, Any]) -> tuple[dict[str, Any], bytes, list[Any]]:
            status = facts["status"]
            if status not in self.allowed:
                raise ApiError.of(
                    "conflict",
                    f"{noun.capitalize()} {record_id!r} is {status!r}; "
                    f"{self.name} is allowed only from: {', '.join(self.allowed)}",
                    "conflict",
                    ("path", self.key),
                )
            facts = {
                **facts,
                "status": self.to,
                "phase": self.collection.statuses[self.to][1],
                REVISION: (facts.get(REVISION) or 0) + 1,
            }
            for fact, field_name in self.sets.items():
                moment = now
                if field_name and given.get(field_name) is not None:
                    moment = parse_instant(given[field_name]) or now
                    if moment < facts["created_at"]:
                        raise ApiError.of(
                            "invalid_body",
                            f"{field_name} {given[field_name]!r} is before the {noun} was created",
                            "value_error",
                            ("body", field_name),
                        )
                    if moment > now:
                        raise ApiError.of(
                            "invalid_body",
                            f"{field_name} {given[field_name]!r} is in the future: the sandbox clock of "
                            f"this tenant shows {_iso(now)}",
                            "value_error",
                            ("body", field_name),
                        )
                facts[fact] = moment
            doc, columns = rebuild(store, api, self.collection, tenant, facts, tenant_info)
            return facts, doc, columns

        return store.update(table_spec(self.collection), tenant, record_id, change)


def _iso(moment: int) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Entities(Sequence[Facts]):
    """A read-through view of one entity kind, indexed like the world's lists (``seq - first``).

    Read one at a time (through the store's cache), or, with ``bulk``, every entity of the kind
    at the first read, in one query: a clock move resolves the entities of hundreds of thousands
    of records, and one query each would cost more than rendering them.
    """

    def __init__(
        self, store: BaseStore, api: str, tenant: int, kind: str, world: str, bulk: bool = False, first: int = 1
    ) -> None:
        self._args = (api, tenant, kind)
        self._store = store
        self._world = world
        self._bulk = bulk
        self._first = first
        self._stored: dict[int, bytes] | None = None
        self._read: dict[int, Any] = {}

    def __getitem__(self, index: Any) -> Any:
        seq = index + self._first
        if not self._bulk:
            return self._store.entity(*self._args, seq, self._world)
        found = self._read.get(seq)
        if found is None:
            if self._stored is None:
                self._stored = self._store.entities(*self._args)
            stored = self._stored.get(seq)
            if stored is None:
                return self._store.entity(*self._args, seq, self._world)  # raises, naming what is missing
            found = self._read[seq] = orjson.loads(stored)
        return found

    def __len__(self) -> int:  # pragma: no cover - only indexing is used
        raise TypeError("entity views have no length")


def renderer(
    store: BaseStore, api: ApiSpec, collection: CollectionSpec, tenant: int, tenant_info: Facts, bulk: bool = False
) -> Callable[[Facts], tuple[bytes, list[Any]]]:
    """Renders a tenant's records again from (changed) facts: their JSON and column values.

    Made once for many records (the sandbox clock moves thousands): the entity views and the
    hydrator are built here, not per record; ``bulk`` reads each kind of entity whole, at its
    first use (see :class:`_Entities`).
    """
    # Entities are read once per world: one seeded anew (other fixtures) has others.
    world = store.meta(f"world:{api.name}") or ""
    args = (store, api.name, tenant)
    customers = _Entities(*args, "customer", world, bulk)
    subscriptions = _Entities(*args, "subscription", world, bulk)
    invoices = invoices_of(store, api, tenant, world, bulk, subscriptions, customers)
    hydrate = Hydrator(customers, subscriptions, invoices, _Entities(*args, "user", world, bulk))

    def render(facts: Facts) -> tuple[bytes, list[Any]]:
        doc, values = collection.render_row({"payment": hydrate(facts), "tenant": tenant_info})
        return orjson.dumps(doc), values

    return render


def invoices_of(
    store: BaseStore,
    api: ApiSpec,
    tenant: int,
    world: str,
    bulk: bool = False,
    subscriptions: Sequence[Facts] | None = None,
    customers: Sequence[Facts] | None = None,
) -> InvoiceBlocks:
    """A tenant's invoices as seeded, read through from the store, indexed by ``seq - 1``."""
    args = (store, api.name, tenant)
    blocks = _Entities(*args, "invoice-block", world, bulk, first=0)
    if subscriptions is None:
        subscriptions = _Entities(*args, "subscription", world, bulk)
    if customers is None:
        customers = _Entities(*args, "customer", world, bulk)
    return InvoiceBlocks(blocks.__getitem__, subscriptions, customers)


def rebuild(
    store: BaseStore,
    api: ApiSpec,
    collection: CollectionSpec,
    tenant: int,
    facts: Facts,
    tenant_info: Facts,
) -> tuple[bytes, list[Any]]:
    """Render a record again from (changed) facts: its JSON and its column values."""
    return renderer(store, api, collection, tenant, tenant_info)(facts)
