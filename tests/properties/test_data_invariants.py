"""Every generated record of every API hangs together, so that a reconciliation report balances.

Each API's records are walked in full at the document's default size (every tenant) and at five
times that size (one tenant), rendered in-process exactly as seeding renders them, and once more
as served (every list walked to its end, every ZuTax ledger read, over the in-process app) at
the test suite's size. The invariants:

* money adds up in minor units (an invoice's total is what was applied to it plus what is still
  outstanding; a payment's parts add up to its amount), and no balance is negative;
* lifecycle times are in order and agree with the status (a paid date only when paid, a
  submission only through a gateway, nothing after as-of, no pile-up at midnight);
* one currency per customer; processor, reference format and channel agree;
* each tenant has its own people (no user shared between tenants).

Each check returns the problems it found (empty when the data holds), so a failure lists the
records that break a rule rather than stopping at the first.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from live import PAYMENTS
from vendors import Session, walk

from mock_server.fixtures import Fixtures, load_fixtures
from mock_server.seeding import SeedSettings
from mock_server.spec import ApiSpec
from mock_server.world import World, tenant_facts
from mock_server.world.methods import PROCESSOR_CURRENCIES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "demo.yaml"
AS_OF = 1_793_491_200  # 2026-11-01T00:00:00Z, the suite's as-of
SEED = 1  # the CLI's default seed
Record = dict[str, Any]


@dataclass
class Tenant:
    """One tenant's records of one API."""

    facts: dict[str, Any]
    payments: list[Record]
    subscriptions: list[Record] = field(default_factory=list)


def render(api: ApiSpec, payments: int | None, tenants: int | None, fixtures: Fixtures | None = None) -> list[Tenant]:
    """Every record of ``api``'s world, rendered as seeding renders it (``None``: the document's size)."""
    settings = SeedSettings(seed=SEED, as_of=AS_OF, payments=payments, tenants=tenants, fixtures=fixtures)
    collection = api.collections[api.payments_collection or ""]
    others = [c for c in api.collections.values() if c.entity == "subscription"]
    walked = []
    for t in range(1, settings.tenant_count(api) + 1):
        facts = tenant_facts(SEED, api.name, t)
        own = fixtures.own(api.name, t) if fixtures is not None else None
        world = World(api.world, SEED, facts, settings.size(api), AS_OF, own)
        hydrate = world.hydrator
        records = [collection.render_row({"payment": hydrate(p), "tenant": facts})[0] for p in world.payments()]
        subs = [
            c.render_row({"subscription": world.hydrate_subscription(s), "tenant": facts})[0]
            for c in others
            for s in world.subscriptions
        ]
        walked.append(Tenant(facts, records, subs))
    return walked


def cents(value: Any) -> int:
    """An amount (a decimal string or a JSON number) in minor units; more than two decimals is an error."""
    exact = Decimal(str(value)).scaleb(2)
    assert exact == exact.to_integral_value(), f"{value!r} has more than two decimals"
    return int(exact)


def instant(text: str) -> int:
    """Epoch seconds of an ISO 8601 ``...Z`` or ``YYYY-MM-DD HH:MM:SS`` (UTC) time."""
    text = text.replace(" ", "T").removesuffix("Z")
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def day(text: str, layout: str = "%Y-%m-%d") -> int:
    """Epoch seconds of midnight of a date written in ``layout``."""
    return int(datetime.strptime(text[:10], layout).replace(tzinfo=UTC).timestamp())


class Problems(list[str]):
    """Problems found, each naming the record; ``check`` adds one when a condition fails."""

    def check(self, ok: bool, record: Record | str, what: str) -> None:
        if not ok:
            name = record if isinstance(record, str) else record.get("paymentId", record.get("id"))
            self.append(f"{name}: {what}")


def own_people(tenants: list[Tenant], people: Callable[[Record], Iterable[Any]]) -> Problems:
    """No person (user ID or name) appears in two tenants' records."""
    problems = Problems()
    seen: dict[Any, int] = {}
    for index, tenant in enumerate(tenants):
        for person in {p for r in tenant.payments for p in people(r) if p is not None}:
            problems.check(seen.setdefault(person, index) == index, str(person), "appears in two tenants")
    return problems


def one_currency(
    records: Iterable[Record], key: Callable[[Record], Any], currency: Callable[[Record], str], what: str = "currency"
) -> Problems:
    """Every record with the same ``key`` (a customer, an invoice) has the same currency (or other ``what``)."""
    problems = Problems()
    seen: dict[Any, str] = {}
    for r in records:
        problems.check(seen.setdefault(key(r), currency(r)) == currency(r), r, f"a second {what} for {key(r)}")
    return problems


