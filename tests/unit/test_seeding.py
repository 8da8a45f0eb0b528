"""Seeding: the rendered world does not depend on how many processes render it."""

from __future__ import annotations

import mock_server.seeding as seeding
from mock_server.spec import load_api, openapi_dir
from mock_server.world import PAYMENT_CHUNK, World, tenant_facts


def test_parallel_rendering_gives_the_same_rows_as_serial() -> None:
    api = load_api(openapi_dir() / "notify.yaml")
    collection = api.collections[api.payments_collection or ""]
    tenant = tenant_facts(3, api.name, 1)
    world = World(api.world, 3, tenant, PAYMENT_CHUNK * 2 + 17, 1_793_491_200)
    parallel = [row for batch in seeding._payment_rows(collection, 1, world, tenant) for row in batch]
    serial = []
    for chunk in range(world.chunks):
        seeding._WORK = (collection, 1, world, tenant)
        serial += seeding._render_chunk(chunk)
    seeding._WORK = None
    assert len(parallel) == world.size == len(serial)
    assert parallel == serial
    assert len({row[1] for row in parallel}) == world.size  # ids unique across chunks
