"""Pass one of a tenant's payments: a compact skeleton over all of them, drawn with numpy.

What the declared status weights and the invoices need at once (phase, creation time, amount,
the story of the money, invoice grouping) is decided here for every payment, and a fixture's
own payments are placed among the drawn ones; pass two (:mod:`mock_server.world.payments`)
reads the skeleton a chunk at a time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mock_server.world.config import DAY, PHASES, WorldConfig
from mock_server.world.draws import _compact, _draw, _pick, _uniforms
from mock_server.world.facts import Facts
from mock_server.world.invoices import _Invoices
from mock_server.world.methods import FAILURES, GATEWAY_METHODS, METHODS, PROCESSORS, SPLIT, STORIES
from mock_server.world.own import OwnFacts, net_of


class PaymentSkeleton:
    """Pass one of :class:`~mock_server.world.tenant.World`'s payments (a base class of it).

    Sets ``invoices`` and the skeleton that pass two reads a chunk at a time.
    """

    config: WorldConfig
    as_of: int
    size: int
    seed_key: str
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
