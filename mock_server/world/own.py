"""Facts of the user's own (fixtures), placed into a tenant's generated world.

:mod:`mock_server.fixtures` reads and checks a fixture file into the plain values here; a
:class:`~mock_server.world.tenant.World` given them appends the customers and subscriptions
after its own, adds the invoices after the generated ones, and merges the payments into the
skeleton by creation time, so that pass two makes their facts exactly as it makes every
other payment's (method, processor, references, people, moments that follow one another),
with what the fixture says in place of what would have been drawn.

Everything here is already checked: amounts are in minor units and positive, statuses are the
document's own, every reference resolves, dates are in order and before the world's as-of.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mock_server.errors import SpecError, reject_unknown_keys
from mock_server.world.config import DAY
from mock_server.world.draws import _money, _uniforms, _uuid_from_hex
from mock_server.world.facts import Facts

#: A fixture's vendor-neutral status words, and the lifecycle phase each stands for. A document
#: maps the words it serves onto its own statuses (``fixtures.statuses`` of its payments).
NEUTRAL_STATUSES: Mapping[str, str] = {
    "scheduled": "scheduled",
    "processing": "in_flight",
    "collected": "settled",
    "failed": "failed",
    "cancelled": "voided",
}


def load_fixture_statuses(block: Any, statuses: Mapping[str, tuple[float, str]], where: str) -> dict[str, str]:
    """A collection's ``fixtures`` block: ``{statuses: {neutral word: vendor status}}``, validated.

    Each word maps to a declared status of the word's phase; a vendor status spelled like a
    neutral word must be that word's own mapping (one word, one meaning in a fixture file).

    Raises:
        SpecError: Naming the key that is wrong and what it allows.
    """
    if block is None:
        return {}
    if not isinstance(block, Mapping):
        raise SpecError(where, f"must be a mapping, got {block!r}")
    reject_unknown_keys(block, {"statuses"}, where)
    mapped = block.get("statuses", {})
    if not isinstance(mapped, Mapping):
        raise SpecError(f"{where}.statuses", f"must be a mapping of neutral word to status, got {mapped!r}")
    result: dict[str, str] = {}
    for word, status in mapped.items():
        swhere = f"{where}.statuses.{word}"
        phase = NEUTRAL_STATUSES.get(str(word))
        if phase is None:
            raise SpecError(swhere, f"unknown word {word!r}; available: {', '.join(NEUTRAL_STATUSES)}")
        if status not in statuses:
            raise SpecError(swhere, f"unknown status {status!r}; declared: {', '.join(statuses)}")
        if statuses[status][1] != phase:
            raise SpecError(swhere, f"{word!r} means phase {phase!r}, but {status!r} is {statuses[status][1]!r}")
        result[str(word)] = str(status)
    for status in statuses:
        if status in NEUTRAL_STATUSES and result.get(status, status) != status:
            raise SpecError(f"{where}.statuses", f"status {status!r} is also a neutral word: map {status!r} to it")
    return result


@dataclass(frozen=True, slots=True)
class OwnCustomer:
    """A customer of the fixture: ``key`` is the fixture's name for it."""

    key: str
    name: str
    email: str
    country: str
    currency: str
    tax_rate: int


@dataclass(frozen=True, slots=True)
class OwnSubscription:
    """A subscription of the fixture; ``amount`` is the gross of one instalment, in minor units."""

    key: str
    customer: int
    plan: str
    amount: int
    interval: str
    status: str
    started_at: int


@dataclass(frozen=True, slots=True)
class OwnPayment:
    """A payment of the fixture (indexes are into the tenant's own lists; times in epoch seconds).

    ``due_date``, ``paid_at`` and ``method`` are ``None`` where pass two is to draw them as it
    would; ``hex`` and ``uuid`` are set when the fixture gave the payment's ID.
    """

    subscription: int
    invoice: int
    status: str
    amount: int
    created_at: int
    due_date: int | None = None
    paid_at: int | None = None
    hex: str | None = None
    uuid: str | None = None
    method: str | None = None


@dataclass(frozen=True, slots=True)
class OwnInvoice:
    """An invoice of the fixture: its subscription and issue day (midnight; -1 until the checks set it)."""

    subscription: int
    issued: int


@dataclass(frozen=True, slots=True)
class OwnFacts:
    """One tenant's fixture, checked: what :class:`World` places into its world.

    Attributes:
        company: The tenant's company name (``None``: the generated one).
        customers, subscriptions, invoices, payments: The fixture's records, in the file's
            order; references between them are indexes into these lists.
    """

    company: str | None = None
    customers: tuple[OwnCustomer, ...] = ()
    subscriptions: tuple[OwnSubscription, ...] = ()
    invoices: tuple[OwnInvoice, ...] = ()
    payments: tuple[OwnPayment, ...] = ()

    def installments(self) -> list[tuple[int, int]]:
        """Each payment's (instalment number, instalments of its invoice), numbered by creation time."""
        members: dict[int, list[int]] = {}
        for i, p in enumerate(self.payments):
            members.setdefault(p.invoice, []).append(i)
        numbered = [(1, 1)] * len(self.payments)
        for listed in members.values():
            listed.sort(key=lambda i: (self.payments[i].created_at, i))
            for rank, i in enumerate(listed, 1):
                numbered[i] = (rank, len(listed))
        return numbered


