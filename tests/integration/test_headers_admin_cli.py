"""Documented headers, the admin routes, and the `paymock` command."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest
import requests
from live import PAYMOCK, LiveServer, start_server
from vendors import Session


def test_zuora_echoes_track_id_on_success_and_error(server: LiveServer) -> None:
    s = Session(server.url, "zuora")
    assert s.get("/v1/payments", headers={"Zuora-Track-Id": "trace-42"}).headers["Zuora-Track-Id"] == "trace-42"
    bad = s.get("/v1/payments", params={"pageSize": "999"}, headers={"Zuora-Track-Id": "trace-43"})
    assert bad.status == 400 and bad.headers["Zuora-Track-Id"] == "trace-43"
    assert "Zuora-Track-Id" not in s.get("/v1/payments").headers


def test_zuora_gzips_large_bodies_only_when_asked(server: LiveServer) -> None:
    s = Session(server.url, "zuora")
    url = f"{server.url}/zuora/v1/payments"
    raw = requests.get(url, headers={**s.headers, "Accept-Encoding": "gzip"}, stream=True, timeout=10)
    assert raw.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(raw.raw.read())
    assert len(body) > 1000 and body.startswith(b'{"payments":')
    plain = requests.get(url, headers={**s.headers, "Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in plain.headers and plain.json()["success"] is True
    small = requests.get(
        url,
        params={"pageSize": 1, "status": "Canceled", "amount": "0.01"},
        headers={**s.headers, "Accept-Encoding": "gzip"},
        timeout=10,
    )
    assert len(small.content) <= 1000 and "Content-Encoding" not in small.headers


def test_notify_answers_hal_json(server: LiveServer) -> None:
    s = Session(server.url, "notify")
    assert s.get("/v2/payments").headers["Content-Type"] == "application/hal+json"
    assert s.get("/v2/payments", params={"limit": "x"}).headers["Content-Type"].startswith("application/")


def test_admin_routes(server: LiveServer) -> None:
    index = requests.get(f"{server.url}/__paymock/", timeout=10).json()
    assert sorted(index["apis"]) == ["exsited", "flexportal", "notify", "zuora", "zutax"]
    assert "POST /__paymock/reset" in index["admin"]
    creds = requests.get(f"{server.url}/__paymock/credentials", timeout=10).json()
    for api, entry in creds.items():
        assert entry["base_url"] == f"{server.url}/{api}"
        assert len(entry["tenants"]) == 2
        assert entry["tenants"][0] != entry["tenants"][1]
    samples = requests.get(f"{server.url}/__paymock/samples", timeout=10).json()
    assert len(samples["flexportal"]["tenants"][0]["payments"]["ids"]) == 5
    assert requests.get(f"{server.url}/nowhere", timeout=10).status_code == 404


def test_routes_lists_every_operation() -> None:
    out = subprocess.run([PAYMOCK, "routes"], capture_output=True, text=True, check=True).stdout
    for line in (
        "POST   /zuora/oauth/token",
        "GET    /flexportal/v1/subscriptions",
        "POST   /flexportal/v1/payments/{paymentId}/cancel",
        "GET    /exsited/api/v3/invoices/{invoice_id}/payments",
    ):
        assert line in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "stripe"], "'stripe' is not one of"),
        (["serve", "--payments", "0"], "0 is not in the range"),
        (["serve", "zuora", "--root", "notify"], "not among the APIs"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = subprocess.run([PAYMOCK, *args], capture_output=True, text=True)
    assert result.returncode == 2 and message in result.stderr


def test_help_works_with_h() -> None:
    out = subprocess.run([PAYMOCK, "serve", "-h"], capture_output=True, text=True, check=True).stdout
    for option in ("--host", "--port", "--seed", "--data", "--payments", "--root"):
        assert option in out


def test_root_mode_serves_one_api_at_slash(tmp_path: Path) -> None:
    live = start_server(tmp_path / "root.sqlite3", "--root", "notify", workers=1)
    try:
        s = Session(live.url, "notify", prefix="")
        body = s.get("/v2/payments", params={"limit": 2}).json()
        assert body["count"] == 2
        assert body["links"]["next"]["href"].startswith(f"{live.url}/v2/payments?")
        assert requests.get(f"{live.url}/__paymock/credentials", timeout=10).json()["notify"]["base_url"] == live.url
    finally:
        live.stop()


def test_in_memory_store_serves(tmp_path: Path) -> None:
    live = start_server(tmp_path / "unused", "--data", ":memory:", workers=1, apis=("flexportal",))
    try:
        s = Session(live.url, "flexportal")
        (pid,) = [
            p["paymentId"] for p in s.get("/v1/payments", params={"status": "pending", "limit": 1}).json()["payments"]
        ]
        assert s.post(f"/v1/payments/{pid}/cancel").status == 200
        assert s.get(f"/v1/payments/{pid}").json()["payment"]["status"] == "cancelled"
    finally:
        live.stop()


def test_seed_then_serve_starts_without_seeding(tmp_path: Path) -> None:
    data = tmp_path / "pre.sqlite3"
    subprocess.run(
        [
            PAYMOCK,
            "seed",
            "zutax",
            "--data",
            str(data),
            "--payments",
            "150",
            "--as-of",
            "2026-11-01",
        ],
        check=True,
        capture_output=True,
    )
    live = start_server(data, workers=1, apis=("zutax",))
    try:
        assert "seeding" not in data.with_suffix(".log").read_text()
    finally:
        live.stop()


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    def first_page(seed: str, name: str) -> list[dict[str, object]]:
        live = start_server(tmp_path / name, "--seed", seed, workers=1, apis=("notify",))
        try:
            return list(Session(live.url, "notify").get("/v2/payments", params={"limit": 5}).json()["payments"])
        finally:
            live.stop()

    assert first_page("7", "a.sqlite3") == first_page("7", "b.sqlite3")
    assert first_page("7", "c.sqlite3") != first_page("8", "d.sqlite3")


def test_serve_and_seed_start_without_the_contract_kit_which_check_still_finds() -> None:
    import sys

    probe = (
        "import sys, mock_server.cli as cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('contracts', 'hypothesis', 'schemathesis'))); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug', 'gunicorn'))); "
        "print(cli.main.get_command(None, 'check').name); "
        "import mock_server; print(mock_server.create_app.__module__, 'flask' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.splitlines()
    # Seeding loads neither the contract kit nor the web stack; the package's names still resolve.
    assert out == ["[]", "[]", "check", "mock_server.app True"]
    listed = subprocess.run([PAYMOCK, "--help"], capture_output=True, text=True, check=True).stdout
    assert "check " in listed and "serve " in listed


def _make_installs(target: str, tmp_path: Path) -> list[list[str]]:
    """The pip installs ``make <target>`` would run on a machine without .venv (a dry run)."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        ["make", "-n", "-C", str(root), f"VENV={tmp_path / 'venv'}", target],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.split(" pip install ", 1)[1].split() for line in result.stdout.splitlines() if " pip install " in line]


def test_make_serve_installs_only_what_serving_needs(tmp_path: Path) -> None:
    serve = _make_installs("serve", tmp_path)
    assert serve == [["--quiet", "--upgrade", "pip"], ["--quiet", "-e", "."]]
    # make test builds the same .venv, then adds the test tools to it.
    assert _make_installs("test", tmp_path) == [*serve, ["--quiet", "-e", "'.[test]'"]]
