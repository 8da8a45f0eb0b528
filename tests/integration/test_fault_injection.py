"""Fault injection over HTTP, as a client sees it: every effect and schedule on every API, the
vendor's own error bodies (valid against its document), determinism, rules shared by two workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
import requests
from control_helpers import APIS, Lister, add_rule, clean, journal
from documented import assert_documented
from live import LiveServer
from vendors import Answer

from mock_server.spec import ApiSpec

STATUSES = (429, 500, 502, 503, 504)


@pytest.fixture
def ctl(server: LiveServer) -> Iterator[LiveServer]:
    clean(server)
    yield server
    clean(server)


def _answer(response: requests.Response) -> Answer:
    return Answer(response.status_code, dict(response.headers), response.content)


@pytest.mark.parametrize("api", APIS)
def test_every_fault_status_answers_in_the_vendors_documented_error_format(
    ctl: LiveServer, api: str, specs: dict[str, ApiSpec]
) -> None:
    lister = Lister(ctl.url, api)
    for status in STATUSES:
        # Given a rule for this status on the API's list operation
        effect = {"fault": "status", "status": status}
        if status == 503:
            effect["retry-after"] = 7
        rule = add_rule(ctl, api=api, operation=lister.operation, effect=effect, id=f"s{status}")
        # When the client lists
        response = lister.get()
        # Then the status and body are the vendor's, as the document declares them
        assert response.status_code == status
        assert_documented(specs[api], lister.template, "get", _answer(response))
        if status == 429:
            assert response.headers["Retry-After"] == "1"
        elif status == 503:
            assert response.headers["Retry-After"] == "7"
        else:
            assert "Retry-After" not in response.headers
        requests.delete(f"{ctl.url}/__paymock/faults/{rule['id']}", timeout=30).raise_for_status()
    # And without a rule the list answers normally again
    assert lister.get().status_code == 200


@pytest.mark.parametrize("api", APIS)
def test_prefer_header_asks_for_a_status_and_a_delay(ctl: LiveServer, api: str, specs: dict[str, ApiSpec]) -> None:
    lister = Lister(ctl.url, api)
    response = lister.get(headers={"Prefer": "code=429, delay=20"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert_documented(specs[api], lister.template, "get", _answer(response))
    (entry,) = journal(ctl, api=api, operation=lister.operation)
    assert (entry["fault"], entry["rule"], entry["status"]) == ("status", "prefer-header", 429)
    # A code paymock cannot send is refused in the vendor's format, naming what it honours
    refused = lister.get(headers={"Prefer": "code=418"})
    assert refused.status_code in (400, 422) and "429, 500, 502, 503, 504" in refused.text


@pytest.mark.parametrize("api", APIS)
def test_wire_faults_as_requests_sees_them(ctl: LiveServer, api: str) -> None:
    lister = Lister(ctl.url, api)
    op = lister.operation

    add_rule(ctl, id="reset", api=api, operation=op, effect="connection-reset", schedule="once")
    with pytest.raises(requests.ConnectionError, match="Connection reset by peer"):
        lister.get()

    add_rule(ctl, id="cut", api=api, operation=op, effect={"fault": "truncated-body", "keep": 0.5}, schedule="once")
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        lister.get()

    add_rule(ctl, id="bad-json", api=api, operation=op, effect="malformed-json", schedule="once")
    broken = lister.get()
    assert broken.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(broken.content)

    drip = {"fault": "slow-body", "chunk": 512, "interval": 2}
    add_rule(ctl, id="drip", api=api, operation=op, effect=drip, schedule="once")
    dripped = lister.get()
    assert dripped.status_code == 200 and orjson.loads(dripped.content)  # slow, but whole

    lognormal = {"distribution": "lognormal", "median": 5, "sigma": 0.3}
    add_rule(ctl, id="slow", api=api, operation=op, effect={"fault": "latency", "delay": lognormal}, schedule="once")
    late = lister.get()
    assert late.status_code == 200 and orjson.loads(late.content)

    faults = [(e["fault"], e["rule"]) for e in reversed(journal(ctl, api=api, operation=op))]
    assert faults == [
        ("connection-reset", "reset"),
        ("truncated-body", "cut"),
        ("malformed-json", "bad-json"),
        ("slow-body", "drip"),
        ("latency", "slow"),
    ]


@pytest.mark.parametrize("api", APIS)
def test_schedules(ctl: LiveServer, api: str) -> None:
    lister = Lister(ctl.url, api)
    schedules = {
        "always": "always",
        "first-n": {"when": "first-n", "n": 2},
        "every-nth": {"when": "every-nth", "n": 3},
        "once": "once",
        "probability": {"when": "probability", "p": 0.5},
    }
    expected = {
        "always": [True] * 6,
        "first-n": [True, True, False, False, False, False],
        "every-nth": [False, False, True, False, False, True],
        "once": [True, False, False, False, False, False],
    }
    for name, schedule in schedules.items():
        add_rule(
            ctl,
            id=name,
            api=api,
            operation=lister.operation,
            effect={"fault": "status", "status": 503},
            schedule=schedule,
            seed=11,
        )
        seen = [lister.get().status_code == 503 for _ in range(6)]
        requests.delete(f"{ctl.url}/__paymock/faults/{name}", timeout=30).raise_for_status()
        if name == "probability":
            # Seeded: the same rule again gives the same faults, and p=0.5 over 6 is not all or nothing
            add_rule(
                ctl,
                id=name,
                api=api,
                operation=lister.operation,
                effect={"fault": "status", "status": 503},
                schedule=schedule,
                seed=11,
            )
            again = [lister.get().status_code == 503 for _ in range(6)]
            assert again == seen and any(seen) and not all(seen)
            requests.delete(f"{ctl.url}/__paymock/faults/{name}", timeout=30).raise_for_status()
        else:
            assert seen == expected[name], name


def test_rules_match_on_query_and_tenant(ctl: LiveServer) -> None:
    first, second = Lister(ctl.url, "zuora"), Lister(ctl.url, "zuora")
    second.session = type(second.session)(ctl.url, "zuora", tenant=1)
    tenant = first.session.cred["tenant"]
    # "page 3 of this walk fails once", for one tenant
    add_rule(
        ctl,
        api="zuora",
        tenant=tenant,
        operation="GET /v1/payments",
        query={"page": 3},
        effect={"fault": "status", "status": 500},
        schedule="once",
    )
    assert first.get({"page": 2, "pageSize": 5}).status_code == 200
    assert second.get({"page": 3, "pageSize": 5}).status_code == 200  # another tenant
    assert first.get({"page": 3, "pageSize": 5}).status_code == 500
    assert first.get({"page": 3, "pageSize": 5}).status_code == 200  # once
    (rule,) = requests.get(f"{ctl.url}/__paymock/faults", timeout=30).json()["rules"]
    assert rule["matched"] == 2


def test_rules_and_counters_are_one_state_for_both_workers(ctl: LiveServer) -> None:
    lister = Lister(ctl.url, "notify")
    add_rule(ctl, api="notify", effect={"fault": "status", "status": 502}, schedule={"when": "first-n", "n": 5})
    statuses = []
    # Fresh connections until both workers have answered (gunicorn spreads them; the rule was posted to one)
    for _ in range(200):
        statuses.append(lister.get().status_code)
        workers = {e["worker"] for e in journal(ctl, api="notify")}
        if len(workers) == 2 and len(statuses) >= 8:
            break
    assert len(workers) == 2
    # Exactly the first five matching requests failed, whichever worker answered them
    assert statuses[:5] == [502] * 5 and set(statuses[5:]) == {200}


def test_a_bad_rule_is_refused_whole_with_what_is_allowed(ctl: LiveServer) -> None:
    url = f"{ctl.url}/__paymock/faults"
    good = {"api": "zuora", "effect": {"fault": "status", "status": 503}}
    cases = [
        (
            {"api": "zuroa", "effect": "malformed-json"},
            "rules[1].api",
            "served: exsited, flexportal, notify, zuora, zutax",
        ),
        (
            {"api": "zuora", "operation": "listPayments", "effect": "malformed-json"},
            "operation",
            "GET_RetrieveAllPayments (GET /v1/payments)",
        ),
        ({"effect": {"fault": "status", "status": 418}}, "effect.status", "429, 500, 502, 503, 504"),
        (
            {"effect": {"fault": "explode"}},
            "effect.fault",
            "connection-reset, latency, malformed-json, slow-body, status, truncated-body",
        ),
        ({"effect": "latency"}, "effect.delay", "latency needs a delay"),
        (
            {"effect": {"fault": "latency", "delay": {"distribution": "normal"}}},
            "delay.distribution",
            "fixed, lognormal, uniform",
        ),
        (
            {"effect": "malformed-json", "schedule": {"when": "sometimes"}},
            "schedule.when",
            "always, every-nth, first-n, once, probability",
        ),
        ({"effect": "malformed-json", "schedule": {"when": "probability", "p": 2}}, "schedule.p", "between 0 and 1"),
        ({"effect": "malformed-json", "tenant": "nobody"}, "tenant", "tenants:"),
        ({"effect": "malformed-json", "colour": "red"}, "rules[1]", "allowed: api, effect, id"),
    ]
    for bad, where, allowed in cases:
        response = requests.post(url, json={"rules": [good, bad]}, timeout=30)
        assert response.status_code == 400, bad
        body = response.json()
        assert body["error"] == "invalid_rule" and where in body["message"] and allowed in body["message"], body
    # Nothing of any of them was applied
    assert requests.get(url, timeout=30).json()["rules"] == []
    assert requests.post(url, data="x", headers={"Content-Type": "application/json"}, timeout=30).status_code == 400
    assert requests.delete(f"{url}/nope", timeout=30).status_code == 404
    stray = requests.get(url, params={"api": "zuora"}, timeout=30)
    assert stray.status_code == 400 and "takes none" in stray.json()["message"]