def not_piled_up(name: str, times: list[int], at_midnight: float = 0.02) -> Problems:
    """Times are spread over the clock: few at exactly midnight, none shared by many, none after as-of."""
    problems = Problems()
    if not times:
        return problems
    midnight = sum(1 for t in times if t % 86_400 == 0) / len(times)
    problems.check(midnight <= at_midnight, name, f"{midnight:.1%} at exactly midnight")
    most, count = Counter(times).most_common(1)[0]
    problems.check(count <= 3, name, f"{count} records share the instant {most}")
    problems.check(max(times) <= AS_OF, name, "a time after as-of")
    return problems


def sometimes(problems: Problems, name: str, count: int, records: int) -> None:
    """A case that client code must meet: present in a world of a few thousand records."""
    if records >= 1000:
        problems.check(count > 0, name, "never happens")


# -- notify -------------------------------------------------------------------------------------


def check_notify(tenants: list[Tenant]) -> Problems:
    problems = Problems()
    for tenant in tenants:
        invoices: dict[str, list[Record]] = defaultdict(list)
        for r in tenant.payments:
            invoices[r["invoice"]["id"]].append(r)
            problems.check(cents(r["amount"]) > 0, r, "amount is not positive")
            problems.check(day(r["date"], "%d-%m-%Y") <= AS_OF, r, "paid after as-of")
        for invoice_id, listed in invoices.items():
            shown = {
                (r["invoice"]["number"], r["invoice"]["invoiceTotal"], r["invoice"]["invoiceBalance"]) for r in listed
            }
            problems.check(len(shown) == 1, invoice_id, f"payments show the invoice differently: {shown}")
            total, balance = cents(listed[0]["invoice"]["invoiceTotal"]), cents(listed[0]["invoice"]["invoiceBalance"])
            paid = sum(cents(r["amount"]) for r in listed)
            problems.check(balance >= 0, invoice_id, f"negative balance {balance}")
            problems.check(balance == total - paid, invoice_id, f"balance {balance} != total {total} - paid {paid}")
        problems += one_currency(
            tenant.payments, lambda r: r["customer"]["id"], lambda r: r["customer"]["name"], "name"
        )
    return problems


# -- exsited ------------------------------------------------------------------------------------

EXSITED_ROUTES = {  # processor -> (method, reference pattern)
    "Stripe": ("Credit Card", r"(ch|pi)_[0-9a-f]{24}"),
    "GoCardless": ("Direct Debit", r"PM[0-9A-F]{12}"),
    "Bank Deposit": ("Bank Transfer", r"TRF-[0-9A-F]{10}"),
    "Cash": ("Cash", r"RCPT-[0-9A-F]{8}"),
    "PayPal": ("PayPal", r"[0-9A-F]{17}"),
}


