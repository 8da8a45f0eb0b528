"""The admin API only its owner can use: cross-site requests, foreign Host names, the admin token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from live import LiveServer, start_server

from mock_server.cli import main

TOKEN = "s3cret-admin-token"


def test_cross_site_requests_to_state_changing_routes_are_refused(live: LiveServer) -> None:
    reset = f"{live.url}/__paymock/reset"
    # A page on another site can send a "simple" POST without asking first: refused
    assert requests.post(reset, data="x", headers={"Content-Type": "text/plain"}, timeout=30).status_code == 415
    assert requests.post(reset, data={"a": "b"}, timeout=30).status_code == 415
    assert requests.post(reset, files={"f": b"x"}, timeout=30).status_code == 415
    evil = requests.post(reset, headers={"Origin": "http://evil.example"}, timeout=30)
    assert evil.status_code == 403 and "cross-site" in evil.json()["message"]
    assert (
        requests.delete(
            f"{live.url}/__paymock/faults", headers={"Sec-Fetch-Site": "cross-site"}, timeout=30
        ).status_code
        == 403
    )
    # The server's own origin, and a bodyless POST from a program, still work
    assert requests.post(reset, headers={"Origin": live.url}, timeout=30).status_code == 200
    assert requests.post(reset, timeout=30).status_code == 200


def test_a_foreign_host_is_refused_everywhere(live: LiveServer) -> None:
    for path in ("/__paymock/credentials", "/zuora/v1/payments"):
        refused = requests.get(f"{live.url}{path}", headers={"Host": "attacker.example"}, timeout=30)
        assert refused.status_code == 403 and "--allow-host attacker.example" in refused.json()["message"]
    assert requests.get(f"{live.url}/__paymock/credentials", headers={"Host": "localhost"}, timeout=30).ok


FAULTS = """\
rules:
  - id: from-file
    api: notify
    operation: GET /v2/payments
    effect: {fault: status, status: 503, retry-after: 3}
    schedule: once
"""


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # One server for the token, an allowed host, a faults file and a small journal
    where = tmp_path_factory.mktemp("guarded")
    (where / "faults.yaml").write_text(FAULTS)
    server = start_server(
        where / "paymock.sqlite3",
        "--admin-token",
        TOKEN,
        "--allow-host",
        "paymock.internal",
        "--faults",
        str(where / "faults.yaml"),
        "--journal-capacity",
        "3",
        workers=1,
        apis=("notify",),
    )
    yield server
    server.stop()


def test_the_admin_token_and_allowed_hosts(guarded: LiveServer) -> None:
    credentials = f"{guarded.url}/__paymock/credentials"
    refused = requests.get(credentials, timeout=30)
    assert refused.status_code == 401 and "X-Paymock-Admin-Token" in refused.json()["message"]
    assert requests.get(credentials, headers={"X-Paymock-Admin-Token": "wrong"}, timeout=30).status_code == 401
    assert requests.get(credentials, headers={"X-Paymock-Admin-Token": TOKEN}, timeout=30).ok
    assert requests.get(credentials, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).ok
    assert requests.get(f"{guarded.url}/__paymock/health", timeout=30).ok  # liveness needs no token
    allowed = requests.get(
        credentials, headers={"X-Paymock-Admin-Token": TOKEN, "Host": "paymock.internal:8081"}, timeout=30
    )
    assert allowed.ok and allowed.json()["notify"]["base_url"] == "http://paymock.internal:8081/notify"


def test_serving_beyond_loopback_requires_a_token(tmp_path: Path) -> None:
    args = ["serve", "notify", "--host", "0.0.0.0", "--data", ":memory:", "--payments", "5"]
    result = CliRunner().invoke(main, args, env={"PAYMOCK_ADMIN_TOKEN": ""})
    assert result.exit_code == 2 and "--admin-token" in result.output


def test_a_bad_faults_file_stops_serve_naming_the_file_and_field(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("rules:\n  - api: notify\n    effect: {fault: status, status: 404}\n")
    args = ["serve", "notify", "--data", ":memory:", "--payments", "5", "--faults", str(faults)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert f"{faults}: rules[0].effect.status: must be one of 429, 500, 502, 503, 504, got 404" in result.output
    faults.write_text("rules: [unclosed\n")
    assert "not valid YAML" in CliRunner().invoke(main, args).output
    result = CliRunner().invoke(main, ["serve", "--help"])
    for option in ("--faults", "--journal-capacity", "--admin-token", "--allow-host"):
        assert option in result.output


def test_rules_from_the_faults_file_and_a_bounded_journal(guarded: LiveServer) -> None:
    admin = {"X-Paymock-Admin-Token": TOKEN}
    (rule,) = requests.get(f"{guarded.url}/__paymock/faults", headers=admin, timeout=30).json()["rules"]
    assert rule["id"] == "from-file" and rule["matched"] == 0
    cred = requests.get(f"{guarded.url}/__paymock/credentials", headers=admin, timeout=30).json()["notify"]
    key = {cred["tenants"][0]["header"]: cred["tenants"][0]["value"]}
    first = requests.get(f"{cred['base_url']}/v2/payments", headers=key, timeout=30)
    assert first.status_code == 503 and first.headers["Retry-After"] == "3"
    assert first.json()["title"] == "Service Unavailable"
    for _ in range(4):
        assert requests.get(f"{cred['base_url']}/v2/payments", headers=key, timeout=30).status_code == 200
    journal = requests.get(f"{guarded.url}/__paymock/requests", headers=admin, timeout=30).json()
    assert journal["total"] == 3 and {e["status"] for e in journal["requests"]} == {200}
