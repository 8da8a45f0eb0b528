"""PostgreSQL's request journal: a worker's batch written by one binary COPY, then trimmed.

The entries of one batch hold what the columns must carry: no tenant or operation (``NULL``), a
path and an API name outside ASCII, another status; the journal keeps the last ``capacity``
entries written (here in time order).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import psycopg
import pytest
from postgres import Postgres

from mock_server.control.state import JournalQuery
from mock_server.store import journal
from mock_server.store.postgresql import sql
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


def _persistence(url: str) -> str:
    with psycopg.connect(url) as db:
        row = db.execute("SELECT relpersistence FROM pg_class WHERE oid = 'control_journal'::regclass").fetchone()
    assert row is not None
    return str(row[0])


def test_the_journal_is_unlogged_and_a_logged_one_from_before_is_made_so_with_its_entries(postgres: Postgres) -> None:
    # The journal writes no write-ahead log (it was a fifth of PostgreSQL's CPU per request).
    url = postgres.database("journal_unlogged")
    fresh = PostgreSQLControlState(url, 10)
    fresh.close()
    assert _persistence(url) == "u"
    # Given a journal as an earlier paymock made it (logged), holding an entry
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("ALTER TABLE control_journal SET LOGGED")
        db.execute(journal.insert(sql.DIALECT), journal.row(_entry(7)))
    assert _persistence(url) == "p"
    # When a replica opens the control state, the journal becomes unlogged, its entry kept
    opened = PostgreSQLControlState(url, 10)
    try:
        assert _persistence(url) == "u"
        with psycopg.connect(url) as db:
            assert db.execute("SELECT count(*) FROM control_journal").fetchone() == (1,)
    finally:
        opened.close()


def _writers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "paymock-journal" and t.is_alive()}


def test_closing_stops_the_writer_once_it_wrote_what_it_buffered_and_use_starts_another(postgres: Postgres) -> None:
    url = postgres.database("journal_close")
    before = _writers()
    state = PostgreSQLControlState(url, 10)
    state.record(partial(_entry, 1))
    (writer,) = _writers() - before
    # When the state is closed (an embedding program done with it, or a fork coming)
    state.close()
    # Then its writer is gone, its entry written, and readers no longer wait for this worker
    assert not writer.is_alive()
    with psycopg.connect(url) as db:
        assert db.execute("SELECT count(*) FROM control_journal").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM control_workers").fetchone() == (0,)
    # And used again, it starts a writer of its own
    state.record(partial(_entry, 2))
    (again,) = _writers() - before
    assert again is not writer
    assert state.requests(JournalQuery())[1] == 2
    state.close()
    assert not again.is_alive()