def check_exsited(tenants: list[Tenant]) -> Problems:
    problems = Problems()
    for tenant in tenants:
        invoices: dict[str, list[tuple[Record, Record]]] = defaultdict(list)
        split = credited = attributed = 0
        for r in tenant.payments:
            active = r["status"] == "ACTIVE"
            problems.check(r["status"] in ("ACTIVE", "PENDING", "FAILED", "CANCELLED"), r, f"status {r['status']}")
            problems.check((r["reconcile_status"] == "RECONCILED") == active, r, "reconciled but not ACTIVE, or not")
            tendered = sum(cents(a["amount"]) for a in r["payment_applied"])
            credits = sum(cents(c["amount"]) for c in r["credit_applied"])
            gifts = sum(cents(g["amount"]) for g in r["gift_certificate_applied"])
            on_invoices = sum(cents(i["applied"]) for i in r["invoices"])
            total = cents(r["total_applied"])
            problems.check(total == on_invoices, r, f"total_applied {total} != invoices applied {on_invoices}")
            if active:
                problems.check(
                    total == tendered + credits + gifts,
                    r,
                    f"total_applied {total} != payments {tendered} + credits {credits} + gifts {gifts}",
                )
            else:
                problems.check(total == 0 and credits == gifts == 0, r, "applied money though not ACTIVE")
            for a in r["payment_applied"]:
                problems.check(cents(a["amount"]) > 0, r, "a payment_applied amount is not positive")
                method, pattern = EXSITED_ROUTES.get(a["processor"], ("?", "?"))
                problems.check(a["method"] == method, r, f"{a['method']} through {a['processor']}")
                problems.check(
                    re.fullmatch(pattern, a["reference"]) is not None, r, f"{a['processor']} {a['reference']}"
                )
            for i in r["invoices"]:
                invoices[i["code"]].append((r, i))
                problems.check(cents(i["outstanding"]) >= 0, r, f"invoice outstanding {i['outstanding']}")
                problems.check(i["issue_date"] <= i["due_date"], r, "invoice due before it was issued")
            created, updated = instant(r["created_on"]), instant(r["last_updated_on"])
            problems.check(day(r["date"]) <= created, r, f"created_on {r['created_on']} before date {r['date']}")
            problems.check(created <= updated <= AS_OF, r, "created_on, last_updated_on and as-of out of order")
            unchanged = created == updated
            problems.check(not unchanged or r["created_by"] == r["last_updated_by"], r, "updated by another, unchanged")
            split += len(r["payment_applied"]) > 1
            credited += bool(r["credit_applied"] or r["gift_certificate_applied"])
            attributed += bool(r["custom_attributes"])
        for code, rows in invoices.items():
            shown = {(i["total"], i["outstanding"], i["issue_date"], i["due_date"]) for _, i in rows}
            problems.check(len(shown) == 1, code, f"payments show the invoice differently: {shown}")
            total, outstanding = cents(rows[0][1]["total"]), cents(rows[0][1]["outstanding"])
            applied = sum(cents(i["applied"]) for _, i in rows)
            problems.check(total == applied + outstanding, code, f"total {total} != applied {applied} + {outstanding}")
        n = len(tenant.payments)
        sometimes(problems, "two payment_applied entries", split, n)
        sometimes(problems, "a credit or gift certificate", credited, n)
        sometimes(problems, "custom attributes", attributed, n)
    problems += own_people(tenants, lambda r: (r["created_by"], r["last_updated_by"]))
    return problems


# -- zuora --------------------------------------------------------------------------------------

ZUORA_REFERENCE = re.compile(r"(ch|pi)_[0-9a-f]{24}|\d{16}|[0-9a-f]{8}|PM[0-9A-F]{12}")


def check_zuora(tenants: list[Tenant]) -> Problems:
    problems = Problems()
    for tenant in tenants:
        stories: Counter[str] = Counter()
        for r in tenant.payments:
            status, electronic = r["status"], r["type"] == "Electronic"
            amount, applied, unapplied = cents(r["amount"]), cents(r["appliedAmount"]), cents(r["unappliedAmount"])
            refund, credit = cents(r["refundAmount"]), cents(r["creditBalanceAmount"])
            problems.check(min(amount, applied, unapplied, refund, credit) >= 0, r, "a negative amount")
            if status in ("Processed", "Posted"):
                problems.check(
                    amount == applied + unapplied + refund + credit,
                    r,
                    f"amount {amount} != applied {applied} + unapplied {unapplied} + refund {refund} + credit {credit}",
                )
                stories.update(k for k, v in (("unapplied", unapplied), ("credit", credit), ("refund", refund)) if v)
            else:
                problems.check(applied == unapplied == refund == credit == 0, r, f"money moved while {status}")
            submitted = status in ("Processing", "Processed", "Posted", "Error") and electronic
            problems.check(electronic == (r["gatewayId"] is not None), r, "a gateway only for Electronic payments")
            problems.check((r["submittedOn"] is not None) == submitted, r, f"submittedOn on a {status} {r['type']}")
            problems.check((r["referenceId"] is not None) == submitted, r, "referenceId without a submission")
            if r["referenceId"] is not None:
                problems.check(ZUORA_REFERENCE.fullmatch(r["referenceId"]) is not None, r, r["referenceId"])
            state = "Submitted" if submitted else "NotSubmitted"
            problems.check(r["gatewayState"] == state, r, f"gatewayState {r['gatewayState']} on a {status} {r['type']}")
            failed = status == "Error"
            problems.check(not failed or electronic, r, "an External payment declined")
            problems.check((r["gatewayResponse"] is not None) == failed, r, "gatewayResponse unless Error")
            problems.check((r["gatewayResponseCode"] is not None) == failed, r, "gatewayResponseCode unless Error")
            problems.check((r["cancelledOn"] is not None) == (status == "Canceled"), r, "cancelledOn unless Canceled")
            created, updated = instant(r["createdDate"]), instant(r["updatedDate"])
            problems.check(created <= updated <= AS_OF, r, "createdDate, updatedDate and as-of out of order")
            for moment in (r["submittedOn"], r["cancelledOn"]):
                problems.check(moment is None or created <= instant(moment) <= updated, r, f"{moment} out of order")
            problems.check(day(r["effectiveDate"]) >= created - created % 86_400, r, "effective before created")
            if r["gatewayResponseCode"]:
                stories[f"code {r['gatewayResponseCode']}"] += 1
        problems += one_currency(tenant.payments, lambda r: r["accountId"], lambda r: r["currency"])
        n = len(tenant.payments)
        for story in ("unapplied", "credit", "refund"):
            sometimes(problems, f"a Processed payment with {story} > 0", stories[story], n)
        codes = sum(1 for k in stories if k.startswith("code "))
        problems.check(codes > 1 or n < 1000, "gatewayResponseCode", f"only {codes} distinct codes")
    problems += own_people(tenants, lambda r: (r["createdById"], r["updatedById"]))
    return problems


