"""Fixtures over HTTP: your own records served exactly like generated ones, mistakes refused precisely.

The demo fixture (fixtures/demo.yaml) is loaded into every API on each store. Its payments are
found in the lists and detail pages, pass the document's schema, have the key sets and value
formats of a generated payment of the same status, are found by filters, sorted and counted.
Bad files are refused naming the file, the line or JSON path, the field and what is allowed,
with nothing loaded; a reset returns to the fixture baseline; the contract kit passes on a
mock serving fixtures.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import store_target
from documented import assert_documented
from live import AS_OF, PAYMENTS, PAYMOCK, start_server
from vendors import LISTS, Session, walk

from contracts.suite import CheckOptions, check_api
from mock_server import Sandbox
from mock_server.errors import SpecError
from mock_server.fixtures import FixtureError, Fixtures, load_fixtures, read_fixtures
from mock_server.spec import ApiSpec
from mock_server.world import World, tenant_facts
from mock_server.world.own import load_fixture_statuses

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo.yaml"
AS_OF_SECONDS = 1_793_491_200  # 2026-11-01T00:00:00Z
Record = dict[str, Any]


@pytest.fixture(scope="module")
def sandbox(store_kind: str, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """Every API seeded with the demo fixture, on each store in turn."""
    opened = Sandbox.open(store=store_target(store_kind, request), payments=PAYMENTS, as_of=AS_OF, fixtures=DEMO)
    yield opened.seed()
    opened.close()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Any]:
    """A test client of the fixture sandbox, reset afterwards."""
    app = sandbox.app()
    client = app.test_client()
    yield client
    client.post("/__paymock/reset")


def expected(spec: ApiSpec, fixtures: Fixtures) -> list[Record]:
    """The demo's payments of tenant 1 as the world renders them (the fixture's ones only)."""
    collection = spec.collections[spec.payments_collection or ""]
    world = World(spec.world, 1, tenant_facts(1, spec.name, 1), PAYMENTS, AS_OF_SECONDS, fixtures.own(spec.name, 1))
    own = world.customers[-len(fixtures.own(spec.name, 1).customers) :]  # type: ignore[union-attr]
    mine = {c["seq"] for c in own}
    return [
        collection.render_row({"payment": world.hydrate(p), "tenant": world.tenant})[0]
        for p in world.payments()
        if p["customer"] in mine
    ]


def shape(value: Any) -> Any:
    """What a value looks like, not what it is: keys, JSON types, and the layout of dates and IDs."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    if isinstance(value, str):
        if re.fullmatch(r"[\d\-:T.Z+ /]{8,}", value):  # a date or time: its layout
            return re.sub(r"\d", "9", value)
        if re.fullmatch(r"[A-Za-z]*[_-]?[0-9a-f]{8,}(-[0-9a-f]+)*|[A-Z]+-[A-Z0-9]+-\d+", value):  # an ID
            return re.sub(r"[0-9a-f]", "x", value) if value.islower() or "_" in value else re.sub(r"\d", "9", value)
        return "string"
    return type(value).__name__


