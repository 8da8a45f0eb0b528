"""The control plane's parts, in process: schedules, delays, masking, the SQLite state's bounds."""

from __future__ import annotations

import random
import threading
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import EnvironHeaders
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from mock_server.app import RequestHeaders, _query
from mock_server.control.delays import load_delay
from mock_server.control.journal import BODY_LIMIT, mask, masked_body, masked_pairs
from mock_server.control.rules import ApiCatalog, RuleError, compile_rules
from mock_server.control.schedules import load_schedule
from mock_server.control.state import DuplicateRuleError, JournalQuery
from mock_server.store.sqlite.control import SqliteControlState

CATALOG = {"acme": ApiCatalog({"listCharges": ("GET", "/v1/charges")}, ["acme-1", "acme-2"])}


def _entry(i: int, api: str = "acme") -> dict[str, Any]:
    return {"time": float(i), "api": api, "tenant": "acme-1", "operation": "listCharges", "method": "GET",
            "path": "/v1/charges", "status": 200, "n": i}  # fmt: skip


def test_a_probability_schedule_depends_only_on_seed_and_match_number() -> None:
    schedule = load_schedule({"when": "probability", "p": 0.3}, "s")
    first = [schedule.fires(n, 42) for n in range(1, 200)]
    # Another process, another order of evaluation: the same answers
    assert [schedule.fires(n, 42) for n in reversed(range(1, 200))][::-1] == first
    assert first != [schedule.fires(n, 43) for n in range(1, 200)]
    assert 30 < sum(first) < 90


def test_delays_draw_in_range_and_refuse_what_they_cannot_be() -> None:
    rng = random.Random(1)
    assert load_delay(250, "d").seconds(rng) == 0.25
    uniform = load_delay({"distribution": "uniform", "min": 10, "max": 20}, "d")
    assert all(0.01 <= uniform.seconds(rng) <= 0.02 for _ in range(100))
    lognormal = load_delay({"distribution": "lognormal", "median": 100, "sigma": 0.5}, "d")
    draws = sorted(lognormal.seconds(rng) for _ in range(501))
    assert 0.07 < draws[250] < 0.14  # the median is the median
    for bad, says in [
        ({"distribution": "uniform", "min": 20, "max": 10}, "must be at least min"),
        ({"distribution": "lognormal", "median": 100, "sigma": 9}, "between 0 and 5"),
        ({"distribution": "fixed", "ms": 120_000}, "between 0 and 60000"),
        ({"distribution": "pareto"}, "available: fixed, lognormal, uniform"),
    ]:
        with pytest.raises(Exception, match=says):
            load_delay(bad, "d")


def test_credentials_are_masked_in_headers_queries_and_bodies() -> None:
    assert mask("Bearer abcdefghijklmnopqrstuvwxyz") == "Bearer ****wxyz"
    assert mask("short") == "****"
    pairs = masked_pairs([("X-API-Key", "k" * 40), ("Accept", "*/*"), ("api_key", "secret")])
    assert pairs == [["X-API-Key", "****kkkk"], ["Accept", "*/*"], ["api_key", "****"]]
    form, cut = masked_body(b"grant_type=client_credentials&client_secret=hunter2", "application/x-www-form-urlencoded")
    assert form == "grant_type=client_credentials&client_secret=%2A%2A%2A%2A" and not cut
    body, _ = masked_body(b'{"clientSecret": "hunter2", "amount": 5}', "application/json")
    assert "hunter2" not in str(body) and '"amount":5' in str(body)
    big, cut = masked_body(b"x" * (BODY_LIMIT + 10), "text/plain")
    assert big is not None and len(big) == BODY_LIMIT and cut


def test_rules_compile_whole_or_not_at_all() -> None:
    reset = {"api": "acme", "operation": "GET /v1/charges", "effect": "connection-reset"}
    rules = compile_rules({"rules": [{"effect": "malformed-json"}, reset]}, "faults.yaml", CATALOG, 1, taken=["rule-1"])
    assert [r.id for r in rules] == ["rule-2", "rule-3"] and rules[1].operations == frozenset({"listCharges"})
    with pytest.raises(RuleError, match=r"faults.yaml: rules\[1\].id: 'x' is already in use"):
        compile_rules({"rules": [{"id": "x", "effect": "malformed-json"}, {"id": "x", "effect": "malformed-json"}]},
                      "faults.yaml", CATALOG, 1)  # fmt: skip
    with pytest.raises(RuleError, match="unknown tenant 'acme-9'; tenants: acme-1, acme-2"):
        compile_rules([{"tenant": "acme-9", "effect": "malformed-json"}], "faults.yaml", CATALOG, 1)