# -- flexportal ---------------------------------------------------------------------------------

INSTALLMENT = re.compile(r"installment (\d+) of (\d+)")


def check_flexportal(tenants: list[Tenant]) -> Problems:
    problems = Problems()
    for tenant in tenants:
        rentals = {s["rentalId"]: s for s in tenant.subscriptions}
        for r in tenant.payments:
            status = r["status"]
            total, subtotal = cents(r["total"]), cents(r["subtotal"])
            problems.check(cents(r["amount"]) == total >= subtotal > 0, r, "amount, total and subtotal disagree")
            lines = sum(cents(li["amount"]) for li in r["lineItems"])
            problems.check(lines == subtotal, r, f"line items {lines} != subtotal {subtotal}")
            for li in r["lineItems"]:
                problems.check(li["quantity"] * cents(li["unitAmount"]) == cents(li["amount"]), r, "a line item")
                shown = INSTALLMENT.search(li["description"])
                if r["paymentType"] == "deposit":
                    problems.check(shown is not None and shown[1] == "1", r, f"a deposit for {li['description']!r}")
                if r["paymentType"] in ("one_time", "late_fee"):
                    problems.check(shown is None, r, f"a {r['paymentType']} for {li['description']!r}")
            created = instant(r["createdAt"])
            problems.check((r["paidAt"] is not None) == (status == "paid"), r, f"paidAt on a {status} payment")
            if r["paidAt"] is not None:
                problems.check(created <= instant(r["paidAt"]) <= AS_OF, r, "paid before created or after as-of")
            problems.check((r["lastCaptureError"] is not None) == (status == "failed"), r, "lastCaptureError")
            problems.check(instant(r["dueDate"]) >= created - 86_400, r, "due before created")
            rental = rentals.get(r["rentalId"])
            problems.check(rental is not None, r, "rental not in the subscriptions list")
            if rental is not None:
                problems.check(rental["customerId"] == r["customerId"], r, "another customer's rental")
                problems.check(rental["currency"] == r["currency"], r, "not in the rental's currency")
                if status in ("pending", "processing"):
                    problems.check(rental["status"] == "active", r, f"{status} on a rental that is {rental['status']}")
            accepted = PROCESSOR_CURRENCIES.get(r["provider"])
            problems.check(accepted is None or r["currency"] in accepted, r, f"{r['provider']} in {r['currency']}")
        problems += one_currency(tenant.payments, lambda r: r["customerId"], lambda r: r["currency"])
        problems += not_piled_up("createdAt", [instant(r["createdAt"]) for r in tenant.payments])
        problems += not_piled_up("paidAt", [instant(r["paidAt"]) for r in tenant.payments if r["paidAt"]])
    return problems


# -- zutax --------------------------------------------------------------------------------------

ZUTAX_REFERENCES = {
    "flutterwave": r"FLW-[0-9A-F]{12}",
    "bank_transfer": r"TRF-[0-9A-F]{10}",
    "cash": r"RCPT-[0-9A-F]{8}",
    "manual": r"[0-9A-F]{17}",
}