def alike(mine: Any, theirs: Any, where: str = "") -> list[str]:
    """Where two shapes differ: keys everywhere; types and layouts where neither value is null."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        if set(mine) != set(theirs):
            return [f"{where}: keys {sorted(set(mine) ^ set(theirs))}"]
        return [d for k in mine for d in alike(mine[k], theirs[k], f"{where}.{k}")]
    if isinstance(mine, list) and isinstance(theirs, list):
        return alike(mine[0], theirs[0], f"{where}[0]") if mine and theirs else []
    if "NoneType" in (mine, theirs) or mine == theirs:
        return []
    return [f"{where}: {mine!r} vs {theirs!r}"]


@pytest.mark.parametrize("api", ["flexportal", "exsited", "notify", "zuora"])
def test_a_fixture_payment_is_served_like_a_generated_one(api: str, client: Any, sandbox: Sandbox) -> None:
    spec = next(s for s in sandbox.specs if s.name == api)
    assert sandbox.settings.fixtures is not None
    mine = expected(spec, sandbox.settings.fixtures)
    assert len(mine) == len(sandbox.settings.fixtures.own(api, 1).payments)  # type: ignore[union-attr]
    session = Session(client, api, 0)
    listed = walk(session, api, {}, 40 if api == "zuora" else 100)
    # Every fixture payment is in the list, once, exactly as rendered; the list counts them.
    assert len(listed) == PAYMENTS + len(mine)
    for record in mine:
        assert listed.count(record) == 1, record
    path, _ = LISTS[api]
    first = session.get(path, params={"limit": 100} if api != "zuora" else {"pageSize": 40})
    assert_documented(spec, path, "get", first)  # the page, fixture payments included, keeps the schema
    ids = {r[spec.collections[spec.payments_collection or ""].id_field] for r in mine}
    for record in mine:
        # A generated payment of the same status has the same keys and the same layouts.
        twins = [r for r in listed if r.get("status") == record.get("status") and r not in mine]
        assert twins, f"no generated {record.get('status')} payment to compare with"
        assert min((alike(shape(record), shape(t)) for t in twins), key=len) == [], record
    given = {"flexportal": "pay_adafa11ed0c70be4a1b2c3d4", "notify": "2f1c9a64-7d1e-4b8a-9c3e-5a6b7c8d9e0f"}
    given["zuora"] = "8a8aa1b2c3d4e5f60718293a4b5c6d7e"
    if api in given:
        assert given[api] in ids
    detail = {"flexportal": "/v1/payments/{}", "exsited": "/api/v3/payments/{}"}.get(api)
    if detail is not None:
        for record in mine:
            answer = session.get(detail.format(record[spec.collections["payments"].id_field]))
            body = assert_documented(
                spec, path + "/{" + ("paymentId" if api == "flexportal" else "payment_id") + "}", "get", answer
            )
            assert record in (body, *body.values()), body


def test_filters_sorts_and_counts_find_fixture_payments(client: Any) -> None:
    session = Session(client, "flexportal", 0)
    failed = session.get("/v1/payments", params={"status": "failed", "limit": 100}).json()
    ours = [p for p in failed["payments"] if p["paymentId"] == "pay_adafa11ed0c70be4a1b2c3d4"]
    assert len(ours) == 1 and ours[0]["status"] == "failed" and ours[0]["lastCaptureError"]
    # Ada's payments alone, newest first: the four the fixture gives her, counted.
    ada = session.get("/v1/payments", params={"customerId": ours[0]["customerId"], "limit": 100}).json()
    assert ada["count"] == 4
    assert [p["dueDate"][:10] for p in ada["payments"]] == ["2026-11-30", "2026-10-30", "2026-09-05", "2026-08-05"]
    assert [p["status"] for p in ada["payments"]] == ["pending", "failed", "paid", "paid"]
    assert ada["payments"][-1]["paidAt"] == "2026-08-05T09:12:00Z"
    assert ada["payments"][1]["provider"] in ("gocardless", "stripe")  # the direct debit's processors
    rentals = session.get("/v1/subscriptions", params={"customerId": ours[0]["customerId"]}).json()
    assert [r["plan"] for r in rentals["subscriptions"]] == ["Cargo bike rental"]
    zuora = Session(client, "zuora", 0)
    processed = walk(zuora, "zuora", {"status": "Processed"}, 40)
    ada = [p for p in processed if p["id"] == "8a8aa1b2c3d4e5f60718293a4b5c6d7e"]
    assert len(ada) == 1 and {p["status"] for p in processed} == {"Processed"}
    # Her declined payment is found by the status filter and her account's filter, and counted.
    declined = walk(zuora, "zuora", {"status": "Error", "accountId": ada[0]["accountId"]}, 40)
    assert [(p["status"], p["amount"], p["currency"]) for p in declined] == [("Error", 107.0, "GBP")]


def test_the_zutax_ledger_holds_the_fixture_payment(client: Any, sandbox: Sandbox) -> None:
    spec = next(s for s in sandbox.specs if s.name == "zutax")
    assert sandbox.settings.fixtures is not None
    own = sandbox.settings.fixtures.own("zutax", 1)
    world = World(spec.world, 1, tenant_facts(1, "zutax", 1), PAYMENTS, AS_OF_SECONDS, own)
    invoice = world.invoices[len(world.invoices) - 1]["uuid"]
    session = Session(client, "zutax", 0)
    entries = session.get(session.zutax_path(invoice)).json()
    assert [(e["amount"], e["currency"]) for e in entries] == [("160500.00", "NGN")] or [
        (str(e["amount"]), e["currency"]) for e in entries
    ] in ([("160500.0", "NGN")], [("160500", "NGN")])
    assert entries[0]["paid_at"].startswith("2026-10-12")


def test_a_reset_returns_to_the_fixture_baseline_and_snapshots_hold_fixture_payments(client: Any) -> None:
    session = Session(client, "flexportal", 0)
    ours = "/v1/payments/pay_adafa11ed0c70be4a1b2c3d4"
    before = session.get(ours).body
    moved = client.post("/__paymock/clock", json={"by": "10d", "api": "flexportal", "tenant": 1})
    assert moved.status_code == 200
    after = session.get(ours).json()["payment"]
    assert after["status"] == "paid"  # the clock retried it (3 days after it failed) and it was collected
    saved = client.post("/__paymock/snapshots", json={"name": "collected"})
    assert saved.status_code == 201 and saved.get_json()["records"] > 0
    assert client.post("/__paymock/reset").status_code == 200
    assert session.get(ours).body == before
    assert client.post("/__paymock/snapshots/collected/restore").status_code == 200
    assert session.get(ours).json()["payment"] == after
    assert client.delete("/__paymock/snapshots/collected").status_code == 200


# -- mistakes ------------------------------------------------------------------------------------

TENANT = "flexportal:\n  1:\n    customers:\n      ada: {name: Ada, country: GB}\n"
SUB = "    subscriptions:\n      bike: {customer: ada, amount: 10.00}\n"


def pay(**fields: str) -> str:
    """A fixture with one payment of Ada's bike subscription, ``fields`` overriding its defaults."""
    values = {"subscription": "bike", "amount": "10.00", "status": "collected", "due": "2026-10-05", **fields}
    return TENANT + SUB + "    payments:\n      - {" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}\n"