def own_customers(own: OwnFacts, seed_key: str, first_seq: int) -> list[Facts]:
    """The fixture's customers as world facts, numbered from ``first_seq``.

    A customer exists a few days before the first thing the fixture says of it (a subscription
    starting, a payment made); its identifiers are drawn from the seed and its key.
    """
    earliest: dict[int, int] = {}
    for s in own.subscriptions:
        earliest[s.customer] = min(earliest.get(s.customer, s.started_at), s.started_at)
    for p in own.payments:
        payer = own.subscriptions[p.subscription].customer
        earliest[payer] = min(earliest.get(payer, p.created_at), p.created_at)
    customers = []
    for i, c in enumerate(own.customers):
        rng = random.Random(f"{seed_key}:own-customer:{c.key}")
        h = f"{rng.getrandbits(128):032x}"
        seq = first_seq + i
        customers.append(
            {
                "seq": seq,
                "hex": h,
                "uuid": _uuid_from_hex(h),
                "number": str(10000 + seq),
                "name": c.name,
                "email": c.email,
                "country": c.country,
                "currency": c.currency,
                "tax_rate": c.tax_rate,
                "billing_group": None,
                "created_at": earliest.get(i, 0) - DAY - rng.randrange(DAY),
            }
        )
    return customers


def own_subscriptions(own: OwnFacts, seed_key: str, customers: list[Facts], first_seq: int) -> list[Facts]:
    """The fixture's subscriptions as world facts, numbered from ``first_seq``; ``customers`` are the own ones."""
    subscriptions = []
    for i, s in enumerate(own.subscriptions):
        rng = random.Random(f"{seed_key}:own-subscription:{s.key}")
        h = f"{rng.getrandbits(128):032x}"
        customer = customers[s.customer]
        seq = first_seq + i
        subscriptions.append(
            {
                "seq": seq,
                "hex": h,
                "uuid": _uuid_from_hex(h),
                "number": f"SUB-{seq:06d}",
                "customer": customer["seq"],
                "plan": s.plan,
                "net_cents": net_of(s.amount, customer["tax_rate"]),
                "amount": _money(s.amount),
                "currency": customer["currency"],
                "interval": s.interval,
                "status": s.status,
                "started_at": s.started_at,
                "created_at": max(s.started_at - DAY - rng.randrange(DAY), customer["created_at"]),
            }
        )
    return subscriptions


def net_of(gross: int, tax_rate: int) -> int:
    """The net part of a gross amount in minor units, at ``tax_rate`` percent (what the tax was added to)."""
    return (gross * 100 + (100 + tax_rate) // 2) // (100 + tax_rate)


Moments = npt.NDArray[np.int64]


def own_moments(
    as_of: int,
    own: Moments,
    fixed_due: Moments,
    fixed_paid: Moments,
    created: Moments,
    due: Moments,
    submitted: Moments,
    paid: Moments,
    cancelled: Moments,
    gateway: npt.NDArray[np.bool_],
) -> tuple[Moments, Moments, Moments, Moments]:
    """A chunk's due, submission, payment and cancellation moments, with a fixture's in place.

    ``own`` is each payment's index among the fixture's (-1: generated), ``fixed_due`` and
    ``fixed_paid`` the moments the fixture gave (-1: drawn). A given due date moves what follows
    it by as much as it moved; a given payment moment stands, and the submission comes before
    it. Nothing lands after as-of (the fixture's dates were checked to leave room for it).
    """
    mine = own >= 0
    if not mine.any():
        return due, submitted, paid, cancelled
    new_due = np.where(fixed_due >= 0, fixed_due, due)
    new_submitted = np.maximum(new_due + (submitted - due), created + 60)
    drawn_paid = np.where(
        gateway,
        new_submitted + np.minimum(paid - submitted, as_of - 60 - new_submitted),
        np.clip(new_due + (paid - due), created + 60, as_of - 60),
    )
    new_paid = np.where(fixed_paid >= 0, fixed_paid, drawn_paid)
    new_submitted = np.where(fixed_paid >= 0, np.minimum(new_submitted, fixed_paid - 60), new_submitted)
    new_cancelled = np.minimum(cancelled, as_of - 60)
    return (
        np.where(mine, new_due, due),
        np.where(mine, new_submitted, submitted),
        np.where(mine, new_paid, paid),
        np.where(mine, new_cancelled, cancelled),
    )


def own_ids(facts: OwnFacts, own: Moments, payments: list[Facts]) -> None:
    """Give a chunk's fixture payments (``own``: index among the fixture's, -1: generated) the IDs it gave them."""
    for i in np.flatnonzero(own >= 0).tolist():
        given = facts.payments[int(own[i])]
        if given.hex is not None:
            payments[i]["hex"] = given.hex
        if given.uuid is not None:
            payments[i]["uuid"] = given.uuid


def own_draws(
    rng: random.Random, own_rng: random.Random, mine: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], str]:
    """A chunk's uniforms (16 per payment) and 32 hex digits per payment, a fixture's payments (``mine``) apart.

    The generated payments take from ``rng`` exactly what they take in a world without the
    fixture, in the same order; the fixture's from ``own_rng``.
    """
    m, mg = len(mine), int((~mine).sum())
    u = np.empty((16, m), dtype=np.float64)
    u[:, ~mine] = _uniforms(rng, 16 * mg).reshape(16, mg)
    generated = rng.getrandbits(128 * mg).to_bytes(16 * mg, "little").hex() if mg else ""
    u[:, mine] = _uniforms(own_rng, 16 * (m - mg)).reshape(16, m - mg)
    own = own_rng.getrandbits(128 * (m - mg)).to_bytes(16 * (m - mg), "little").hex() if m > mg else ""
    parts, g, o = [], 0, 0
    for is_own in mine.tolist():
        if is_own:
            parts.append(own[32 * o : 32 * o + 32])
            o += 1
        else:
            parts.append(generated[32 * g : 32 * g + 32])
            g += 1
    return u, "".join(parts)
