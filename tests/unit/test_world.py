"""The generated world is deterministic and coherent: the promises demos and tests rely on."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from mock_server.world import COUNTRIES, DAY, World, WorldConfig, tenant_facts

AS_OF = 1_793_491_200  # 2026-11-01T00:00:00Z
STATUSES = {
    "pending": (14.0, "scheduled"),
    "processing": (4.0, "in_flight"),
    "paid": (68.0, "settled"),
    "failed": (8.0, "failed"),
    "cancelled": (6.0, "voided"),
}
CONFIG = WorldConfig(api="unit", statuses=STATUSES)


def make(seed: int = 7, n: int = 3000) -> World:
    return World(CONFIG, seed, tenant_facts(seed, "unit", 1), n, AS_OF)


@pytest.fixture(scope="module")
def world() -> World:
    return make()


@pytest.fixture(scope="module")
def payments(world: World) -> list[dict]:
    return list(world.payments())


def test_same_seed_same_world() -> None:
    a, b = make(seed=3, n=200), make(seed=3, n=200)
    assert list(a.payments()) == list(b.payments())
    assert a.customers == b.customers


def test_other_seed_other_world() -> None:
    a, b = make(seed=3, n=200), make(seed=4, n=200)
    assert [p["hex"] for p in a.payments()] != [p["hex"] for p in b.payments()]


def test_payments_come_in_creation_order(payments: list[dict]) -> None:
    created = [p["created_at"] for p in payments]
    assert created == sorted(created)
    assert [p["seq"] for p in payments] == list(range(1, len(payments) + 1))
    assert max(created) <= AS_OF


def test_statuses_follow_their_weights(payments: list[dict]) -> None:
    counts = Counter(p["status"] for p in payments)
    total = sum(w for w, _ in STATUSES.values())
    for status, (weight, _) in STATUSES.items():
        share = counts[status] / len(payments)
        assert abs(share - weight / total) < 0.03, (status, share)


def test_timelines_hang_together(payments: list[dict]) -> None:
    for p in payments:
        if p["phase"] == "settled":
            assert p["paid_at"] is not None and p["paid_at"] >= p["created_at"]
        else:
            assert p["paid_at"] is None
        if p["phase"] == "scheduled":
            assert p["submitted_at"] is None
            assert p["due_date"] > AS_OF - 14 * DAY
        assert p["created_at"] - 2 * DAY <= p["due_date"] <= p["created_at"] + 30 * DAY
        assert p["updated_at"] >= p["created_at"]
        assert (p["failure_message"] is not None) == (p["phase"] == "failed")
        assert (p["cancelled_at"] is not None) == (p["phase"] == "voided")


def test_amounts_have_two_decimals_and_add_up(world: World, payments: list[dict]) -> None:
    for p in map(world.hydrate, payments):
        for key in ("amount", "subtotal", "tax", "applied_amount", "refund_amount"):
            assert Decimal(p[key]).as_tuple().exponent == -2
        assert Decimal(p["subtotal"]) + Decimal(p["tax"]) == Decimal(p["amount"])
        assert sum(Decimal(a["amount"]) for a in p["allocations"]) == Decimal(p["amount"])


def test_invoices_total_equals_applied_plus_outstanding(world: World, payments: list[dict]) -> None:
    applied: Counter[int] = Counter()
    for p in payments:
        applied[p["invoice"]] += round(Decimal(p["applied_amount"]) * 100)
        if p["phase"] != "settled":
            assert p["applied_amount"] == "0.00"
    for invoice in world.invoices:
        total = round(Decimal(invoice["total"]) * 100)
        outstanding = round(Decimal(invoice["outstanding"]) * 100)
        assert total == applied[invoice["seq"]] + outstanding, invoice


def test_one_customer_one_currency(world: World, payments: list[dict]) -> None:
    for p in payments:
        customer = world.customers[p["customer"] - 1]
        assert p["currency"] == customer["currency"] == COUNTRIES[customer["country"]][1]
        subscription = world.subscriptions[p["subscription"] - 1]
        assert subscription["customer"] == customer["seq"]
        assert world.invoices[p["invoice"] - 1]["customer"] == customer["seq"]


def test_identifiers_are_unique(payments: list[dict]) -> None:
    assert len({p["hex"] for p in payments}) == len(payments)
    assert len({p["uuid"] for p in payments}) == len(payments)


def test_payment_facts_pack_to_an_array_and_back(payments: list[dict]) -> None:
    from mock_server.world import PAYMENT_FACTS, pack_facts, pack_payment, unpack_facts

    # Every payment a world makes has the facts in one order: seeding packs them unchecked.
    assert all(tuple(p) == PAYMENT_FACTS for p in payments)
    for p in payments[:50]:
        packed = pack_facts(p)
        assert pack_payment(p) == packed
        assert packed.startswith(b"[")
        assert unpack_facts(packed) == p
    changed = {**payments[0], "comment": "added by a transition"}
    assert pack_facts(changed).startswith(b"{") and unpack_facts(pack_facts(changed)) == changed


def test_customer_names_made_in_another_process_are_the_same() -> None:
    from mock_server.world.draws import _alongside
    from mock_server.world.tenant import _customer_names

    countries = ["US", "DE", "GB", "FR", "KE"] * 40
    with _alongside(_customer_names, "1:unit:1", countries, parallel=True) as there:
        pass
    with _alongside(_customer_names, "1:unit:1", countries, parallel=False) as here:
        pass
    assert there() == here()
    assert len(set(here())) > 150  # names vary, not one repeated value


def test_invoices_are_paid_in_installments_that_hang_together(world: World, payments: list[dict]) -> None:
    by_invoice: dict[int, list[dict]] = {}
    for p in payments:
        by_invoice.setdefault(p["invoice"], []).append(p)
    assert sorted(by_invoice) == list(range(1, len(world.invoices) + 1))
    rank = {"settled": 0, "in_flight": 1, "failed": 1, "voided": 1, "scheduled": 2}
    sizes: Counter[int] = Counter()
    for number, members in by_invoice.items():
        invoice = world.invoices[number - 1]
        members.sort(key=lambda p: p["installment"])
        assert [p["installment"] for p in members] == list(range(1, len(members) + 1))
        assert invoice["parts"] == len(members)
        sizes[len(members)] += 1
        # One subscription, billed in even shares; settled installments come before attempts,
        # attempts before scheduled ones, and none is created before the first.
        assert len({p["subscription"] for p in members}) == 1
        assert len({p["subtotal"] for p in members}) == 1
        assert [rank[p["phase"]] for p in members] == sorted(rank[p["phase"]] for p in members)
        assert all(p["created_at"] >= members[0]["created_at"] for p in members[1:])
        # Issued on a day boundary up to two days before the earliest installment.
        earliest = min(p["created_at"] for p in members)
        assert invoice["issue_date"] % DAY == 0
        assert earliest - 3 * DAY < invoice["issue_date"] <= earliest
    shares = {k: sizes[k] / sum(sizes.values()) for k in (1, 2, 3)}
    assert abs(shares[1] - 0.7) < 0.04 and abs(shares[2] - 0.2) < 0.04 and abs(shares[3] - 0.1) < 0.04, shares


def test_references_resolved_when_hydrating_are_those_resolved_on_reading(world: World, payments: list[dict]) -> None:
    from mock_server.world import Hydrator

    lazy = Hydrator(world.customers, world.subscriptions, world.invoices, world.users)
    references = ["customer", "subscription", "invoice", "billing_group", "created_by", "updated_by"]
    references += ["invoices", "allocations", "line_items"]
    for p in payments[:500]:
        now, later = world.hydrate(p), lazy(p)
        assert "customer" in now and "customer" not in later  # resolved already, or only when read
        assert {k: now[k] for k in [*p, *references]} == {k: later[k] for k in [*p, *references]}
    # A reference that cannot be looked up is left to fail when it is read, as before.
    broken = world.hydrate({**payments[0], "customer": len(world.customers) + 5})
    assert broken["created_by"] == world.users[payments[0]["created_by"] - 1]
    with pytest.raises(IndexError):
        broken["customer"]