MISTAKES = [
    ("flexportal:\n  1:\n    customers: [unclosed\n", ["demo.yaml:4", "not valid YAML"]),
    (TENANT.replace("country: GB", "country: GB, nickname: A"), ["demo.yaml:4", "unknown field 'nickname'", "email"]),
    (pay(amount="[1, 2]"), ["demo.yaml:8", "payments[0].amount", "must be an amount like 107.00", "a list"]),
    ("flexprotal:\n  1: {}\n", ["demo.yaml:1", "unknown API 'flexprotal'", "flexportal, notify, zuora"]),
    ("flexportal:\n  3: {}\n", ["demo.yaml:2", "unknown tenant 3 of flexportal", "available: 1, 2"]),
    (TENANT.replace("country: GB", "currency: XYZ"), ["demo.yaml:4", "currency", "unknown currency 'XYZ'", "GBP"]),
    (pay(due="2026-13-40"), ["demo.yaml:8", "payments[0].due", "bad date '2026-13-40'", "ISO 8601"]),
    (
        pay(id="pay_0123456789abcdef01234567") + "      - {subscription: bike, amount: 1, status: failed,"
        " due: 2026-10-06, id: pay_0123456789abcdef01234567}\n",
        ["payments[1].id", "duplicate id"],
    ),
    (pay(id="PAY-1"), ["payments[0].id", "'PAY-1' is not a flexportal payment ID", "pay_<24 hexadecimal digits>"]),
    (
        TENANT + SUB + "    invoices:\n      inv: {subscription: bike, total: 30.00}\n    payments:\n"
        "      - {invoice: inv, amount: 10.00, status: collected, due: 2026-10-05}\n"
        "      - {invoice: inv, amount: 10.00, status: failed, due: 2026-10-06}\n",
        ["demo.yaml:8", "invoices.inv.total", "total 30.00 does not add up", "come to 20.00"],
    ),
    (pay(status="paid-ish"), ["payments[0].status", "unknown status 'paid-ish'", "collected", "pending"]),
    (pay(currency="EUR"), ["payments[0].currency", "'EUR' is not the currency of customer 'ada'", "GBP"]),
    (pay(status="failed", paid="2026-10-06"), ["payments[0].paid", "only a collected payment"]),
    (pay(due="2026-11-05"), ["payments[0].due", "a day before the world's as-of date (2026-11-01)"]),
    (pay(subscription="car"), ["payments[0].subscription", "no subscription 'car'", "defined: bike"]),
    (pay(amount="10.005"), ["payments[0].amount", "more than two decimals"]),
    (pay(status="failed", method="cash"), ["payments[0].method", "unknown method 'cash'", "card, direct_debit"]),
    (pay(id="PMT-ABC-0001").replace("flexportal", "exsited"), ["payments[0].id", "follow the payment's place"]),
]


