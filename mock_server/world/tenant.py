"""One tenant's world: its people, customers and subscriptions, and (from :mod:`.payments`) its payments."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from faker import Faker

from mock_server.world.config import (
    COUNTRIES,
    CURRENCY_SCALE,
    DAY,
    INTERVALS,
    PLANS,
    SUBSCRIPTION_STATUSES,
    WorldConfig,
)
from mock_server.world.draws import (
    _alongside,
    _between,
    _faker,
    _gross,
    _identity,
    _money,
    _Picker,
    _uuid_from_hex,
    stable_hex,
)
from mock_server.world.facts import Facts
from mock_server.world.hydration import Hydrator
from mock_server.world.own import OwnFacts, own_customers, own_subscriptions
from mock_server.world.payments import PaymentPasses


def _customer_names(seed_key: str, countries: list[str]) -> list[tuple[str, str]]:
    """Name and e-mail of each customer (a company or a person, in the customer's country's locale)."""
    rng = random.Random(f"{seed_key}:customer-names")
    fakes: dict[str, Faker] = {}
    names = []
    for country in countries:
        locale = COUNTRIES[country][0]
        fake = fakes.get(locale)
        if fake is None:
            fake = fakes[locale] = _faker(locale)
            fake.seed_instance(rng.getrandbits(32))
        if rng.random() < 0.7:
            name = fake.company()
            local = "billing"
        else:
            name = fake.name()
            local = name.split()[0].lower()
        domain = "".join(c for c in name.split()[0].lower() if c.isalnum()) or "mail"
        names.append((name, f"{local}@{domain}.example"))
    return names


def tenant_facts(seed: int, api: str, index: int) -> Facts:
    """Facts of tenant ``index`` (1-based): identifiers and a name, stable for a seed."""
    rng = random.Random(f"{seed}:{api}:tenant:{index}")
    fake = _faker("en_US", weighted=True)
    fake.seed_instance(rng.getrandbits(32))
    name = fake.company()
    slug = "-".join("".join(c for c in w if c.isalnum()) for w in name.lower().split())
    h, u = _identity(rng)
    wh, wu = _identity(rng)
    code = "".join("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[b % 36] for b in bytes.fromhex(h)[:6])
    return {
        "seq": index,
        "hex": h,
        "uuid": u,
        "code": code,
        "slug": f"{slug.strip('-')}-{index}",
        "name": name,
        "workspace_hex": wh,
        "workspace_uuid": wu,
        "secret": stable_hex(seed, api, "secret", index) + stable_hex(seed, api, "secret2", index),
    }


class World(PaymentPasses):
    """The generated entities of one tenant: users, customers, subscriptions, invoices, payments.

    Args:
        config: What the document declares: API name, statuses, countries, payment methods and
            processors, and the stories a settled payment's money may tell.
        seed: The dataset seed.
        tenant: Tenant facts (see :func:`tenant_facts`).
        payments: How many payments to generate.
        as_of: Epoch seconds the world is "now" for: nothing is created after it.
        own: The user's fixture for this tenant (:mod:`mock_server.fixtures`): its customers,
            subscriptions, invoices and payments join the generated ones, its payments merged
            by creation time (``payments`` counts only the generated ones).
    """

    def __init__(
        self, config: WorldConfig, seed: int, tenant: Facts, payments: int, as_of: int, own: OwnFacts | None = None
    ) -> None:
        self.config = config
        self.own = own
        self.tenant = tenant if own is None or own.company is None else {**tenant, "name": own.company}
        self.as_of = as_of
        self.size = payments
        self.seed_key = f"{seed}:{config.api}:{tenant['seq']}"
        self.users = self._make_users()
        self.customers = self._make_customers(max(8, math.ceil(payments / 18)))
        # Names come from Faker, the slowest part of the world: made by another process meanwhile.
        countries = [c["country"] for c in self.customers]
        with _alongside(_customer_names, self.seed_key, countries, parallel=len(countries) > 5000) as names:
            self.subscriptions = self._make_subscriptions()
            self._skeleton()
        for customer, (name, email) in zip(self.customers, names(), strict=True):
            customer["name"], customer["email"] = name, email
        if own is not None:
            first_subscription = len(self.subscriptions)
            customers = own_customers(own, self.seed_key, len(self.customers) + 1)
            self.customers.extend(customers)
            self.subscriptions.extend(own_subscriptions(own, self.seed_key, customers, first_subscription + 1))
            self._place(own, first_subscription)
        self.hydrator = Hydrator(self.customers, self.subscriptions, self.invoices, self.users, eager=True)

    # -- entities --------------------------------------------------------------------------

    def _make_users(self) -> list[Facts]:
        rng = self._rng("users")
        fake = _faker("en_US")
        fake.seed_instance(rng.getrandbits(32))
        users = []
        for i in range(1, 6):
            h, u = _identity(rng)
            first, last = fake.first_name(), fake.last_name()
            domain = _domain(self.tenant) + ".example"
            users.append(
                {
                    "seq": i,
                    "hex": h,
                    "uuid": u,
                    "name": f"{first} {last}",
                    "email": f"{first}.{last}@{domain}".lower(),
                }
            )
        return users

    def _make_customers(self, count: int) -> list[Facts]:
        """Customers without their names, which :func:`_customer_names` makes (the slow part)."""
        rng = self._rng("customers")
        country_of = _Picker(self.config.countries)
        customers = []
        for i in range(1, count + 1):
            country = country_of(rng)
            _, currency, tax = COUNTRIES[country]
            h, u = _identity(rng)
            customers.append(
                {
                    "seq": i,
                    "hex": h,
                    "uuid": u,
                    "number": str(10000 + i),
                    "name": None,
                    "email": None,
                    "country": country,
                    "currency": currency,
                    "tax_rate": tax,
                    "billing_group": (
                        {
                            "hex": stable_hex(self.seed_key, "bg", i),
                            "uuid": _uuid_from_hex(stable_hex(self.seed_key, "bg", i)),
                        }
                        if rng.random() < 0.3
                        else None
                    ),
                    "created_at": self.as_of - _between(rng, 560, 900) * DAY - _between(rng, 0, DAY),
                }
            )
        return customers

    def _make_subscriptions(self) -> list[Facts]:
        rng = self._rng("subscriptions")
        interval_of, status_of = _Picker(INTERVALS), _Picker(SUBSCRIPTION_STATUSES)
        subs: list[Facts] = []
        for customer in self.customers:
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                plan, price = rng.choice(PLANS)
                # In minor units, exactly: percent of the USD-like price, times a percent factor.
                scale = CURRENCY_SCALE.get(customer["currency"], 100)
                net = price * scale * rng.choice((100, 100, 100, 90, 110, 200)) // 100
                started = customer["created_at"] + _between(rng, 0, 20) * DAY
                h, u = _identity(rng)
                subs.append(
                    {
                        "seq": len(subs) + 1,
                        "hex": h,
                        "uuid": u,
                        "number": f"SUB-{len(subs) + 1:06d}",
                        "customer": customer["seq"],
                        "plan": plan,
                        "net_cents": net,
                        "amount": _money(_gross(net, customer["tax_rate"])),
                        "currency": customer["currency"],
                        "interval": interval_of(rng),
                        "status": status_of(rng),
                        "started_at": started,
                        "created_at": started - _between(rng, 1, 5) * DAY,
                    }
                )
        return subs

    def hydrate(self, payment: Facts) -> Mapping[str, Any]:
        """Resolve a payment's references to the entities they name, for rendering."""
        return self.hydrator(payment)

    def hydrate_subscription(self, sub: Facts) -> Facts:
        """Resolve a subscription's customer reference."""
        return {**sub, "customer": self.customers[sub["customer"] - 1]}


def _domain(tenant: Facts) -> str:
    """The tenant's mail domain, after its name (its slug's words when the name is the generated one)."""
    words = "-".join("".join(c for c in w if c.isalnum()) for w in tenant["name"].lower().split())
    return words.strip("-")[:24] or "tenant"