def test_state_keeps_rules_whole_and_counts_atomically(tmp_path: Path) -> None:
    state = SqliteControlState(str(tmp_path / "c.sqlite3"), capacity=10)
    state.add_rules([("a", {"id": "a"}), ("b", {"id": "b"})])
    with pytest.raises(DuplicateRuleError):
        state.add_rules([("c", {"id": "c"}), ("a", {"id": "a"})])
    generation, rules = state.rules()
    assert [r.id for r in rules] == ["a", "b"]  # nothing of the refused batch
    threads = [threading.Thread(target=lambda: [state.count_match("a") for _ in range(50)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.count_match("a") == 201 and state.count_match("gone") == 0
    assert state.delete_rule("b") and not state.delete_rule("b") and state.generation() > generation


def test_the_journal_is_bounded_and_can_be_off(tmp_path: Path) -> None:
    state = SqliteControlState(str(tmp_path / "c.sqlite3"), capacity=10)
    for i in range(25):
        state.record(partial(_entry, i))
    entries, total = state.requests(JournalQuery(limit=100))
    assert total == 10 and [e["n"] for e in entries] == list(range(24, 14, -1))
    assert state.requests(JournalQuery(api="other"))[1] == 0
    assert state.clear_requests() == 10
    off = SqliteControlState(str(tmp_path / "off.sqlite3"), capacity=0)
    off.record(partial(_entry, 1))
    assert off.requests(JournalQuery())[1] == 0


def test_the_journal_keeps_the_newest_entries_by_time_whenever_they_were_written(tmp_path: Path) -> None:
    # Given workers that write their entries only when the journal is read, a later write may
    # hold older entries: the journal keeps the newest by time, not the last written.
    state = SqliteControlState(str(tmp_path / "c.sqlite3"), capacity=3)
    for i in (5, 1):
        state.record(partial(_entry, i))
    assert state.requests(JournalQuery())[1] == 2
    for i in (6, 2, 7):
        state.record(partial(_entry, i))
    entries, total = state.requests(JournalQuery())
    assert total == 3 and [e["n"] for e in entries] == [7, 6, 5]


def test_an_entry_that_cannot_be_made_costs_only_itself(tmp_path: Path) -> None:
    # Given three journaled requests, the second of which fails when its entry is made (off the
    # request's path, by the journal's writer), the other two are journaled all the same.
    def broken() -> dict[str, Any]:
        raise ValueError("unreadable")

    state = SqliteControlState(str(tmp_path / "c.sqlite3"), capacity=10)
    for pending in (partial(_entry, 1), broken, partial(_entry, 3)):
        state.record(pending)
    entries, total = state.requests(JournalQuery())
    assert total == 2 and [e["n"] for e in entries] == [3, 1]


def test_request_headers_are_listed_as_werkzeug_lists_them() -> None:
    environ = EnvironBuilder(
        path="/x", headers={"Authorization": "Bearer k", "Tenant-ID": "t", "X_Odd": "1", "Empty": ""}
    ).get_environ()
    for content_type in ("", "application/json"):
        environ["CONTENT_TYPE"] = content_type
        assert list(RequestHeaders(environ).items()) == list(EnvironHeaders(environ).items())
        # Looked up by any spelling (each name's environ key is kept after its first lookup), twice
        for _ in range(2):
            for name in ("authorization", "Tenant-ID", "TENANT_ID", "x-odd", "Empty", "Content-Type", "Missing"):
                assert RequestHeaders(environ).get(name) == EnvironHeaders(environ).get(name), name


@pytest.mark.parametrize(
    "query",
    ["", "limit=5", "a=1&b=2&a=3&c=&b", "x=%E2%82%AC&y=a+b&z=%zz&w=%FF", "status=paid&status=paid&limit=1"],
)
def test_a_query_is_read_in_the_order_and_spelling_werkzeug_gives(query: str) -> None:
    request = Request(EnvironBuilder(path="/x", query_string=query).get_environ())
    # Repeated names as a MultiDict lists them: each name's values together, at its first place
    assert _query(request) == list(request.args.items(multi=True))


def test_the_consumer_plugin_imports_neither_the_contract_kit_nor_schemathesis() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, mock_server.testing; print(sorted({'contracts', 'schemathesis', 'hypothesis'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