@pytest.mark.parametrize(("text", "fragments"), MISTAKES, ids=[f"mistake{i}" for i in range(len(MISTAKES))])
def test_a_mistake_is_named_precisely(text: str, fragments: list[str], specs: dict[str, ApiSpec]) -> None:
    with pytest.raises(FixtureError) as refused:
        read_fixtures(text, "demo.yaml", False, list(specs.values()), {}, AS_OF_SECONDS)
    message = str(refused.value)
    for fragment in fragments:
        assert fragment in message, message


def test_a_json_mistake_is_named_by_its_path(specs: dict[str, ApiSpec]) -> None:
    text = '{"zuora": {"1": {"customers": {"ada": {"name": "Ada", "country": "GB"}}, "payments": [{"customer": "ada",'
    text += ' "amount": 5, "status": "Processed", "created": "yesterday"}]}}}'
    with pytest.raises(FixtureError) as refused:
        read_fixtures(text, "f.json", True, list(specs.values()), {}, AS_OF_SECONDS)
    assert str(refused.value).startswith("f.json: $.zuora.1.payments[0].created: bad date 'yesterday'")


def test_the_fixture_file_is_only_read(tmp_path: Path, specs: dict[str, ApiSpec]) -> None:
    copy = tmp_path / "mine.yaml"
    copy.write_bytes(DEMO.read_bytes())
    before = copy.stat().st_mtime_ns
    loaded = load_fixtures(copy, list(specs.values()), {}, AS_OF_SECONDS)
    assert loaded.apis == ["exsited", "flexportal", "notify", "zuora", "zutax"]
    assert copy.read_bytes() == DEMO.read_bytes() and copy.stat().st_mtime_ns == before


