"""PostgreSQL's request journal: a worker's batch written by one binary COPY, then trimmed.

The entries of one batch hold what the columns must carry: no tenant or operation (``NULL``), a
path and an API name outside ASCII, another status; the journal keeps the last ``capacity``
entries written (here in time order).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from postgres import Postgres

from mock_server.control.state import JournalQuery
from mock_server.store.postgresql.control import PostgreSQLControlState


def _entry(i: int, **changes: Any) -> dict[str, Any]:
    entry = {"time": 1_700_000_000.5 + i, "api": "acme", "tenant": "acme-1", "operation": "listCharges",
             "method": "GET", "path": "/v1/charges", "status": 200, "n": i}  # fmt: skip
    return {**entry, **changes}


@pytest.fixture
def state(
    postgres: Postgres, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PostgreSQLControlState]:
    url = postgres.database(f"journal_{request.node.name.lower()[-40:].replace('-', '_')}")
    state = PostgreSQLControlState(url, 10)
    # No writer thread: a read writes this process's buffer itself (the same COPY), and no
    # thread or exit hook outlives the test's server.
    monkeypatch.setattr(state, "_start_flusher", lambda: None)
    state.clear_requests()
    yield state
    state.close()


def test_a_batch_is_written_whole_with_every_column_and_trimmed_to_the_capacity(state: PostgreSQLControlState) -> None:
    # Given 25 entries, some without tenant or operation, one with text outside ASCII
    for i in range(24):
        state.record(partial(_entry, i, tenant=None if i % 3 else "acme-1", operation=None if i % 5 == 0 else "op"))
    state.record(partial(_entry, 24, api="zürich", path="/v1/charges/ch_ü€", status=503))
    # When the journal is read (every worker's buffer written first)
    entries, total = state.requests(JournalQuery(limit=100))
    # Then the newest ten are kept, newest first, each as it was recorded
    assert total == 10 and [e["n"] for e in entries] == list(range(24, 14, -1))
    newest = entries[0]
    assert (newest["api"], newest["path"], newest["status"]) == ("zürich", "/v1/charges/ch_ü€", 503)
    assert newest["time"] == 1_700_000_024.5
    # And the columns a reader filters by hold the same values as the entries
    assert state.requests(JournalQuery(api="zürich"))[1] == 1
    assert state.requests(JournalQuery(status=503, path="/v1/charges/ch_ü€"))[1] == 1
    assert state.requests(JournalQuery(tenant="acme-1"))[1] == sum(1 for i in range(15, 25) if i % 3 == 0)
    assert state.requests(JournalQuery(operation="op"))[1] == sum(1 for i in range(15, 24) if i % 5)
    assert state.requests(JournalQuery(since=1_700_000_020.5))[1] == 5
    # And a second batch trims again
    for i in range(25, 28):
        state.record(partial(_entry, i))
    entries, total = state.requests(JournalQuery(limit=100))
    assert total == 10 and [e["n"] for e in entries] == list(range(27, 17, -1))
    assert state.clear_requests() == 10 and state.requests(JournalQuery())[1] == 0
