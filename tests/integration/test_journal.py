"""The request journal and verification over HTTP: content, masking, filters, pages, near misses."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from control_helpers import Lister, clean, journal
from live import LiveServer
from vendors import Session

from mock_server.testing import PaymockServer


@pytest.fixture
def ctl(server: LiveServer) -> Iterator[LiveServer]:
    clean(server)
    yield server
    clean(server)


def test_an_entry_holds_the_request_and_its_answer_with_credentials_masked(ctl: LiveServer) -> None:
    # Given a zuora client that takes a token (its secret in a form body) and lists
    zuora = Session(ctl.url, "zuora")
    secret = zuora.cred["client_secret"]
    zuora.get("/v1/payments", params={"status": "Processed", "pageSize": 3}, headers={"Zuora-Track-Id": "t-1"})
    listed, token = journal(ctl, api="zuora")
    # Then the list's entry says what was asked and answered
    assert listed["operation"] == "GET_RetrieveAllPayments" and listed["method"] == "GET"
    assert listed["path"] == "/v1/payments" and listed["tenant"] == zuora.cred["tenant"]
    assert listed["query"] == [["status", "Processed"], ["pageSize", "3"]]
    assert listed["status"] == 200 and listed["response_size"] > 0
    assert listed["response_headers"]["Zuora-Track-Id"] == "t-1"
    assert listed["fault"] is None and listed["rule"] is None and listed["worker"] > 0
    assert listed["duration_ms"] >= 0 and listed["time"] > 0
    # And credentials are masked everywhere: the bearer token, the client secret in the body
    assert listed["headers"]["Authorization"].startswith("Bearer ****")
    assert zuora.headers["Authorization"][7:] not in str(listed)
    assert token["operation"] == "createToken" and token["tenant"] is None
    assert secret not in str(token) and "client_secret=%2A%2A%2A%2A" in token["body"]


def test_journal_filters_pages_and_clears(ctl: LiveServer) -> None:
    lister = Lister(ctl.url, "flexportal")
    started = time.time() - 1
    for status in ("paid", "failed", "paid"):
        lister.get({"status": status})
    lister.get({"limit": 1000})  # refused: 400
    requests.get(f"{ctl.url}/flexportal/v1/nowhere", timeout=30)  # no such path: journaled too
    url = f"{ctl.url}/__paymock/requests"
    assert requests.get(url, params={"status": 400}, timeout=30).json()["total"] == 1
    assert requests.get(url, params={"operation": "listPayments", "status": 200}, timeout=30).json()["total"] == 3
    assert requests.get(url, params={"path": "/v1/nowhere"}, timeout=30).json()["requests"][0]["operation"] is None
    assert requests.get(url, params={"since": "2999-01-01T00:00:00Z"}, timeout=30).json()["total"] == 0
    assert requests.get(url, params={"since": str(started)}, timeout=30).json()["total"] == 5
    first = requests.get(url, params={"limit": 2}, timeout=30).json()
    assert first["total"] == 5 and len(first["requests"]) == 2
    second = requests.get(first["next"], timeout=30).json()
    seqs = [e["seq"] for e in first["requests"] + second["requests"]]
    times = [e["time"] for e in first["requests"] + second["requests"]]
    assert times == sorted(times, reverse=True) and len(set(seqs)) == 4  # newest first, no overlap
    for bad, says in [
        ({"limit": 0}, "between 1 and 1000"),
        ({"status": "ok"}, "must be an integer"),
        ({"api": "stripe"}, "served APIs: exsited, flexportal"),
        ({"method": "FETCH"}, "allowed: GET"),
        ({"since": "yesterday"}, "ISO 8601"),
        ({"colour": "red"}, "allowed: api, tenant"),
    ]:
        refused = requests.get(url, params=bad, timeout=30)
        assert refused.status_code == 400 and says in refused.json()["message"], bad
    assert requests.delete(url, timeout=30).json()["deleted"] >= 5
    assert requests.get(url, timeout=30).json()["total"] == 0


def test_verification_counts_and_explains_near_misses(ctl: LiveServer) -> None:
    lister = Lister(ctl.url, "flexportal")
    tenant = lister.session.cred["tenant"]
    lister.get({"status": "failed"})
    lister.get({"status": "paid"})
    pattern = {
        "api": "flexportal",
        "tenant": tenant,
        "method": "GET",
        "path": "/v1/payments",
        "query": {"status": "failed"},
    }
    verdict = requests.post(f"{ctl.url}/__paymock/requests/verify", json=pattern, timeout=30).json()
    assert verdict["count"] == 1
    closest = verdict["near_misses"][0]
    assert closest["reasons"] == ["query status is 'paid', expected 'failed'"]

    # The Python helper raises an AssertionError that lists each near miss and why
    helper = PaymockServer(ctl.url)
    helper.verify(1, **pattern)
    with pytest.raises(AssertionError) as failed:
        helper.verify(1, api="flexportal", tenant=tenant, path="/v1/payments", query={"status": "cancelled"})
    message = str(failed.value)
    assert "expected 1 request(s) matching" in message and "got 0" in message
    assert "query status is 'failed', expected 'cancelled'" in message
    assert "query status is 'paid', expected 'cancelled'" in message

    refused = requests.post(f"{ctl.url}/__paymock/requests/verify", json={"verb": "GET"}, timeout=30)
    assert refused.status_code == 400 and "allowed: api" in refused.json()["message"]
