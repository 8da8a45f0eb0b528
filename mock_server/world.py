"""One coherent, deterministic world per tenant: customers, subscriptions, invoices and payments.

Records that an API serves are projections of these facts (see :mod:`mock_server.records`).
Nothing here knows a vendor: the document supplies status names with weights and lifecycle
phases, the country mix and the dataset size.

Determinism: every random draw comes from :class:`random.Random` instances seeded by
``(seed, api, tenant)``, and Faker instances are seeded the same way, so one seed and one
``as_of`` always give the same world.

Generation runs in two passes so that the declared status weights and coherent timelines hold
at once: a cheap skeleton first (phase, creation time, amount, invoice grouping for every
payment, computed with numpy over all payments at once), then full facts streamed in creation
order, which is also the store's primary key order.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import random
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt
import orjson
from faker import Faker

from mock_server.errors import SpecError, reject_unknown_keys
from mock_server.methods import (
    FAILURES,
    GATEWAY_METHODS,
    METHODS,
    NOTES,
    PROCESSORS,
    REFERENCES,
    SPLIT,
    STORIES,
    TRANSACTION_IDS,
    check_world,
)

Facts = dict[str, Any]
T = TypeVar("T")

DAY = 86_400
#: Payments per independently generated chunk of pass two.
PAYMENT_CHUNK = 5000
PHASES = ("scheduled", "in_flight", "settled", "failed", "voided")

#: Country -> (Faker locale, currency, VAT/sales-tax rate in percent).
COUNTRIES: dict[str, tuple[str, str, int]] = {
    "US": ("en_US", "USD", 0),
    "GB": ("en_GB", "GBP", 20),
    "DE": ("de_DE", "EUR", 19),
    "FR": ("fr_FR", "EUR", 20),
    "NL": ("nl_NL", "EUR", 21),
    "ES": ("es_ES", "EUR", 21),
    "IT": ("it_IT", "EUR", 22),
    "IE": ("en_IE", "EUR", 23),
    "AU": ("en_AU", "AUD", 10),
    "CA": ("en_CA", "CAD", 5),
    "NG": ("en_US", "NGN", 7),
    "KE": ("en_US", "KES", 16),
    "GH": ("en_US", "GHS", 15),
    "ZA": ("en_US", "ZAR", 15),
}
DEFAULT_COUNTRIES = {"US": 35, "GB": 20, "DE": 15, "FR": 8, "NL": 8, "ES": 4, "AU": 5, "CA": 5}

#: Monthly list prices (in major units of USD-like currencies) of typical rented or subscribed items.
PLANS: tuple[tuple[str, int], ...] = (
    ("Cargo bike rental", 89),
    ("E-bike subscription", 69),
    ("E-scooter rental", 39),
    ("Office chair lease", 19),
    ("Standing desk lease", 29),
    ("Laptop lease (14-inch)", 59),
    ("Coffee machine rental", 35),
    ("Washing machine rental", 25),
    ("Camera kit rental", 120),
    ("Storage unit (10 m²)", 149),
    ("Van hire (monthly)", 690),
    ("Co-working desk", 240),
    ("Software licence, Team plan", 99),
    ("Software licence, Business plan", 299),
    ("Event tent rental", 410),
)
#: Currencies whose amounts are usually a multiple of the USD-like price.
CURRENCY_SCALE = {"NGN": 1500, "KES": 130, "GHS": 15, "ZAR": 18, "AUD": 1.5, "CAD": 1.4, "GBP": 0.8}
SUBSCRIPTION_STATUSES = {"active": 78, "paused": 6, "ended": 10, "cancelled": 6}
INTERVALS = {"month": 88, "week": 4, "year": 8}


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """What a document declares about its data.

    Attributes:
        api: Short API name (part of every random seed).
        statuses: Vendor status -> (weight, phase) of the payment entity.
        countries: Country code -> weight.
        methods: Payment method -> weight (see :mod:`mock_server.methods`).
        processors: Payment method -> the processors that take it, drawn evenly.
        stories: Story of a settled payment's money (:data:`~mock_server.methods.STORIES`, and
            ``split``) -> share of settled payments, in percent; the others are applied in full.
    """

    api: str
    statuses: Mapping[str, tuple[float, str]]
    countries: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_COUNTRIES))
    methods: Mapping[str, float] = field(default_factory=lambda: dict(METHODS))
    processors: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(PROCESSORS))
    stories: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def load(
        cls, api: str, block: Mapping[str, Any], statuses: Mapping[str, tuple[float, str]], where: str
    ) -> WorldConfig:
        """The ``x-paymock.world`` block of a document (every key optional), validated.

        Raises:
            SpecError: Naming the key that is wrong and what it allows.
        """
        reject_unknown_keys(block, {"countries", "methods", "processors", "stories"}, where)
        countries = dict(block.get("countries", DEFAULT_COUNTRIES))
        for code in countries:
            if code not in COUNTRIES:
                raise SpecError(f"{where}.countries", f"unknown country {code!r}; available: {', '.join(COUNTRIES)}")
        methods = {str(k): float(v) for k, v in dict(block.get("methods", METHODS)).items()}
        processors = {str(k): tuple(v) for k, v in dict(block.get("processors", {})).items()}
        stories = {str(k): float(v) for k, v in dict(block.get("stories", {})).items()}
        for story in stories:
            if story not in (*STORIES, SPLIT):
                raise SpecError(
                    f"{where}.stories", f"unknown story {story!r}; available: {', '.join((*STORIES, SPLIT))}"
                )
        if sum(v for k, v in stories.items() if k != SPLIT) > 100:
            raise SpecError(f"{where}.stories", "the shares of settled payments add up to more than 100 (percent)")
        used = {m: processors.get(m) or PROCESSORS[m] for m in methods if m in METHODS}
        currencies = {COUNTRIES[c][1] for c, w in countries.items() if w > 0}
        for place, problem in check_world(methods, {**used, **processors}, currencies):
            raise SpecError(f"{where}.{place}", problem)
        return cls(api, statuses, countries, methods, {**PROCESSORS, **processors}, stories)


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


@contextmanager
def _alongside(work: Callable[..., T], *args: Any, parallel: bool) -> Iterator[Callable[[], T]]:
    """Run ``work(*args)`` in a forked process while the block runs; yields a getter of its result.

    Without ``parallel`` (small worlds, or no fork on this platform) it runs here, on entering.
    """
    if not parallel or "fork" not in multiprocessing.get_all_start_methods():
        result = work(*args)
        yield lambda: result
        return
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        future = pool.submit(work, *args)
        yield future.result


class _Picker:
    """A weighted choice prepared once; ``random.choices`` rebuilds its tables on every call."""

    def __init__(self, table: Mapping[str, float]) -> None:
        self.values = list(table)
        self.cumulative = list(accumulate(table.values()))
        self.total = self.cumulative[-1]
        self.last = len(self.values) - 1  # as random.choices: rounding never picks past the end

    def __call__(self, rng: random.Random) -> str:
        return self.values[bisect_right(self.cumulative, rng.random() * self.total, 0, self.last)]


def stable_hex(*parts: object) -> str:
    """Return 32 hex digits derived from ``parts``; the same parts always give the same digits."""
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]


def _uuid_from_hex(h: str) -> str:
    # The same string uuid.UUID(hex=h, version=4) gives, without building the object.
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def _identity(rng: random.Random) -> tuple[str, str]:
    h = f"{rng.getrandbits(128):032x}"
    return h, _uuid_from_hex(h)


def _money(cents: int) -> str:
    text = _MONEY_TEXT.get(cents)
    if text is None:
        whole, part = divmod(abs(cents), 100)
        text = f"{'-' if cents < 0 else ''}{whole}.{part:02d}"
        if len(_MONEY_TEXT) < 100_000:
            _MONEY_TEXT[cents] = text
    return text


#: Amounts repeat (plan prices, taxes, zeros): seeding formats each distinct one once.
_MONEY_TEXT: dict[int, str] = {}


@cache
def _faker(locale: str, weighted: bool = False) -> Faker:
    # Unweighted Faker picks names uniformly instead of by frequency: as realistic to a reader,
    # and ten times cheaper per name, which matters for the tens of thousands of customers of a
    # large world. Tenants keep the weighted generator, so their names (and the credentials
    # derived beside them) stay what they were.
    return Faker(locale, use_weighting=weighted)


def _between(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high]: ``randint`` without its argument checks (millions of draws)."""
    return low + int(rng.random() * (high - low + 1))