def check_zutax(tenants: list[Tenant]) -> Problems:
    problems = Problems()
    for tenant in tenants:
        for r in tenant.payments:
            problems.check(r["created_at"] == r["updated_at"] == r["paid_at"], r, "an entry changed after recording")
            problems.check(instant(r["paid_at"]) <= AS_OF, r, "paid after as-of")
            problems.check(r["tenant_id"] == tenant.facts["uuid"], r, "another tenant's ID")
            problems.check(cents(r["amount"]) > 0, r, "amount is not positive")
            channel = r["payment_channel"]
            gateway = channel == "flutterwave"
            problems.check(gateway == (r["provider_tx_id"] is not None), r, f"provider_tx_id on a {channel} entry")
            problems.check(not gateway or r["provider_tx_id"].isdigit(), r, "a provider_tx_id not from Flutterwave")
            problems.check(gateway == (r["recorded_by"] is None), r, f"recorded_by on a {channel} entry")
            problems.check(gateway == (r["note"] is None), r, f"note on a {channel} entry")
            pattern = ZUTAX_REFERENCES[channel]
            problems.check(re.fullmatch(pattern, r["external_reference"] or "") is not None, r, "reference format")
            if gateway:
                problems.check(
                    r["currency"] in PROCESSOR_CURRENCIES["flutterwave"], r, f"{r['currency']} via Flutterwave"
                )
        problems += one_currency(tenant.payments, lambda r: r["invoice_id"], lambda r: r["currency"])
    problems += own_people(tenants, lambda r: (r["recorded_by"],))
    return problems


CHECKS: dict[str, Callable[[list[Tenant]], Problems]] = {
    "notify": check_notify,
    "exsited": check_exsited,
    "zuora": check_zuora,
    "flexportal": check_flexportal,
    "zutax": check_zutax,
}


def assert_holds(api: str, tenants: list[Tenant]) -> None:
    assert sum(len(t.payments) for t in tenants) > 0
    problems = CHECKS[api](tenants)
    assert not problems, f"{len(problems)} problems in {api}'s records, e.g.:\n" + "\n".join(problems[:15])


@pytest.mark.parametrize("api", sorted(CHECKS))
def test_every_record_at_the_default_size_hangs_together(api: str, specs: dict[str, ApiSpec]) -> None:
    assert_holds(api, render(specs[api], None, None))


@pytest.mark.parametrize("api", sorted(CHECKS))
def test_every_record_with_the_demo_fixture_hangs_together(api: str, specs: dict[str, ApiSpec]) -> None:
    # The user's own records, placed among the generated ones, keep every rule generated ones keep.
    demo = load_fixtures(FIXTURES, list(specs.values()), {}, AS_OF)
    assert demo.own(api, 1) is not None
    assert_holds(api, render(specs[api], None, None, demo))


@pytest.mark.parametrize("api", sorted(CHECKS))
def test_every_record_of_a_larger_world_hangs_together(api: str, specs: dict[str, ApiSpec]) -> None:
    spec = specs[api]
    larger = 5 * SeedSettings(seed=SEED, as_of=AS_OF).size(spec)
    assert_holds(api, render(spec, larger, 1))


@pytest.mark.parametrize("api", sorted(CHECKS))
def test_the_served_records_hang_together(api: str, app: Flask, specs: dict[str, ApiSpec]) -> None:
    # Given the in-process app over the suite's seeded store, when every tenant's list is walked
    # to its end (zutax: every invoice's ledger), then the records served obey the same
    # invariants as the rendered ones.
    client = app.test_client()
    tenants = []
    for t in range(specs[api].tenants):
        session = Session(client, api, t)
        facts = tenant_facts(SEED, api, t + 1)
        if api == "zutax":
            records = walk_ledgers(session, World(specs[api].world, SEED, facts, PAYMENTS, AS_OF))
        else:
            records = walk(session, api, {}, 40 if api == "zuora" else 100)
        subs = walk_subscriptions(session) if api == "flexportal" else []
        tenants.append(Tenant(facts, records, subs))
    assert_holds(api, tenants)


def walk_ledgers(session: Session, world: World) -> list[Record]:
    """Every ZuTax ledger entry of the session's tenant, invoice by invoice (the world names the invoices)."""
    entries: list[Record] = []
    for k in range(len(world.invoices)):
        answer = session.get(session.zutax_path(world.invoices[k]["uuid"]))
        assert answer.status == 200, answer.body
        entries += answer.json()
    assert len(entries) == PAYMENTS
    return entries


def walk_subscriptions(session: Session) -> list[Record]:
    """Every FlexPortal rental of the session's tenant."""
    items: list[Record] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        body = session.get("/v1/subscriptions", params=params).json()
        items += body["subscriptions"]
        if not body["hasMore"]:
            return items
        params["startAfter"] = body["nextCursor"]
