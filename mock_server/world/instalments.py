"""Facts of a subscription's next instalment, made when the sandbox clock passes its creation moment.

The seeded world stops at its as-of moment; a subscription that is still active keeps billing
after it. :func:`instalment_facts` makes the payment (and its invoice) of one instalment as pass
two makes a scheduled payment (:mod:`mock_server.world.payments`): a method and processor drawn
by the document's weights, a reference in the processor's format, a due date one to three weeks
out, and money that adds up (the subscription's gross, its net and tax; nothing applied yet).

Everything is drawn from a generator keyed by the seed, the tenant, the subscription and the
instalment's number, never by when or in how many steps the clock got there.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from mock_server.world.config import DAY, WorldConfig
from mock_server.world.draws import _money, _uuid_from_hex, stable_hex
from mock_server.world.facts import Facts
from mock_server.world.invoices import INVOICE_FACTS, INVOICE_OUTSTANDING, cents
from mock_server.world.methods import GATEWAY_METHODS, NOTES, REFERENCES
from mock_server.world.skeleton import _Routes

#: Invoice numbers of instalments made after seeding start here (seeded ones count from 10001),
#: one block of :data:`INSTALMENT_SPAN` per subscription: unique without reading what exists.
INVOICE_BASE = 10**9
#: Instalment numbers per subscription an invoice number has room for.
INSTALMENT_SPAN = 10**4
#: Subscription interval -> (calendar months, days) one instalment apart. Months are calendar
#: months, as a billing system counts them: a subscription started on 31 January bills on the
#: last day of February, then on 31 March (the day of the month is kept where the month has it).
INTERVALS: Mapping[str, tuple[int, int]] = {"week": (0, 7), "month": (1, 0), "year": (12, 0)}
#: The longest an interval can be, in seconds: a lower bound on how many instalments fit a span.
_LONGEST: Mapping[str, int] = {"week": 7 * DAY, "month": 31 * DAY, "year": 366 * DAY}


class Instalments:
    """Makes a document's new instalments; built once per clock (the routes are arrays).

    Args:
        config: The document's world block.
    """

    def __init__(self, config: WorldConfig) -> None:
        self._routes = _Routes(config)

    def facts(
        self,
        seed_key: str,
        subscription: Facts,
        customer: Facts,
        users: int,
        number: int,
        created: int,
        seq: int,
        status: str,
        phase: str,
    ) -> Facts:
        """The facts of ``subscription``'s instalment ``number``, created at ``created``.

        Args:
            seed_key: The tenant's seed key (``"<seed>:<api>:<tenant>"``).
            subscription: The subscription's facts.
            customer: Its customer's facts.
            users: How many users the tenant has (one of them created the payment).
            number: The instalment's number (the first after the subscription started is 1).
            created: Epoch seconds of its creation.
            seq: The payment's number among the tenant's payments.
            status: Its status (the lifecycle's initial one).
            phase: That status's lifecycle phase.
        """
        key = (seed_key, "instalment", subscription["seq"], number)
        rng = random.Random(":".join(map(str, key)))
        h = stable_hex(*key)
        routes = self._routes
        method_index = int(np.searchsorted(routes.cumulative, rng.random() * routes.cumulative[-1], side="right"))
        method_index = min(method_index, len(routes.names) - 1)
        method = routes.names[method_index]
        processor = routes.processors[int(routes.first[method_index]) + int(rng.random() * routes.count[method_index])]
        due = created + rng.randint(7, 21) * DAY
        due -= due % DAY
        creator = 1 + int(rng.random() * users)
        manual = method not in GATEWAY_METHODS
        gross = cents(subscription["amount"])
        net = int(subscription["net_cents"])
        invoice_k = INVOICE_BASE + subscription["seq"] * INSTALMENT_SPAN + number % INSTALMENT_SPAN
        invoice_hex = stable_hex(seed_key, "invoice", invoice_k)
        invoice = {
            "seq": invoice_k + 1,
            "hex": invoice_hex,
            "uuid": _uuid_from_hex(invoice_hex),
            "number": str(10001 + invoice_k),
            "code": f"INV-{invoice_hex[:4].upper()}-{invoice_hex[4:8].upper()}-{invoice_hex[8:12].upper()}",
            "subscription": subscription["seq"] - 1,
            "parts": 1,
            "customer": customer["seq"],
            "currency": customer["currency"],
            "issue_date": created - created % DAY,
            "due_date": created - created % DAY + 14 * DAY,
            "total": _money(gross),
            "outstanding": _money(gross),
        }
        facts: dict[str, Any] = {
            "seq": seq,
            "hex": h,
            "uuid": _uuid_from_hex(h),
            "customer": customer["seq"],
            "subscription": subscription["seq"],
            "invoice": invoice_k + 1,
            "installment": 1,
            "status": status,
            "phase": phase,
            "kind": "recurring",
            "amount": _money(gross),
            "subtotal": _money(net),
            "tax": _money(gross - net),
            "currency": customer["currency"],
            "created_at": created,
            "updated_at": created,
            "due_date": due,
            "effective_date": due,
            "paid_at": None,
            "submitted_at": None,
            "cancelled_at": None,
            "recorded_at": created,
            "method": method,
            "processor": processor,
            "gateway_state": "none" if manual else "not_submitted",
            "reference": REFERENCES[processor](h, method),
            "gateway_reference": None,
            "failure_code": None,
            "failure_message": None,
            "applied_amount": "0.00",
            "unapplied_amount": "0.00",
            "refund_amount": "0.00",
            "credit_balance_amount": "0.00",
            "invoice_applied": "0.00",
            "created_by": creator,
            "updated_by": creator,
            "recorded_by": creator if manual else None,
            "note": NOTES.get(method) if manual else None,
            "credits": [],
            "gift_certificates": [],
            "tenders": None,
            "label": subscription["plan"],
            INVOICE_FACTS: invoice,
            INVOICE_OUTSTANDING: invoice["outstanding"],
        }
        return facts


def instalment_moment(started: int, interval: str, number: int) -> int:
    """The creation moment of instalment ``number`` of a subscription started at ``started``."""
    months, days = INTERVALS[interval]
    if not months:
        return started + number * days * DAY
    begun = datetime.fromtimestamp(started, UTC)
    year, month = divmod(begun.month - 1 + number * months, 12)
    year += begun.year
    day = min(begun.day, calendar.monthrange(year, month + 1)[1])
    return int(begun.replace(year=year, month=month + 1, day=day).timestamp())


def instalment_moments(subscription: Facts, after: int, until: int) -> list[tuple[int, int]]:
    """``(number, moment)`` of each instalment of a subscription created in ``(after, until]``.

    Instalment ``n`` is created ``n`` intervals after the subscription started (the seeded
    world's payments stand for those before its as-of moment); months are calendar months.
    """
    interval = str(subscription.get("interval"))
    started = subscription.get("started_at")
    if interval not in INTERVALS or started is None or until <= after:
        return []
    start = int(started)
    # No instalment before this number can be after ``after``: every interval is at most _LONGEST.
    number = max(1, (after - start) // _LONGEST[interval])
    found = []
    while (moment := instalment_moment(start, interval, number)) <= until:
        if moment > after:
            found.append((number, moment))
        number += 1
    return found
