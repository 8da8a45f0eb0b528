"""One coherent, deterministic world per tenant: customers, subscriptions, invoices and payments.

Records that an API serves are projections of these facts (see :mod:`mock_server.records`).
Nothing here knows a vendor: the document supplies status names with weights and lifecycle
phases, the country mix, the payment methods and processors, the stories a settled payment's
money may tell, and the dataset size.

Determinism: every random draw comes from :class:`random.Random` instances seeded by
``(seed, api, tenant)``, and Faker instances are seeded the same way, so one seed and one
``as_of`` always give the same world.

Generation runs in two passes so that the declared status weights and coherent timelines hold
at once: a cheap skeleton first (phase, creation time, amount, invoice grouping for every
payment, computed with numpy over all payments at once), then full facts streamed in creation
order, which is also the store's primary key order.

The modules, by noun: :mod:`.config` (phases, countries, a document's ``world`` block),
:mod:`.methods` (payment methods, processors and their references), :mod:`.draws` (seeded
draws), :mod:`.tenant` (:class:`World` and its people, customers and subscriptions),
:mod:`.skeleton` (pass one of the payments, a fixture's placed among them), :mod:`.payments`
(pass two: the payments' facts by chunk), :mod:`.invoices`, :mod:`.hydration` (references
resolved for rendering) and :mod:`.facts` (the facts each entity offers, and their storage).
"""

from __future__ import annotations

from mock_server.world.config import (
    COUNTRIES,
    CURRENCY_SCALE,
    DAY,
    DEFAULT_COUNTRIES,
    INTERVALS,
    PAYMENT_CHUNK,
    PHASES,
    PLANS,
    SUBSCRIPTION_STATUSES,
    WorldConfig,
)
from mock_server.world.draws import stable_hex
from mock_server.world.facts import (
    FACT_SCHEMA,
    PAYMENT_FACTS,
    TIME_FACTS,
    Facts,
    pack_facts,
    pack_payment,
    unpack_facts,
)
from mock_server.world.hydration import ATTRIBUTES, Hydrator
from mock_server.world.invoices import INVOICE_BLOCK, INVOICE_OUTSTANDING, InvoiceBlocks, cents, invoice_facts, money
from mock_server.world.methods import FAILURES, GATEWAY_METHODS, METHODS, PROCESSORS
from mock_server.world.tenant import World, tenant_facts

__all__ = [
    "ATTRIBUTES",
    "COUNTRIES",
    "CURRENCY_SCALE",
    "DAY",
    "DEFAULT_COUNTRIES",
    "FACT_SCHEMA",
    "FAILURES",
    "GATEWAY_METHODS",
    "INTERVALS",
    "INVOICE_BLOCK",
    "INVOICE_OUTSTANDING",
    "METHODS",
    "PAYMENT_CHUNK",
    "PAYMENT_FACTS",
    "PHASES",
    "PLANS",
    "PROCESSORS",
    "SUBSCRIPTION_STATUSES",
    "TIME_FACTS",
    "Facts",
    "Hydrator",
    "InvoiceBlocks",
    "World",
    "WorldConfig",
    "cents",
    "invoice_facts",
    "money",
    "pack_facts",
    "pack_payment",
    "stable_hex",
    "tenant_facts",
    "unpack_facts",
]
