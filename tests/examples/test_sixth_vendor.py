"""A sixth vendor API is a new YAML file, not new Python: load, seed and serve one."""

from __future__ import annotations

from pathlib import Path

from mock_server import Store, create_app, load_api, runtimes
from mock_server.seeding import SeedSettings, seed_api

HERE = Path(__file__).parent


def test_a_new_document_is_served_without_new_code() -> None:
    spec = load_api(HERE / "acmepay.yaml")
    store = Store(":memory:")
    seed_api(store, spec, SeedSettings(seed=5, as_of=1_793_491_200))
    app = create_app(runtimes([spec], store, seed=5, tenants={}))
    client = app.test_client()
    key = client.get("/__paymock/credentials").get_json()["acmepay"]["tenants"][0]["value"]

    first = client.get(
        "/acmepay/charges?per_page=25&state=settled&order=oldest", headers={"X-Acme-Key": key}
    ).get_json()
    assert first["page"] == 1 and len(first["data"]) == 25
    assert {c["state"] for c in first["data"]} == {"settled"}
    created = [c["created"] for c in first["data"]]
    assert created == sorted(created)
    assert {c["currency"] for c in first["data"]} <= {"GBP", "EUR"}
    assert "page=2" in first["next"]

    charge = first["data"][0]
    assert client.get(f"/acmepay/charges/{charge['id']}", headers={"X-Acme-Key": key}).get_json() == charge
    refused = client.get("/acmepay/charges?per_page=31", headers={"X-Acme-Key": key})
    assert refused.status_code == 400
    assert refused.get_json()["problem"] == "bad_request" and "per_page" in refused.get_json()["detail"]
    assert client.get("/acmepay/charges").get_json()["problem"] == "unauthorized"