def _uniforms(rng: random.Random, count: int) -> npt.NDArray[np.float64]:
    """``count`` uniform draws in [0, 1) from ``rng`` at once, with ``random()``'s 53 bits of precision."""
    bits = np.frombuffer(rng.getrandbits(64 * count).to_bytes(8 * count, "little"), dtype="<u8")
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _compact(typecode: str, values: npt.NDArray[Any]) -> array[int]:
    """A numpy result as the :class:`array.array` pass two indexes: a Python int per read, not a numpy scalar."""
    compact = array(typecode)
    compact.frombytes(values.astype(f"<i{compact.itemsize}").tobytes())
    return compact


def _pick(cumulative: npt.NDArray[Any], draws: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Weighted picks for uniform ``draws``, as :class:`_Picker` makes them one at a time."""
    picks: npt.NDArray[np.int64] = np.minimum(
        np.searchsorted(cumulative, draws * cumulative[-1], side="right"), len(cumulative) - 1
    )
    return picks


def _draw(draws: npt.NDArray[np.float64], low: int, high: int) -> npt.NDArray[np.int64]:
    """Uniform integers in [low, high] for uniform ``draws``, as :func:`_between` makes them one at a time."""
    return low + (draws * (high - low + 1)).astype(np.int64)


def _unless(values: npt.NDArray[Any], present: npt.NDArray[np.bool_]) -> list[Any]:
    """``values`` as Python values, ``None`` where not ``present``."""
    out: list[Any] = values.tolist()
    for i in np.flatnonzero(~present).tolist():
        out[i] = None
    return out


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


class World:
    """The generated entities of one tenant.

    Args:
        config: Statuses, countries and API name from the document.
        seed: The dataset seed.
        tenant: Tenant facts (see :func:`tenant_facts`).
        payments: How many payments to generate.
        as_of: Epoch seconds the world is "now" for: nothing is created after it.
    """

    def __init__(self, config: WorldConfig, seed: int, tenant: Facts, payments: int, as_of: int) -> None:
        self.config = config
        self.tenant = tenant
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
        self.hydrator = Hydrator(self.customers, self.subscriptions, self.invoices, self.users, eager=True)

    # -- entities --------------------------------------------------------------------------

    def _rng(self, part: str) -> random.Random:
        return random.Random(f"{self.seed_key}:{part}")

    def _make_users(self) -> list[Facts]:
        rng = self._rng("users")
        fake = _faker("en_US")
        fake.seed_instance(rng.getrandbits(32))
        users = []
        for i in range(1, 6):
            h, u = _identity(rng)
            first, last = fake.first_name(), fake.last_name()
            domain = self.tenant["slug"].rsplit("-", 1)[0][:24] + ".example"
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
                scale = CURRENCY_SCALE.get(customer["currency"], 1)
                net = round(price * scale * rng.choice((1, 1, 1, 0.9, 1.1, 2)) * 100)
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

    # -- payments --------------------------------------------------------------------------

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
        self.invoices = _Invoices(self)
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
        u = _uniforms(rng, 16 * m).reshape(16, m)
        hexes = rng.getrandbits(128 * m).to_bytes(16 * m, "little").hex() if m else ""
        routes = self._routes

        status = sk.status[js]
        phase = self._phase_of[status]
        created = sk.created[js]
        scheduled, in_flight, settled, failed, voided = (phase == k for k in range(len(PHASES)))
        # Only a gateway submits, keeps an attempt in flight or declines one.
        method = np.where(in_flight | failed, _pick(routes.gateway_cumulative, u[0]), _pick(routes.cumulative, u[0]))
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
        updater = np.where(updated == created, creator, (u[11] * users).astype(np.int64))
        failure = routes.failure_first[method] + (u[12] * routes.failure_count[method]).astype(np.int64)
        installment = sk.installment[js]
        parts = sk.parts[js]
        # A deposit opens an invoice paid in installments; one-off charges and late fees stand alone.
        kind = np.where(
            parts > 1,
            np.where((installment == 1) & (u[13] < 0.4), 1, 0),
            np.where(u[13] < 0.08, 2, np.where(u[13] < 0.12, 3, 0)),
        )  # index into _KINDS

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
            reference = REFERENCES[processor_](h, method_)
            made_by = TRANSACTION_IDS.get(processor_)
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
                        "reference": REFERENCES[second_](h[::-1], methods[me2]),
                    },
                ]
            failure = failures[fl] if fl is not None else None
            manual = method_ not in GATEWAY_METHODS
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
                    "amount": _money(amount_),
                    "subtotal": _money(net_),
                    "tax": _money(gross_ - net_),
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
                    "failure_code": failure.partition(":")[0] if failure else None,
                    "failure_message": failure,
                    "applied_amount": _money(ap),
                    "unapplied_amount": _money(un),
                    "refund_amount": _money(rf),
                    "credit_balance_amount": _money(cb_),
                    "invoice_applied": _money(ia),
                    "created_by": cb,
                    "updated_by": ub,
                    "recorded_by": cb if manual else None,
                    "note": NOTES.get(method_) if manual else None,
                    "credits": [{"amount": _money(cn), "code": f"CN-{h[12:18].upper()}"}] if cn >= 0 else [],
                    "gift_certificates": [{"amount": _money(gc), "code": f"GC-{h[18:24].upper()}"}] if gc >= 0 else [],
                    "tenders": tenders,
                    "label": _label(subscription["plan"], _KINDS[kd], part, parts_),
                }
            )
        return payments

    def hydrate(self, payment: Facts) -> Mapping[str, Any]:
        """Resolve a payment's references to the entities they name, for rendering."""
        return self.hydrator(payment)

    def hydrate_subscription(self, sub: Facts) -> Facts:
        """Resolve a subscription's customer reference."""
        return {**sub, "customer": self.customers[sub["customer"] - 1]}


#: Invoices per stored block: rebuilding a record after a state change reads one block.
INVOICE_BLOCK = 1024


class _Invoices(Sequence[Facts]):
    """A tenant's invoices as parallel arrays; an invoice's facts are built when read.

    A million payments make most of a million invoices: as dicts they would cost gigabytes, and
    stored one row each they would cost a quarter of the seeding time. They are stored as blocks
    of these arrays (:meth:`block`) and read back through :class:`InvoiceBlocks`.
    """

    def __init__(self, world: World) -> None:
        self._world = world
        self.subscription = array("q")
        self.parts = array("b")
        self.total = array("q")
        self.applied = array("q")
        self.issued = array("q")

    def fill(self, **columns: array[int]) -> None:
        """Set the arrays: ``subscription``, ``parts``, ``total``, ``applied``, ``issued``."""
        for name, values in columns.items():
            setattr(self, name, values)

    def __len__(self) -> int:
        return len(self.total)

    def __getitem__(self, k: Any) -> Any:
        w = self._world
        return invoice_facts(
            w.seed_key, k, self.subscription[k], self.parts[k], self.total[k], self.applied[k], self.issued[k],
            w.subscriptions, w.customers,
        )  # fmt: skip

    @property
    def blocks(self) -> int:
        """How many blocks of :data:`INVOICE_BLOCK` invoices there are."""
        return -(-len(self) // INVOICE_BLOCK)

    def block(self, b: int) -> Facts:
        """Invoices ``[b * INVOICE_BLOCK, (b + 1) * INVOICE_BLOCK)`` as lists, for storing."""
        part = slice(b * INVOICE_BLOCK, (b + 1) * INVOICE_BLOCK)
        return {
            "seed_key": self._world.seed_key,
            "subscription": self.subscription[part].tolist(),
            "parts": self.parts[part].tolist(),
            "total": self.total[part].tolist(),
            "applied": self.applied[part].tolist(),
            "issued": self.issued[part].tolist(),
        }


class InvoiceBlocks(Sequence[Facts]):
    """Invoices read back from stored blocks (see :meth:`_Invoices.block`), for rebuilding records.

    Args:
        block: Block number -> the stored block.
        subscriptions: The tenant's subscriptions, indexed by ``seq - 1``.
        customers: The tenant's customers, indexed by ``seq - 1``.
    """

    def __init__(
        self, block: Callable[[int], Facts], subscriptions: Sequence[Facts], customers: Sequence[Facts]
    ) -> None:
        self._block = block
        self._subscriptions = subscriptions
        self._customers = customers

    def __getitem__(self, k: Any) -> Any:
        b = self._block(k // INVOICE_BLOCK)
        i = k % INVOICE_BLOCK
        return invoice_facts(
            b["seed_key"], k, b["subscription"][i], b["parts"][i], b["total"][i], b["applied"][i], b["issued"][i],
            self._subscriptions, self._customers,
        )  # fmt: skip

    def __len__(self) -> int:  # pragma: no cover - only indexing is used
        raise TypeError("stored invoices have no length")


def invoice_facts(
    seed_key: str,
    k: int,
    subscription: int,
    parts: int,
    total: int,
    applied: int,
    issued: int,
    subscriptions: Sequence[Facts],
    customers: Sequence[Facts],
) -> Facts:
    """The facts of invoice ``k`` (0-based) from its compact numbers (amounts in minor units)."""
    sub = subscriptions[subscription]
    customer = customers[sub["customer"] - 1]
    h = stable_hex(seed_key, "invoice", k)
    return {
        "seq": k + 1,
        "hex": h,
        "uuid": _uuid_from_hex(h),
        "number": str(10001 + k),
        "code": f"INV-{h[:4].upper()}-{h[4:8].upper()}-{h[8:12].upper()}",
        "subscription": subscription,
        "parts": parts,
        "customer": customer["seq"],
        "currency": customer["currency"],
        "issue_date": issued,
        "due_date": issued + 14 * DAY,
        "total": _money(total),
        "outstanding": _money(total - applied),
    }


class Hydrator:
    """Resolves payments' references to one tenant's entities; built once, applied to every payment.

    Args:
        customers, subscriptions, invoices, users: The tenant's entities, indexed by ``seq - 1``.
        eager: Resolve the references that are one lookup in a list (customer, creator, updater)
            when hydrating rather than on reading: for entities held in memory (a world being
            seeded), where that is cheaper than resolving them on reading (~1.4 us a payment).
    """

    def __init__(
        self,
        customers: Sequence[Facts],
        subscriptions: Sequence[Facts],
        invoices: Sequence[Facts],
        users: Sequence[Facts],
        eager: bool = False,
    ) -> None:
        def customer(p: Facts) -> Facts:
            found: Facts = customers[int(p["customer"]) - 1]
            return found

        def invoice(p: Facts) -> Facts:
            found: Facts = invoices[int(p["invoice"]) - 1]
            return found

        resolvers: dict[str, Callable[[Facts], Any]] = {
            "customer": customer,
            "subscription": lambda p: {**subscriptions[p["subscription"] - 1], "customer": customer(p)},
            "invoice": lambda p: {**invoice(p), "customer": customer(p)},
            "billing_group": lambda p: customer(p)["billing_group"],
            "created_by": lambda p: users[p["created_by"] - 1],
            "updated_by": lambda p: users[p["updated_by"] - 1],
            "recorded_by": lambda p: None if p["recorded_by"] is None else users[p["recorded_by"] - 1],
            "invoices": lambda p: [{**invoice(p), "applied": p["invoice_applied"]}],
            # Derived lists are not stored: they follow from the facts.
            "allocations": lambda p: (
                p["tenders"]
                or [
                    {
                        "amount": p["amount"],
                        "method": p["method"],
                        "processor": p["processor"],
                        "reference": p["reference"],
                    }
                ]
            ),
            "attributes": _attributes,
            "line_items": lambda p: [
                {"description": p["label"], "quantity": 1, "unit_amount": p["subtotal"], "amount": p["subtotal"]}
            ],
        }
        # The resolvers are a class attribute of this hydrator's own kind of payment: a payment
        # is then made by dict's own constructor, with no __init__ in Python (seeding makes a
        # million; 1 us less each).
        self._kind: type[_Hydrated] = type("Hydrated", (_Hydrated,), {"__slots__": (), "resolvers": resolvers})
        self._references = tuple(resolvers)

        def lookups(hydrated: dict[str, Any], p: Facts) -> None:
            try:  # the same values the resolvers give
                hydrated["customer"] = customers[int(p["customer"]) - 1]
                hydrated["created_by"] = users[p["created_by"] - 1]
                hydrated["updated_by"] = users[p["updated_by"] - 1]
            except (KeyError, IndexError, TypeError, ValueError):
                pass  # what is left resolves on reading (and fails there, if it is read)

        self._lookups = lookups if eager else None

    def __call__(self, payment: Facts) -> Mapping[str, Any]:
        """``payment`` with references resolved on reading: only what a record reads is built.

        With ``eager``, the plain lookups are made already (see the class).
        """
        hydrated = self._kind(payment)
        for key in self._references:
            hydrated.pop(key, None)
        hydrated.facts = payment
        if self._lookups is not None:
            self._lookups(hydrated, payment)
        return hydrated


#: Custom attributes some payments carry, as (name, values): a value is picked per payment.
ATTRIBUTES = (
    ("Sales Channel", ("Online", "Phone", "In store", "Partner")),
    ("Cost Centre", ("CC-100 Operations", "CC-200 Sales", "CC-300 Support")),
)


def _attributes(p: Facts) -> list[dict[str, str]]:
    """A payment's custom attributes: none for most, one or two for about a third (from its ``hex``)."""
    draw = int(p["hex"][26:32], 16)
    if draw % 3:
        return []
    draw //= 3
    chosen = []
    for name, values in ATTRIBUTES[: 1 + draw % 2]:
        draw //= 2
        chosen.append({"name": name, "value": values[draw % len(values)]})
        draw //= len(values)
    return chosen


class _Hydrated(dict[str, Any]):
    """A payment's facts whose references resolve on first read (and are then kept).

    A dict, so that reading a plain fact is a C-level lookup; references are left out of it and
    resolved by ``__missing__``, from the facts as they came (``facts``) with the ``resolvers``
    of the :class:`Hydrator` that made it.
    """

    __slots__ = ("facts",)
    facts: Facts
    resolvers: ClassVar[Mapping[str, Callable[[Facts], Any]]] = {}

    def __missing__(self, key: str) -> Any:
        resolve = self.resolvers.get(key)
        if resolve is None:
            raise KeyError(key)
        value = self[key] = resolve(self.facts)
        return value


@dataclass(frozen=True, slots=True)
class _Skeleton:
    """Pass one's result, one array per fact, indexed in generation order (not creation order).

    Per payment: status index, story of its money (an index into :data:`_STORY_NAMES`: applied
    in full, refunded, partly left unapplied, partly moved to the credit balance, partly covered
    by a credit note or by a gift certificate) and the share of the installment (percent) the
    story's extra money is, creation time, subscription and invoice (0-based), installment
    number (1-based) and its invoice's number of installments, net and gross cents of the
    installment. ``order`` lists the payments by creation time.
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
        # Attempts in flight or declined need a gateway; without one a document's methods all serve.
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


def _gross(net: int, rate: int) -> int:
    return net + (net * rate + 50) // 100


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


#: The facts each entity offers, for validating ``x-paymock`` sources at load time.
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
