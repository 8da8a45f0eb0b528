"""Fill the store with each API's generated world, and rebuild records after a state change.

Seeding is keyed by a fingerprint of (generator, document, seed, tenants, size, as-of): a data
file that already holds exactly that world is used as it is, so a restart is instant and keeps
every state change; anything else is regenerated for that API alone.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from mock_server.actions import ListAction
from mock_server.errors import DataFileError, StoreError
from mock_server.fixtures import Fixtures
from mock_server.sorting import Sorter
from mock_server.spec import ApiSpec, CollectionSpec
from mock_server.store.base import CREATION, BaseStore, Loader, Part, Sink, TableSpec
from mock_server.tables import reset_tables
from mock_server.tables import table_spec as _layout
from mock_server.world import Facts, World, pack_facts, pack_payment, tenant_facts

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class SeedSettings:
    """What decides the generated world.

    Attributes:
        seed: Random seed.
        as_of: Epoch seconds the world is "now" for.
        payments: Payments per tenant (``None``: each document's default size).
        tenants: Tenants per API (``None``: each document's default count).
        fixtures: The user's own facts placed into the worlds (:mod:`mock_server.fixtures`).
    """

    seed: int
    as_of: int
    payments: int | None = None
    tenants: int | None = None
    fixtures: Fixtures | None = None

    def size(self, api: ApiSpec) -> int:
        """Payments per tenant for ``api``."""
        if self.payments is not None:
            return self.payments
        collection = api.collections[api.payments_collection or ""]
        return collection.size or 2500

    def tenant_count(self, api: ApiSpec) -> int:
        """Tenants for ``api``."""
        return self.tenants if self.tenants is not None else api.tenants

    def describe(self, api: ApiSpec) -> str:
        """The options as a user gives them, for messages about a world made with other ones."""
        as_of = datetime.fromtimestamp(self.as_of, UTC).strftime("%Y-%m-%d")
        return f"--seed {self.seed} --payments {self.size(api)} --tenants {self.tenant_count(api)} --as-of {as_of}"


def table_spec(collection: CollectionSpec, api: ApiSpec | None = None) -> TableSpec:
    """The store's table layout for a collection; with ``api``, also the indexes its lists need."""
    return _layout(collection, list_indexes(api, collection) if api is not None else ())


def list_indexes(api: ApiSpec, collection: CollectionSpec) -> tuple[tuple[str, ...], ...]:
    """The indexes that let every list query of ``collection`` be one index range scan.

    For each list operation: every filter or scope column followed by the default order (a page
    with one filter), and every order the operation can produce (a sorted page without filter).
    """
    wanted: dict[tuple[str, ...], None] = {}
    for op in api.operations:
        action = op.action
        if not isinstance(action, ListAction) or action.collection.name != collection.name:
            continue
        orders = _orders(action.sorter)
        default = orders[0]
        narrowing = [p.filter.column for p in op.params if p.filter is not None]
        narrowing += [s.column.key for s in action.scopes]
        for column in narrowing:
            wanted[_with_pk((column, *(c for c in default if c != column)))] = None
        # Range filters cannot lead an index that also gives the order, so the order indexes carry
        # them after pk: the filter is then checked in the index, without visiting each row.
        ranges = [p.filter.column for p in op.params if p.filter is not None and p.filter.is_range]
        for order in orders:
            if order or ranges:
                wanted[_with_pk(order, *dict.fromkeys(ranges))] = None
    return tuple(wanted)


def _with_pk(order: tuple[str, ...], *carried: str) -> tuple[str, ...]:
    """An index's columns: the order, the primary key (every order's last tie-breaker), carried columns."""
    return (*order, CREATION, *carried) if CREATION not in order else (*order, *carried)


def _orders(sorter: Sorter | None) -> list[tuple[str, ...]]:
    """The columns of every order a sorter can produce (the default first), as its declaration lists them."""
    if sorter is None:
        return [()]
    return [tuple(col for col, _ in order) for order in sorter.declaration().orders] or [()]


#: Changes whenever the same seed makes a different world (a new way of drawing it), so that a
#: data file never holds a world other than the one a fresh seed would make.
GENERATOR_VERSION = "3"


def fingerprint(api: ApiSpec, settings: SeedSettings) -> str:
    """Identifies one generated world; changes whenever the generator, the document or a setting does."""
    h = hashlib.sha256(f"generator {GENERATOR_VERSION}\n".encode())
    h.update(api.file.read_bytes())
    h.update(f"{settings.seed}:{settings.as_of}:{settings.size(api)}:{settings.tenant_count(api)}".encode())
    own = settings.fixtures.digest(api.name) if settings.fixtures is not None else ""
    if own:  # a world without fixtures keeps the fingerprint it always had
        h.update(f"fixtures:{own}".encode())
    return h.hexdigest()


def is_seeded(store: BaseStore, api: ApiSpec, settings: SeedSettings) -> bool:
    """Whether the store already holds exactly this world for ``api``."""
    return store.meta(f"world:{api.name}") == fingerprint(api, settings)


def check_world(store: BaseStore, api: ApiSpec, settings: SeedSettings, regenerate: bool = False) -> None:
    """Refuse to replace another world of ``api`` than ``settings`` make where that would lose something.

    A SQLite data file is one sandbox's own: another world in it is generated anew, unless the
    user changed records of it (they would be lost: only ``regenerate`` says so on purpose). A
    shared database may be serving that other world to other replicas right now: it is never
    overwritten behind their backs.

    Raises:
        StoreError: The store is shared and holds another world of ``api``.
        DataFileError: The data file holds another world of ``api`` with changed records.
    """
    held = store.meta(f"world:{api.name}")
    if held is None or held == fingerprint(api, settings):
        return
    if not store.features.shared:
        changed = 0 if regenerate else store.changed(reset_tables([api]))
        if changed:
            made = store.meta(f"options:{api.name}")
            was = f" ({made})" if made else ""
            raise DataFileError(
                f"{store.location} holds {changed} changed record(s) of a {api.name} world made with other options"
                f" or by another paymock version{was}; generating it anew would discard those changes: pass"
                " --regenerate to do that on purpose, or serve the file with its own options, or use another --data"
            )
        return
    raise StoreError(
        f"{store.location} holds another {api.name} world (another seed, size, tenant count, as-of date, "
        "document or paymock version) than these options make; serve it with the options it was seeded "
        "with, use another database, or drop its tables to seed it anew"
    )


def seed_api(store: BaseStore, api: ApiSpec, settings: SeedSettings, progress: Progress | None = None) -> None:
    """Generate and store every collection of ``api`` (replacing what was there)."""
    with store.loader() as loader:
        _seed_api(loader, api, settings, progress)


def seed_missing(
    store: BaseStore,
    apis: Sequence[ApiSpec],
    settings: SeedSettings,
    progress: Callable[[ApiSpec], Progress | None] | None = None,
    regenerate: bool = False,
) -> list[str]:
    """Generate the worlds of ``apis`` that the store does not hold; returns the names of those seeded.

    The loader is held throughout: for a store shared by replicas only one seeds at a time, and
    the others, waiting for it, find the worlds seeded when their turn comes (checked again here).
    """
    if all(is_seeded(store, api, settings) for api in apis):
        return []
    seeded = []
    with store.loader() as loader:
        for api in apis:
            if is_seeded(store, api, settings):
                continue
            check_world(store, api, settings, regenerate)
            _seed_api(loader, api, settings, progress(api) if progress is not None else None)
            seeded.append(api.name)
    return seeded


def _seed_api(loader: Loader, api: ApiSpec, settings: SeedSettings, progress: Progress | None) -> None:
    size = settings.size(api)
    tenants = settings.tenant_count(api)
    collections = list(api.collections.values())
    loader.begin(api.name, [table_spec(c) for c in collections])
    done = 0
    total = size * tenants
    payments = api.collections[api.payments_collection or ""]
    spec = table_spec(payments)
    side = [c for c in collections if c.entity != "payment"]
    side_specs = [table_spec(c) for c in side]
    for t in range(1, tenants + 1):
        own = settings.fixtures.own(api.name, t) if settings.fixtures is not None else None
        world = World(api.world, settings.seed, tenant_facts(settings.seed, api.name, t), size, settings.as_of, own)
        tenant = world.tenant
        pks = loader.add_tenant([table_spec(c) for c in collections], t)
        first = {c.name: pk for c, pk in zip(collections, pks, strict=True)}
        side_pks = tuple((c, first[c.name]) for c in side)
        work = _Work(api.name, payments, t, world, tenant, first[payments.name], spec, side_pks, loader)
        direct = loader.sink([spec], t)
        with _rendered_payments(work, loader.scratch) as (rendered, extras):
            if extras is None:  # rendered here: store the other entities first, as the workers would
                sink = loader.sink(side_specs, t)
                _store_side(sink, work, "entities")
                _store_side(sink, work, "collections")
                sink.close()
            for batch in rendered:
                if isinstance(batch, Part):
                    done += loader.absorb(batch, [spec], t)
                else:
                    direct.rows(spec, *batch)
                    done += len(batch[0])
                if progress:
                    progress(api.name, done, total)
            direct.close()
            for part in extras() if extras is not None else ():
                loader.absorb(part, side_specs, t, entities=True)
    loader.finish(
        [table_spec(c, api) for c in collections],
        tenants,
        {
            f"world:{api.name}": fingerprint(api, settings),
            f"tenants:{api.name}": str(tenants),
            f"options:{api.name}": settings.describe(api),
        },
    )


@dataclass(frozen=True, slots=True)
class _Work:
    """What forked workers render (set just before the pool forks, so children inherit it).

    Attributes:
        api: The API's name.
        collection: The payments collection, rendered in chunks.
        tenant: Tenant number.
        world: The tenant's world.
        tenant_info: The tenant's facts.
        first_pk: Primary key of the tenant's first payment.
        table: The payments table.
        side: The other collections, each with the primary key of its first record of this tenant.
        loader: The store's loader, whose sinks the workers write to.
        scratch: Directory for the workers' scratch files.
    """

    api: str
    collection: CollectionSpec
    tenant: int
    world: World
    tenant_info: Facts
    first_pk: int
    table: TableSpec
    side: tuple[tuple[CollectionSpec, int], ...] = ()
    loader: Loader | None = None
    scratch: str = ""


_WORK: _Work | None = None

Rendered = tuple[list[tuple[Any, ...]], Iterator[tuple[Any, ...]]]


def _render_chunk(chunk: int) -> Rendered:
    """One chunk of payments as the store takes them: ``(pk, id, *columns)`` and ``(pk, doc, facts)``.

    The second is an iterator, to be read once: see :func:`_json`.
    """
    assert _WORK is not None
    work = _WORK
    tenant_info, first_pk = work.tenant_info, work.first_pk
    id_field = work.collection.id_field
    render_row = work.collection.render_row
    hydrate = work.world.hydrator
    # One step at a time over the whole chunk (all facts, then all records, then each column...)
    # rather than every step per payment: each small loop's code stays hot, and in one process a
    # chunk costs 10-15 % less CPU. (In two forked workers the gain is inside this machine's
    # run-to-run spread: see bench/README.md §3.)
    facts = list(work.world.payments(chunk))
    made = [render_row({"payment": hydrate(f), "tenant": tenant_info}) for f in facts]
    pks = [first_pk + f["seq"] - 1 for f in facts]
    rows = [(pk, str(doc[id_field]), *values) for pk, (doc, values) in zip(pks, made, strict=True)]
    documents = zip(pks, (orjson.dumps(doc) for doc, _ in made), map(pack_payment, facts), strict=True)
    return rows, documents


def _render_chunk_to_file(chunk: int) -> Part:
    """Render a chunk and write it through a sink of its own (a scratch file, for SQLite).

    The worker does the database's encoding too, and the writing process takes the finished part
    in (for SQLite, one ``INSERT ... SELECT`` per table, in C) instead of receiving every row
    through a pipe.
    """
    assert _WORK is not None
    assert _WORK.loader is not None
    rows, documents = _render_chunk(chunk)
    sink = _WORK.loader.sink([_WORK.table], _WORK.tenant, _WORK.scratch, f"chunk-{chunk:06d}")
    sink.rows(_WORK.table, rows, documents)
    return sink.close()


def _render_side_to_file(part: str) -> Part:
    """Store one part of the tenant's other records (see :func:`_store_side`) through a sink of its own.

    The writing process takes it in as it does payment chunks (see :func:`_render_chunk_to_file`).
    """
    assert _WORK is not None
    assert _WORK.loader is not None
    tables = [table_spec(collection) for collection, _ in _WORK.side]
    sink = _WORK.loader.sink(tables, _WORK.tenant, _WORK.scratch, part)
    _store_side(sink, _WORK, part)
    return sink.close()


#: The parts :func:`_store_side` stores, one task each.
_SIDE_PARTS = ("entities", "collections")

Extras = Callable[[], list[Part]]


@contextmanager
def _rendered_payments(
    work: _Work, scratch_parent: str | None
) -> Iterator[tuple[Iterator[Rendered | Part], Extras | None]]:
    """Rendered payments of one tenant, chunk by chunk in creation order, and the tenant's other records.

    Large worlds are rendered by forked workers (one per core), which start on entering and hand
    back the parts they wrote (see :func:`_render_chunk_to_file`); small ones are rendered here,
    as rows. The result does not depend on how many workers there are.

    The second item is ``None`` when rendering here (the caller stores the entities and other
    collections itself); with workers it returns the parts holding them, which the
    workers make once the payments are rendered, so that the writing process spends its time
    meanwhile on copying payments in.
    """
    global _WORK
    workers = min(os.cpu_count() or 1, work.world.chunks)
    try:
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            _WORK = work
            yield map(_render_chunk, range(work.world.chunks)), None
            return
        scratch = _scratch_dir(scratch_parent)
        _WORK = dataclasses.replace(work, scratch=scratch)
        # The world is read, never changed, by the workers: frozen, the collector never walks it,
        # so its pages stay shared with this process instead of being copied into each worker.
        gc.freeze()
        try:
            with multiprocessing.get_context("fork").Pool(workers, initializer=_start_worker) as pool:
                chunks = pool.imap(_render_chunk_to_file, range(work.world.chunks))
                # Queued after every chunk: the workers take them up as the payments run out.
                side = [pool.apply_async(_render_side_to_file, (part,)) for part in _SIDE_PARTS]
                yield chunks, lambda: [result.get() for result in side]
        finally:
            gc.unfreeze()
            shutil.rmtree(scratch, ignore_errors=True)
    finally:
        _WORK = None


def _start_worker() -> None:
    """Pool initializer: no cyclic garbage collection in a worker.

    Rendering allocates millions of short-lived dicts and lists and no cycles; the collector's
    passes over them were ~5 % of a worker's time (perf, over a seed).
    """
    gc.disable()


_SCRATCH_PREFIX = ".paymock-seeding-"


def _scratch_dir(parent: str | None) -> str:
    """A new scratch directory named after this process, beside the data file.

    A seed that was killed leaves its directory behind (its chunk files are deleted only as they
    are copied in); directories of processes that no longer exist are removed here, those of a
    seed still running are left alone.
    """
    for old in Path(parent or tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*"):
        pid = old.name.removeprefix(_SCRATCH_PREFIX).partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-", dir=parent)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _row(collection: CollectionSpec, env: dict[str, Any], facts: Facts) -> tuple[Any, ...]:
    doc, values = collection.render_row(env)
    return (
        str(doc[collection.id_field]),
        _json(pack_facts(facts)),
        _json(orjson.dumps(doc)),
        *values,
    )


def _json(encoded: bytes) -> bytes:
    """JSON to be held until its batch is written, copied to its length.

    orjson's bytes keep the 4 KiB buffer they were written in whatever their length: a list of
    the 92,000 subscription rows of a million-payment world held 720 MiB for 50 MiB of JSON.
    Payments are not held: their documents go to SQLite one by one as they are encoded.
    """
    return bytes(memoryview(encoded))


def _store_side(sink: Sink, work: _Work, part: str) -> None:
    """Store one part of a tenant's records besides its payments: "entities" or "collections"."""
    world = work.world
    if part == "entities":
        _store_entities(sink, work.api, work.tenant, world)
        return
    for collection, first_pk in work.side:
        rows = [
            _row(
                collection,
                {collection.entity: world.hydrate_subscription(s), "tenant": work.tenant_info},
                s,
            )
            for s in world.subscriptions
        ]
        sink.records(table_spec(collection), rows, first_pk)


def _store_entities(sink: Sink, api: str, tenant: int, world: World) -> None:
    rows = (
        (api, tenant, kind, e["seq"], orjson.dumps(e))
        for kind, entities in (
            ("customer", world.customers),
            ("subscription", world.subscriptions),
            ("user", world.users),
        )
        for e in entities
    )
    sink.entities(rows)
    # Invoices are nearly one per payment: stored as blocks of their compact numbers, not a row each.
    invoices = world.invoices
    sink.entities((api, tenant, "invoice-block", b, orjson.dumps(invoices.block(b))) for b in range(invoices.blocks))
