"""What a world is made of: lifecycle phases, countries, plans, and a document's ``world`` block."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mock_server.errors import SpecError, reject_unknown_keys
from mock_server.world.methods import GATEWAY_METHODS, METHODS, PROCESSORS, SPLIT, STORIES, check_world

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
#: Currency -> its prices as a percentage of the USD-like list price (others: 100 %).
CURRENCY_SCALE = {"NGN": 150_000, "KES": 13_000, "GHS": 1500, "ZAR": 1800, "AUD": 150, "CAD": 140, "GBP": 80}
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
        attempts = [s for s, (weight, phase) in statuses.items() if weight > 0 and phase in ("in_flight", "failed")]
        if attempts and not any(w > 0 and m in GATEWAY_METHODS for m, w in methods.items()):
            raise SpecError(
                f"{where}.methods",
                f"statuses {', '.join(attempts)} are attempts in flight or declined, which only a gateway "
                f"method makes; give {' or '.join(sorted(GATEWAY_METHODS))} a weight",
            )
        return cls(api, statuses, countries, methods, {**PROCESSORS, **processors}, stories)