def test_the_admin_endpoint_loads_fixtures_and_refuses_mistakes_whole(
    store_kind: str, request: pytest.FixtureRequest
) -> None:
    opened = Sandbox.open(["notify"], store=store_target(store_kind, request), payments=PAYMENTS, as_of=AS_OF)
    client = opened.seed().app().test_client()
    session = Session(client, "notify", 1)
    pages = walk(session, "notify", {}, 100)
    # A file with one good tenant and one mistake: refused whole, nothing loaded.
    body = {
        "notify": {
            "2": {
                "customers": {"bo": {"name": "Bo", "currency": "EUR"}},
                "payments": [{"customer": "bo", "amount": "12.50", "status": "collected", "paid": "2026-10-10"}],
            },
            "1": {"payments": [{"customer": "nobody", "amount": 1, "status": "collected", "paid": "2026-10-10"}]},
        }
    }
    refused = client.post("/__paymock/fixtures", json=body)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_fixtures"
    assert refused.get_json()["where"] == "request body: $.notify.1.payments[0].customer"
    assert "no customer 'nobody'" in refused.get_json()["message"]
    assert walk(session, "notify", {}, 100) == pages
    # The good part alone loads: the payment joins tenant 2's ledger, and stays through a reset.
    del body["notify"]["1"]
    loaded = client.post("/__paymock/fixtures", json=body)
    assert loaded.status_code == 200, loaded.get_data()
    assert loaded.get_json() == {
        "loaded": {"notify/2": {"customers": 1, "subscriptions": 1, "invoices": 1, "payments": 1}},
        "seeded": ["notify"],
    }
    listed = walk(session, "notify", {}, 100)
    assert len(listed) == PAYMENTS + 1 and next(p for p in listed if p not in pages)["amount"] in (12.5, "12.50")
    assert client.post("/__paymock/reset").status_code == 200
    assert walk(session, "notify", {}, 100) == listed
    assert walk(Session(client, "notify", 0), "notify", {}, 100) != listed  # tenant 1 is another world
    # YAML too; an unknown media type is refused; an empty file takes fixtures away.
    assert client.post("/__paymock/fixtures", data="notify: {}\n", content_type="text/plain").status_code == 415
    assert client.post("/__paymock/fixtures", data="{}\n", content_type="application/yaml").status_code == 200
    assert walk(session, "notify", {}, 100) == pages
    opened.close()


def test_paymock_seed_refuses_a_bad_fixture_file_naming_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(pay(status="paid-ish"))
    data = tmp_path / "seeded.sqlite3"
    args = ["seed", "flexportal", "--data", str(data), "--payments", "20", "--as-of", AS_OF, "--fixtures", str(bad)]
    result = subprocess.run([PAYMOCK, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"{bad}:8: flexportal.1.payments[0].status: unknown status 'paid-ish'" in result.stderr
    assert bad.read_text() == pay(status="paid-ish")


def test_the_contract_kit_passes_on_a_mock_serving_fixtures(tmp_path: Path) -> None:
    live = start_server(tmp_path / "fixtures.sqlite3", "--fixtures", str(DEMO), apis=("flexportal",))
    try:
        listed = requests.get(
            f"{live.url}/flexportal/v1/payments/pay_adafa11ed0c70be4a1b2c3d4",
            headers={
                "Authorization": f"Bearer {live.credentials('flexportal')['value'].removeprefix('Bearer ')}",
                **live.credentials("flexportal").get("selectors", {}),
            },
            timeout=10,
        )
        assert listed.status_code == 200 and listed.json()["payment"]["status"] == "failed"
        report = check_api("flexportal", f"{live.url}/flexportal", CheckOptions(seed=20261101, max_examples=10))
        report.assert_ok()
    finally:
        live.stop()


def test_a_document_maps_neutral_words_to_statuses_of_their_phase() -> None:
    statuses = {"paid": (70.0, "settled"), "failed": (10.0, "failed"), "pending": (20.0, "scheduled")}
    assert load_fixture_statuses({"statuses": {"collected": "paid"}}, statuses, "x") == {"collected": "paid"}
    with pytest.raises(SpecError, match=r"x\.statuses\.collected: 'collected' means phase 'settled', but 'failed'"):
        load_fixture_statuses({"statuses": {"collected": "failed"}}, statuses, "x")
    with pytest.raises(SpecError, match=r"unknown word 'paid-ish'; available: scheduled, processing, collected"):
        load_fixture_statuses({"statuses": {"paid-ish": "paid"}}, statuses, "x")
    with pytest.raises(SpecError, match=r"unknown status 'Paid'; declared: paid, failed, pending"):
        load_fixture_statuses({"statuses": {"collected": "Paid"}}, statuses, "x")
