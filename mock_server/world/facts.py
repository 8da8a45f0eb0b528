"""The facts each entity offers (validated against ``x-paymock`` sources), and how payments' facts are stored."""

from __future__ import annotations

from typing import Any

import orjson

Facts = dict[str, Any]


#: A value that is a string names the entity (or list-item kind) the fact refers to.
_ID = {"seq": None, "hex": None, "uuid": None}
FACT_SCHEMA: dict[str, dict[str, str | None]] = {
    "tenant": {
        **_ID,
        "code": None,
        "slug": None,
        "name": None,
        "workspace_hex": None,
        "workspace_uuid": None,
    },
    "user": {**_ID, "name": None, "email": None},
    "billing_group": {"hex": None, "uuid": None},
    "customer": {
        **_ID,
        "number": None,
        "name": None,
        "email": None,
        "country": None,
        "currency": None,
        "tax_rate": None,
        "billing_group": "billing_group",
        "created_at": None,
    },
    "subscription": {
        **_ID,
        "number": None,
        "customer": "customer",
        "plan": None,
        "amount": None,
        "currency": None,
        "interval": None,
        "status": None,
        "started_at": None,
        "created_at": None,
    },
    "invoice": {
        **_ID,
        "number": None,
        "code": None,
        "customer": "customer",
        "issue_date": None,
        "due_date": None,
        "total": None,
        "outstanding": None,
        "currency": None,
        "parts": None,
    },
    "invoice_application": {
        **_ID,
        "number": None,
        "code": None,
        "issue_date": None,
        "due_date": None,
        "total": None,
        "outstanding": None,
        "currency": None,
        "applied": None,
    },
    "allocation": {"amount": None, "method": None, "processor": None, "reference": None},
    "attribute": {"name": None, "value": None},
    "credit": {"amount": None, "code": None},
    "line_item": {"description": None, "quantity": None, "unit_amount": None, "amount": None},
    "payment": {
        **_ID,
        "customer": "customer",
        "subscription": "subscription",
        "invoice": "invoice",
        "billing_group": "billing_group",
        "installment": None,
        "status": None,
        "phase": None,
        "kind": None,
        "amount": None,
        "subtotal": None,
        "tax": None,
        "currency": None,
        "created_at": None,
        "updated_at": None,
        "due_date": None,
        "effective_date": None,
        "paid_at": None,
        "submitted_at": None,
        "cancelled_at": None,
        "recorded_at": None,
        "method": None,
        "processor": None,
        "gateway_state": None,
        "reference": None,
        "gateway_reference": None,
        "failure_code": None,
        "failure_message": None,
        "applied_amount": None,
        "unapplied_amount": None,
        "refund_amount": None,
        "credit_balance_amount": None,
        "invoice_applied": None,
        "created_by": "user",
        "updated_by": "user",
        "recorded_by": "user",
        "note": None,
        "allocations": "allocation[]",
        "attributes": "attribute[]",
        "credits": "credit[]",
        "gift_certificates": "credit[]",
        "invoices": "invoice_application[]",
        "line_items": "line_item[]",
        "label": None,
        # How many times the record changed after the world was made (a move of the sandbox
        # clock, a transition); absent until the first change, read as 0.
        "revision": None,
    },
}
#: The facts of a generated payment, in the order :meth:`World._payment` makes them.
PAYMENT_FACTS: tuple[str, ...] = (
    "seq", "hex", "uuid", "customer", "subscription", "invoice", "installment", "status", "phase", "kind",
    "amount", "subtotal", "tax", "currency", "created_at", "updated_at", "due_date", "effective_date",
    "paid_at", "submitted_at", "cancelled_at", "recorded_at", "method", "processor", "gateway_state", "reference",
    "gateway_reference", "failure_code", "failure_message", "applied_amount", "unapplied_amount", "refund_amount",
    "credit_balance_amount", "invoice_applied", "created_by", "updated_by", "recorded_by", "note", "credits",
    "gift_certificates", "tenders", "label",
)  # fmt: skip


def pack_facts(facts: Facts) -> bytes:
    """Facts as stored: a payment's as a JSON array in :data:`PAYMENT_FACTS` order, anything else as an object.

    The array is half the bytes of the object, for each of a million rows.
    """
    if len(facts) == len(PAYMENT_FACTS) and tuple(facts) == PAYMENT_FACTS:
        return orjson.dumps(list(facts.values()))
    return orjson.dumps(facts)


def pack_payment(facts: Facts) -> bytes:
    """:func:`pack_facts` of a payment :meth:`World.payments` made, without comparing its keys.

    Its keys are always :data:`PAYMENT_FACTS` in order (tests/unit/test_world.py checks every
    payment of a world): seeding packs a million.
    """
    return orjson.dumps(list(facts.values()))


def unpack_facts(blob: bytes) -> Facts:
    """The facts :func:`pack_facts` stored."""
    value = orjson.loads(blob)
    if isinstance(value, list):
        return dict(zip(PAYMENT_FACTS, value, strict=True))
    facts: Facts = value
    return facts


#: Facts holding epoch seconds: rendered as dates or date-times.
TIME_FACTS = frozenset(
    {
        "created_at",
        "updated_at",
        "due_date",
        "effective_date",
        "paid_at",
        "submitted_at",
        "cancelled_at",
        "recorded_at",
        "started_at",
        "issue_date",
    }
)
