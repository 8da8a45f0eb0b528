"""A tenant's payments in two passes: a compact skeleton over all of them, then full facts by chunk.

Pass one decides what the declared status weights and the invoices need at once (phase,
creation time, amount, the story of the money, invoice grouping) with numpy over every payment;
pass two makes each chunk's facts column-wise, in creation order, which is also the store's
primary key order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mock_server.world.config import DAY, PAYMENT_CHUNK, PHASES, WorldConfig
from mock_server.world.draws import _MONEY_TEXT, _compact, _draw, _money, _pick, _uniforms, _unless, _uuid_from_hex
from mock_server.world.facts import Facts
from mock_server.world.invoices import _Invoices
from mock_server.world.methods import (
    FAILURES,
    GATEWAY_METHODS,
    METHODS,
    NOTES,
    PROCESSORS,
    REFERENCES,
    SPLIT,
    STORIES,
    TRANSACTION_IDS,
)
from mock_server.world.own import OwnFacts, net_of, own_draws, own_ids, own_moments


class PaymentPasses:
    """The payment passes of :class:`~mock_server.world.tenant.World` (a base class of it).

    Pass one sets ``invoices`` and the skeleton; pass two reads them a chunk at a time.
    """

    config: WorldConfig
    as_of: int
    size: int
    seed_key: str
    users: list[Facts]
    customers: list[Facts]
    subscriptions: list[Facts]
    invoices: _Invoices
    _skeleton_of: _Skeleton
    _routes: _Routes
    _statuses: list[str]
    _phase_names: list[str]
    _phase_of: npt.NDArray[np.int8]
    own: OwnFacts | None

    def _rng(self, part: str) -> random.Random:
        return random.Random(f"{self.seed_key}:{part}")

    def _skeleton(self) -> None:
        """Pass one: phase, creation time, amount and invoice of every payment, in compact arrays.

        Computed a million payments at a time with numpy (it was the one serial phase of seeding
        a large world: 6 s per million in a Python loop). The draws are uniforms from this
        world's :class:`random.Random`, so the skeleton depends on the seed alone.
        """
        rng = self._rng("skeleton")
        n = self.size
        self._statuses = list(self.config.statuses)
        self._phase_names = [p for _, p in self.config.statuses.values()]
        self._phase_of = np.array([PHASES.index(p) for p in self._phase_names], dtype=np.int8)
        self._routes = _Routes(self.config)
        weights = np.cumsum([w for w, _ in self.config.statuses.values()])
        status_index = _pick(weights, _uniforms(rng, n)).astype(np.int8)
        phase = self._phase_of[status_index]
        settled = phase == _SETTLED
        # Stories of settled payments' money are decided here, not in pass two, because they
        # change what invoices were paid. ``share`` sizes an overpayment, a credit or a gift.
        story = _pick(self._routes.story_cumulative, _uniforms(rng, n)).astype(np.int8)
        story[~settled] = _PLAIN
        share = _draw(_uniforms(rng, n), 5, 40)

        # Invoices: 70 % are paid in one payment, 20 % in two installments, 10 % in three; the
        # last invoice takes what payments remain. Each bills one subscription.
        r = _uniforms(rng, n)
        parts = np.where(r < 0.7, 1, np.where(r < 0.9, 2, 3)).astype(np.int64)
        ends = np.cumsum(parts)
        count = int(np.searchsorted(ends, n)) + 1
        parts = parts[:count]
        parts[-1] -= int(ends[count - 1]) - n
        starts = np.concatenate(([0], np.cumsum(parts)[:-1]))
        invoice_of = np.repeat(np.arange(count), parts)
        # An invoice with an installment still to collect bills a subscription that is running:
        # an ended or cancelled rental has no payment pending.
        open_invoice = np.zeros(count, dtype=np.bool_)
        open_invoice[invoice_of[(phase == _SCHEDULED) | (phase == _IN_FLIGHT)]] = True
        running = np.array([i for i, s in enumerate(self.subscriptions) if s["status"] == "active"], dtype=np.int64)
        everyone = np.arange(len(self.subscriptions), dtype=np.int64)
        if not len(running):
            running = everyone
        u = _uniforms(rng, count)
        subscription = np.where(
            open_invoice, running[(u * len(running)).astype(np.int64)], everyone[(u * len(everyone)).astype(np.int64)]
        )
        subscription_of = subscription[invoice_of]

        span = _CREATED_SPAN[phase]
        created = self.as_of - span[:, 0] - (_uniforms(rng, n) * span[:, 1]).astype(np.int64)
        # Installments in time order: settled ones first, then attempts, scheduled last, each
        # rank in creation order. Where that order and the drawn times disagree, an installment
        # follows the one before it by an hour to a day (two passes: at most three installments).
        members = np.lexsort((created, _PHASE_ORDER[phase], invoice_of))
        position = np.arange(n) - starts[invoice_of]  # of the k-th member in its invoice
        lag = _draw(_uniforms(rng, n), 3600, DAY)
        for k in (1, 2):
            at = np.flatnonzero(position == k)
            this, before = members[at], members[at - 1]
            late = created[this] <= created[before]
            created[this[late]] = created[before[late]] + lag[this[late]]
        part_of = np.empty(n, dtype=np.int64)
        part_of[members] = position

        # Kept as numpy arrays: pass two reads them a chunk at a time, with fancy indexing.
        nets = np.array([s["net_cents"] for s in self.subscriptions], dtype=np.int64)
        tax_of_sub = np.array(
            [self.customers[s["customer"] - 1]["tax_rate"] for s in self.subscriptions], dtype=np.int64
        )
        grosses = nets + (nets * tax_of_sub + 50) // 100
        self._skeleton_of = _Skeleton(
            status=status_index,
            story=story,
            share=share,
            created=created,
            subscription=subscription_of,
            installment=(part_of + 1).astype(np.int8),
            parts=parts[invoice_of].astype(np.int8),
            invoice=invoice_of,
            net=nets[subscription_of],  # an invoice's total is split evenly between its installments
            gross=grosses[subscription_of],
            order=np.argsort(created, kind="stable"),
        )

        # Invoices' totals (the sum of their installments, so that they add up to the cent),
        # what was applied to them (settled installments that were not refunded) and issue
        # dates (a day at most two before the earliest installment).
        paid = settled & (story != _REFUNDED)
        applied = np.zeros(count, dtype=np.int64)
        np.add.at(applied, invoice_of[paid], grosses[subscription_of][paid])
        issued = np.minimum.reduceat(created, starts) - (_uniforms(rng, count) * 3).astype(np.int64) * DAY
        self.invoices = _Invoices(self.seed_key, self.subscriptions, self.customers)
        self.invoices.fill(
            subscription=_compact("q", subscription),
            parts=_compact("b", parts),
            total=_compact("q", grosses[subscription] * parts),
            applied=_compact("q", applied),
            issued=_compact("q", issued - issued % DAY),
        )

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

    # -- a fixture's payments (see mock_server/world/own.py) -----------------------------------

    def _place(self, own: OwnFacts, first_subscription: int) -> None:
        """Merge a fixture's payments into the skeleton by creation time, and add its invoices.

        Each gets what pass one would have decided (status, instalment, invoice, amounts) from
        the fixture instead of a draw; pass two then makes its facts like any other payment's.
        """
        sk, n, k = self._skeleton_of, self.size, len(own.payments)
        if not k:
            return
        first_invoice = len(self.invoices)
        numbered = own.installments()
        sub_of = [first_subscription + p.subscription for p in own.payments]
        taxes = [self.customers[self.subscriptions[s]["customer"] - 1]["tax_rate"] for s in sub_of]

        def more(column: npt.NDArray[Any], added: list[int]) -> npt.NDArray[Any]:
            return np.concatenate((column, np.array(added, dtype=column.dtype)))

        def given(moments: list[int | None]) -> npt.NDArray[np.int64]:
            return more(np.full(n, -1, dtype=np.int64), [-1 if m is None else m for m in moments])

        created = more(sk.created, [p.created_at for p in own.payments])
        self._skeleton_of = _Skeleton(
            status=more(sk.status, [self._statuses.index(p.status) for p in own.payments]),
            story=more(sk.story, [_PLAIN] * k),
            share=more(sk.share, [0] * k),
            created=created,
            subscription=more(sk.subscription, sub_of),
            installment=more(sk.installment, [part for part, _ in numbered]),
            parts=more(sk.parts, [parts for _, parts in numbered]),
            invoice=more(sk.invoice, [first_invoice + p.invoice for p in own.payments]),
            net=more(sk.net, [net_of(p.amount, t) for p, t in zip(own.payments, taxes, strict=True)]),
            gross=more(sk.gross, [p.amount for p in own.payments]),
            order=np.argsort(created, kind="stable"),
            own=np.concatenate((np.full(n, -1, dtype=np.int64), np.arange(k, dtype=np.int64))),
            due=given([p.due_date for p in own.payments]),
            paid=given([p.paid_at for p in own.payments]),
            method=given([None if p.method is None else self._routes.names.index(p.method) for p in own.payments]),
        )
        # Invoices add up as generated ones do: the total is the sum of their instalments, what
        # was applied the sum of the collected ones.
        totals, applied, parts = [0] * len(own.invoices), [0] * len(own.invoices), [0] * len(own.invoices)
        for p in own.payments:
            totals[p.invoice] += p.amount
            parts[p.invoice] += 1
            if self.config.statuses[p.status][1] == "settled":
                applied[p.invoice] += p.amount
        invoices = self.invoices
        invoices.subscription.extend(first_subscription + i.subscription for i in own.invoices)
        invoices.parts.extend(parts)
        invoices.total.extend(totals)
        invoices.applied.extend(applied)
        invoices.issued.extend(i.issued for i in own.invoices)
        self.size = n + k


def _none() -> npt.NDArray[np.int64]:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class _Skeleton:
    """Pass one's result, one array per fact, indexed in generation order (not creation order).

    Per payment: status index, story of its money (an index into :data:`_STORY_NAMES`: applied
    in full, refunded, partly left unapplied, partly moved to the credit balance, partly covered
    by a credit note or by a gift certificate) and the share of the installment (percent) the
    story's extra money is, creation time, subscription and invoice (0-based), installment
    number (1-based) and its invoice's number of installments, net and gross cents of the
    installment. ``order`` lists the payments by creation time. With a fixture: ``own`` is each
    payment's index among the fixture's (-1 for a generated one), ``due`` and ``paid`` the
    moments the fixture gave and ``method`` the payment method's index (-1: drawn).
    """

    status: npt.NDArray[np.int8]
    story: npt.NDArray[np.int8]
    share: npt.NDArray[np.int64]
    created: npt.NDArray[np.int64]
    subscription: npt.NDArray[np.int64]
    installment: npt.NDArray[np.int8]
    parts: npt.NDArray[np.int8]
    invoice: npt.NDArray[np.int64]
    net: npt.NDArray[np.int64]
    gross: npt.NDArray[np.int64]
    order: npt.NDArray[np.int64]
    own: npt.NDArray[np.int64] | None = None
    due: npt.NDArray[np.int64] = field(default_factory=_none)
    paid: npt.NDArray[np.int64] = field(default_factory=_none)
    method: npt.NDArray[np.int64] = field(default_factory=_none)


_SCHEDULED, _IN_FLIGHT, _SETTLED = (PHASES.index(p) for p in ("scheduled", "in_flight", "settled"))
#: A settled payment's money: applied in full, or one of the stories a document may declare.
_STORY_NAMES = ("plain", *STORIES)
_PLAIN, _REFUNDED, _UNAPPLIED, _CREDIT_BALANCE, _CREDIT_NOTE, _GIFT = range(len(_STORY_NAMES))
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


class _Routes:
    """A document's methods and processors as the arrays pass two draws from.

    Every method's processors are in one list: method i's are the ``count[i]`` from ``first[i]``;
    its decline reasons likewise in ``failures``.
    """

    def __init__(self, config: WorldConfig) -> None:
        self.names = [m for m in METHODS if config.methods.get(m, 0) > 0] or list(METHODS)
        weights = np.array([config.methods.get(m, 1) for m in self.names], dtype=np.float64)
        self.cumulative = np.cumsum(weights)
        self.is_gateway = np.array([m in GATEWAY_METHODS for m in self.names])
        # Attempts in flight or declined need a gateway (a document whose methods have none
        # declares no such status: WorldConfig.load refuses it); without one, every method serves.
        gated = np.where(self.is_gateway, weights, 0.0) if self.is_gateway.any() else weights
        self.gateway_cumulative = np.cumsum(gated)
        routes = [tuple(config.processors.get(m) or PROCESSORS[m]) for m in self.names]
        self.processors = [p for r in routes for p in r]
        self.count = np.array([len(r) for r in routes], dtype=np.int64)
        self.first = np.cumsum(self.count) - self.count
        reasons = [FAILURES.get(m) or FAILURES["card"] for m in self.names]
        self.failures = [f for r in reasons for f in r]
        self.failure_count = np.array([len(r) for r in reasons], dtype=np.int64)
        self.failure_first = np.cumsum(self.failure_count) - self.failure_count
        shares = [config.stories.get(s, 0) for s in STORIES]
        self.story_cumulative = np.cumsum([max(100 - sum(shares), 0), *shares])
        self.split_share = config.stories.get(SPLIT, 0) / 100


#: Phase index -> rank of an installment in its invoice: settled first, then attempts, scheduled last.
_PHASE_ORDER = np.array([2, 1, 0, 1, 1], dtype=np.int64)


#: Phase index -> (least age, spread) of a payment's creation, in seconds before as-of: scheduled
#: payments are recent, in-flight ones a few days old, the rest up to eighteen months. The least
#: ages leave room for what follows creation (a due date, a submission, a settlement), so that
#: no time is cut off at as-of.
_CREATED_SPAN = np.array(
    [
        (0, 14 * DAY + 1),
        (3 * DAY, 13 * DAY + 1),
        (18 * DAY, 522 * DAY + 1),
        (18 * DAY, 522 * DAY + 1),
        (18 * DAY, 522 * DAY + 1),
    ],
    dtype=np.int64,
)
