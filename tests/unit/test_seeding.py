"""Seeding: the rendered world does not depend on how many processes render it (into the SQLite store)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mock_server.seeding as seeding
from mock_server.spec import load_api, openapi_dir
from mock_server.store import Part, SQLiteStore
from mock_server.store import SQLiteStore as Store
from mock_server.store.sqlite import sql as spelled
from mock_server.world import PAYMENT_CHUNK, World, tenant_facts


def _side_records(store: SQLiteStore, tables: list[seeding.TableSpec]) -> list[tuple]:
    with store.reading() as db:
        records = list(db.execute("SELECT * FROM entities ORDER BY api, tenant, kind, seq"))
        for t in tables:
            rows = spelled.rows(t.name, 1)
            records += db.execute(f'SELECT * FROM {rows} m JOIN "d_{t.name}" d USING (pk) ORDER BY pk')
    return records


def test_parallel_rendering_gives_the_same_rows_as_serial() -> None:
    api = load_api(openapi_dir() / "flexportal.yaml")
    collection = api.collections[api.payments_collection or ""]
    tenant = tenant_facts(3, api.name, 1)
    world = World(api.world, 3, tenant, PAYMENT_CHUNK * 2 + 17, 1_793_491_200)
    table = seeding.table_spec(collection)
    side = tuple((c, 7) for c in api.collections.values() if c.entity != "payment")
    assert side  # the entities and the other collections are rendered by the workers too
    side_tables = [seeding.table_spec(c) for c, _ in side]
    store = Store(":memory:")
    loader = store.loader()
    work = seeding._Work(api.name, collection, 1, world, tenant, 101, table, side, loader)
    loader.begin(api.name, [table, *side_tables])
    loader.add_tenant([table, *side_tables], 1)
    with seeding._rendered_payments(work, None) as (rendered, extras):
        assert extras is not None
        for part in rendered:
            assert isinstance(part, Part) and part.handle is not None  # rendered by workers into scratch files
            loader.absorb(part, [table], 1)
        for part in extras():
            loader.absorb(part, side_tables, 1, entities=True)
    with store.reading() as db:
        parallel = [
            ((pk, id_, *cols), (pk, doc, facts))
            for pk, id_, *cols, doc, facts in db.execute(
                f'SELECT m.*, d.doc, d.facts FROM {spelled.rows(table.name, 1)} m JOIN "d_{table.name}" d USING (pk)'
                " ORDER BY pk"
            )
        ]
    serial = []
    for chunk in range(world.chunks):
        seeding._WORK = work
        rows, docs = seeding._render_chunk(chunk)
        serial += zip(rows, docs, strict=True)
    seeding._WORK = None
    assert len(parallel) == world.size == len(serial)
    assert parallel == serial
    assert [row[0] for row, _ in parallel] == list(range(101, 101 + world.size))  # keys follow creation order
    assert all(row[0] == doc[0] for row, doc in parallel)
    assert len({row[1] for row, _ in parallel}) == world.size  # ids unique across chunks
    # The entities and other collections the workers stored are those stored here, keys included.
    here = Store(":memory:")
    here_loader = here.loader()
    here_loader.begin(api.name, side_tables)
    here_loader.add_tenant(side_tables, 1)
    sink = here_loader.sink(side_tables, 1)
    for part in ("entities", "collections"):
        seeding._store_side(sink, work, part)
    sink.close()
    stored_here = _side_records(here, side_tables)
    assert len(stored_here) > len(world.customers) + len(world.subscriptions) * 2
    assert [r[0] for r in stored_here[-len(world.subscriptions) :]] == list(range(7, 7 + len(world.subscriptions)))
    assert _side_records(store, side_tables) == stored_here


def test_a_file_store_is_seeded_through_scratch_files_and_left_clean(tmp_path: Path) -> None:
    from mock_server.seeding import SeedSettings, is_seeded, seed_api

    api = load_api(openapi_dir() / "notify.yaml")
    size = PAYMENT_CHUNK * 2 + 17  # three chunks per tenant: rendered by forked workers
    settings = SeedSettings(seed=3, as_of=1_793_491_200, payments=size, tenants=2)
    store = Store(tmp_path / "data.sqlite3")
    progress: list[int] = []
    seed_api(store, api, settings, lambda _api, done, _total: progress.append(done))
    table = api.collections[api.payments_collection or ""].table
    with store.reading() as db:
        pks = {t: [r[0] for r in db.execute(f"SELECT pk FROM {spelled.rows(table, t)} ORDER BY pk")] for t in (1, 2)}
        docs = db.execute(f'SELECT count(*) FROM "d_{table}"').fetchone()[0]
    # Creation order, tenant after tenant, each tenant's records in a table of their own.
    assert pks == {1: list(range(1, size + 1)), 2: list(range(size + 1, 2 * size + 1))}
    assert docs == 2 * size
    assert progress[-1] == 2 * size and progress == sorted(progress)
    assert is_seeded(store, api, settings)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".paymock-seeding")] == []


def test_scratch_of_a_killed_seed_is_removed_and_of_a_running_seed_kept(tmp_path: Path) -> None:
    from mock_server.seeding import SeedSettings, seed_api

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    dead = tmp_path / f".paymock-seeding-{int(finished.stdout)}-x1"
    running = tmp_path / f".paymock-seeding-{os.getppid()}-x2"  # our parent: alive while we run
    for leftover in (dead, running):
        leftover.mkdir()
        (leftover / "chunk-000001.sqlite3").write_bytes(b"half a chunk")
    api = load_api(openapi_dir() / "notify.yaml")
    settings = SeedSettings(seed=3, as_of=1_793_491_200, payments=PAYMENT_CHUNK * 2, tenants=1)
    seed_api(Store(tmp_path / "data.sqlite3"), api, settings)
    assert not dead.exists()
    assert (running / "chunk-000001.sqlite3").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".paymock-seeding")] == [running.name]


def test_json_held_for_a_batch_takes_its_length_not_a_buffer() -> None:
    import tracemalloc

    import orjson

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [seeding._json(orjson.dumps({"seq": i, "status": "paid"})) for i in range(1000)]
        per_item = (tracemalloc.get_traced_memory()[0] - before) / len(held)
    finally:
        tracemalloc.stop()
    assert held[7] == b'{"seq":7,"status":"paid"}'
    assert per_item < 200  # ~60 bytes each: the 25 bytes of JSON and a bytes header (not 4 KiB)


def test_a_new_generator_makes_stored_worlds_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    api = load_api(openapi_dir() / "notify.yaml")
    settings = seeding.SeedSettings(seed=1, as_of=1_793_491_200, payments=10, tenants=1)
    before = seeding.fingerprint(api, settings)
    assert seeding.fingerprint(api, settings) == before
    monkeypatch.setattr(seeding, "GENERATOR_VERSION", seeding.GENERATOR_VERSION + "-next")
    assert seeding.fingerprint(api, settings) != before
