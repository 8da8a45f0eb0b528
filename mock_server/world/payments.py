"""A tenant's payments in two passes: a compact skeleton over all of them, then full facts by chunk.

Pass one (:mod:`mock_server.world.skeleton`) decides what the declared status weights and the
invoices need at once (phase, creation time, amount, the story of the money, invoice grouping)
with numpy over every payment; pass two, here, makes each chunk's facts column-wise, in
creation order, which is also the store's primary key order.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mock_server.world.config import DAY, PAYMENT_CHUNK, PHASES
from mock_server.world.draws import _MONEY_TEXT, _draw, _money, _pick, _uniforms, _unless, _uuid_from_hex
from mock_server.world.facts import Facts
from mock_server.world.methods import GATEWAY_METHODS, NOTES, REFERENCES, TRANSACTION_IDS
from mock_server.world.own import own_draws, own_ids, own_moments
from mock_server.world.skeleton import (
    _CREDIT_BALANCE,
    _CREDIT_NOTE,
    _GIFT,
    _REFUNDED,
    _UNAPPLIED,
    PaymentSkeleton,
)


class PaymentPasses(PaymentSkeleton):
    """The payment passes of :class:`~mock_server.world.tenant.World` (a base class of it).

    Pass one (:class:`~mock_server.world.skeleton.PaymentSkeleton`) sets ``invoices`` and the
    skeleton; pass two, here, reads them a chunk at a time.
    """

    users: list[Facts]

    def payments(self, chunk: int | None = None) -> Iterator[Facts]:
        """Pass two: full facts of payments in creation order (``seq`` 1, 2, ...).

        Args:
            chunk: Only the payments of this chunk of :data:`PAYMENT_CHUNK` (all when None).
                Each chunk draws from its own generator, so chunks can be made in parallel and
                the world is the same however many processes make it.
        """
        for c in range(self.chunks) if chunk is None else (chunk,):
            yield from self._chunk(c)

    @property
    def chunks(self) -> int:
        """How many chunks of :data:`PAYMENT_CHUNK` payments there are."""
        return -(-self.size // PAYMENT_CHUNK)

    def _chunk(self, c: int) -> list[Facts]:
        """The facts of chunk ``c``'s payments.

        Every draw, date and amount of the chunk is computed column-wise with numpy; only each
        payment's dict and strings are made one at a time.
        """
        rng = self._rng(f"payments:{c}")
        sk = self._skeleton_of
        js = sk.order[c * PAYMENT_CHUNK : (c + 1) * PAYMENT_CHUNK]
        m = len(js)
        as_of = self.as_of
        if sk.own is None:
            u = _uniforms(rng, 16 * m).reshape(16, m)
            hexes = rng.getrandbits(128 * m).to_bytes(16 * m, "little").hex() if m else ""
        else:  # a fixture's payments draw apart: the generated ones draw what they would without them
            u, hexes = own_draws(rng, self._rng(f"own-payments:{c}"), sk.own[js] >= 0)
        routes = self._routes

        status = sk.status[js]
        phase = self._phase_of[status]
        created = sk.created[js]
        scheduled, in_flight, settled, failed, voided = (phase == k for k in range(len(PHASES)))
        # Only a gateway submits, keeps an attempt in flight or declines one.
        method = np.where(in_flight | failed, _pick(routes.gateway_cumulative, u[0]), _pick(routes.cumulative, u[0]))
        if sk.own is not None:  # the method a fixture gave its payment
            method = np.where(sk.method[js] >= 0, sk.method[js], method)
        gateway = routes.is_gateway[method]
        processor = routes.first[method] + (u[1] * routes.count[method]).astype(np.int64)
        # Due at midnight: scheduled in 7-21 days; in flight on a day after creation and before
        # as-of; otherwise 7-10 days after creation (the creation windows leave room for what
        # follows, so that no time is ever cut off at as-of).
        in_flight_first = created // DAY + 1
        in_flight_days = as_of // DAY - in_flight_first
        due = np.where(
            scheduled,
            created + _draw(u[2], 7, 21) * DAY,
            np.where(
                in_flight,
                (in_flight_first + (u[2] * np.maximum(in_flight_days, 1)).astype(np.int64)) * DAY,
                created + _draw(u[2], 7, 10) * DAY,
            ),
        )
        due -= due % DAY
        submitted_any = (in_flight | settled | failed) & gateway
        submitted = due + _draw(u[3], 0, 6 * 3600)
        # Collected: a gateway settles within three days of submitting; money without a gateway
        # arrives between two days before and three days after the due date.
        settle_window = np.minimum(3 * DAY, as_of - submitted - 60)
        paid = np.where(
            gateway, submitted + 60 + (u[4] * settle_window).astype(np.int64), due - 2 * DAY + _draw(u[4], 0, 5 * DAY)
        )
        cancelled = created + _draw(u[5], DAY, 10 * DAY)
        if sk.own is not None:
            moments = (sk.own[js], sk.due[js], sk.paid[js], created, due, submitted, paid, cancelled, gateway)
            due, submitted, paid, cancelled = own_moments(as_of, *moments)
        updated = np.maximum.reduce(
            [created, np.where(submitted_any, submitted, 0), np.where(settled, paid, 0), np.where(voided, cancelled, 0)]
        )
        effective = np.where(settled, paid, np.where(submitted_any, submitted, np.where(voided, created, due)))
        recorded = np.where(settled, paid, np.where(submitted_any, submitted, created))
        gateway_state = np.where(
            gateway, np.where(submitted_any, np.where(failed, 3, 2), 1), 0
        )  # index into _GATEWAY_STATES

        # Money, in minor units: see _Skeleton for the stories.
        gross = sk.gross[js]
        story = sk.story[js]
        extra = np.maximum(gross * sk.share[js] // 100, 1)
        over = (story == _UNAPPLIED) | (story == _CREDIT_BALANCE)
        covered = (story == _CREDIT_NOTE) | (story == _GIFT)
        amount = np.where(over, gross + extra, np.where(covered, gross - extra, gross))
        applied = np.where(settled & (story != _REFUNDED), np.where(over, gross, amount), 0)
        unapplied = np.where(story == _UNAPPLIED, extra, 0)
        credit_balance = np.where(story == _CREDIT_BALANCE, extra, 0)
        refund = np.where(story == _REFUNDED, gross, 0)
        invoice_applied = np.where(settled & (story != _REFUNDED), gross, 0)
        credit = np.where(story == _CREDIT_NOTE, extra, -1)
        gift = np.where(story == _GIFT, extra, -1)
        # Some settled payments came in two parts by two methods (a card and cash, say).
        split = settled & (u[6] < routes.split_share) & (amount > 1)
        second = (method + 1 + (u[7] * (len(routes.names) - 1)).astype(np.int64)) % len(routes.names)
        second_processor = routes.first[second] + (u[8] * routes.count[second]).astype(np.int64)
        second_amount = np.maximum(amount * _draw(u[9], 20, 60) // 100, 1)

        users = len(self.users)
        creator = (u[10] * users).astype(np.int64)
        # Whoever recorded a payment changed it last, unless it changed after being recorded.
        updater = np.where(updated == recorded, creator, (u[11] * users).astype(np.int64))
        failure = routes.failure_first[method] + (u[12] * routes.failure_count[method]).astype(np.int64)
        installment = sk.installment[js]
        parts = sk.parts[js]
        # A deposit opens an invoice paid in installments; one-off charges and late fees stand alone.
        kind = np.where(
            parts > 1,
            np.where((installment == 1) & (u[13] < 0.4), 1, 0),
            np.where(u[13] < 0.08, 2, np.where(u[13] < 0.12, 3, 0)),
        )  # index into _KINDS
        if sk.own is not None:  # a fixture's payment is the instalment it says it is
            kind = np.where(sk.own[js] >= 0, 0, kind)

        sub = sk.subscription[js]
        invoice = sk.invoice[js]
        columns = zip(
            range(c * PAYMENT_CHUNK + 1, c * PAYMENT_CHUNK + m + 1),
            sub.tolist(),
            (invoice + 1).tolist(),
            installment.tolist(),
            parts.tolist(),
            status.tolist(),
            kind.tolist(),
            amount.tolist(),
            gross.tolist(),
            sk.net[js].tolist(),
            created.tolist(),
            updated.tolist(),
            due.tolist(),
            effective.tolist(),
            _unless(paid, settled),
            _unless(submitted, submitted_any),
            _unless(cancelled, voided),
            recorded.tolist(),
            method.tolist(),
            processor.tolist(),
            gateway_state.tolist(),
            _unless(failure, failed),
            applied.tolist(),
            unapplied.tolist(),
            refund.tolist(),
            credit_balance.tolist(),
            invoice_applied.tolist(),
            (creator + 1).tolist(),
            (updater + 1).tolist(),
            credit.tolist(),
            gift.tolist(),
            _unless(second, split),
            second_processor.tolist(),
            second_amount.tolist(),
            strict=True,
        )
        subscriptions, customers = self.subscriptions, self.customers
        statuses, phases = self._statuses, self._phase_names
        methods, processors, failures = routes.names, routes.processors, routes.failures
        # Looked up by index per payment, not by name (seeding makes a million).
        references = [REFERENCES[p] for p in processors]
        transaction_ids = [TRANSACTION_IDS.get(p) for p in processors]
        codes = [f.partition(":")[0] for f in failures]
        recorder = [m not in GATEWAY_METHODS for m in methods]
        notes = [NOTES.get(m) if manual else None for m, manual in zip(methods, recorder, strict=True)]
        known = _MONEY_TEXT.get  # amounts repeat: most are formatted already
        payments = []
        for i, row in enumerate(columns):
            (
                seq, s, inv, part, parts_, st, kd, amount_, gross_, net_, cr, up, du, eff, pd, sbm, cnc, rec,
                me, pr, gs, fl, ap, un, rf, cb_, ia, cb, ub, cn, gc, me2, pr2, am2,
            ) = row  # fmt: skip
            h = hexes[32 * i : 32 * i + 32]
            subscription = subscriptions[s]
            customer = customers[subscription["customer"] - 1]
            method_ = methods[me]
            processor_ = processors[pr]
            reference = references[pr](h, method_)
            made_by = transaction_ids[pr]
            tenders = None
            if me2 is not None:
                second_ = processors[pr2]
                tenders = [
                    {
                        "amount": _money(amount_ - am2),
                        "method": method_,
                        "processor": processor_,
                        "reference": reference,
                    },
                    {
                        "amount": _money(am2),
                        "method": methods[me2],
                        "processor": second_,
                        "reference": references[pr2](h[::-1], methods[me2]),
                    },
                ]
            plan = subscription["plan"]
            payments.append(
                {
                    "seq": seq,
                    "hex": h,
                    "uuid": _uuid_from_hex(h),
                    "customer": customer["seq"],
                    "subscription": subscription["seq"],
                    "invoice": inv,
                    "installment": part,
                    "status": statuses[st],
                    "phase": phases[st],
                    "kind": _KINDS[kd],
                    "amount": known(amount_) or _money(amount_),
                    "subtotal": known(net_) or _money(net_),
                    "tax": known(gross_ - net_) or _money(gross_ - net_),
                    "currency": customer["currency"],
                    "created_at": cr,
                    "updated_at": up,
                    "due_date": du,
                    "effective_date": eff,
                    "paid_at": pd,
                    "submitted_at": sbm,
                    "cancelled_at": cnc,
                    "recorded_at": rec,
                    "method": method_,
                    "processor": processor_,
                    "gateway_state": _GATEWAY_STATES[gs],
                    "reference": reference,
                    "gateway_reference": (made_by(h, method_) if made_by else reference) if sbm is not None else None,
                    "failure_code": codes[fl] if fl is not None else None,
                    "failure_message": failures[fl] if fl is not None else None,
                    "applied_amount": known(ap) or _money(ap),
                    "unapplied_amount": _money(un) if un else "0.00",
                    "refund_amount": _money(rf) if rf else "0.00",
                    "credit_balance_amount": _money(cb_) if cb_ else "0.00",
                    "invoice_applied": known(ia) or _money(ia),
                    "created_by": cb,
                    "updated_by": ub,
                    "recorded_by": cb if recorder[me] else None,
                    "note": notes[me],
                    "credits": [{"amount": _money(cn), "code": f"CN-{h[12:18].upper()}"}] if cn >= 0 else [],
                    "gift_certificates": [{"amount": _money(gc), "code": f"GC-{h[18:24].upper()}"}] if gc >= 0 else [],
                    "tenders": tenders,
                    "label": plan if kd == 0 and parts_ == 1 else _label(plan, _KINDS[kd], part, parts_),
                }
            )
        if sk.own is not None and self.own is not None:
            own_ids(self.own, sk.own[js], payments)
        return payments


#: The ``gateway_state`` fact: no gateway involved, not (yet) submitted, submitted, declined.
_GATEWAY_STATES = ("none", "not_submitted", "submitted", "declined")
#: The ``kind`` fact.
_KINDS = ("recurring", "deposit", "one_time", "late_fee")


def _label(plan: str, kind: str, part: int, parts: int) -> str:
    """What a payment's one line item says it is for."""
    if kind == "deposit":
        return f"{plan}: deposit (installment 1 of {parts})"
    if kind == "one_time":
        return f"{plan}: one-time charge"
    if kind == "late_fee":
        return f"{plan}: late payment fee"
    return f"{plan} (installment {part} of {parts})" if parts > 1 else plan
