"""Payment methods, the processors that take them, and what each processor's references look like.

The world draws a method per payment, then one of the processors the document allows for that
method (``x-paymock.world.processors``). Everything a record shows about the money's route
follows from that pair: whether a gateway was involved (card and direct debit go through one:
they are submitted, can be declined and get a gateway transaction ID; a bank transfer, PayPal
or cash payment is recorded by a person), the reference's format (a Stripe charge is ``ch_…``,
a GoCardless payment ``PM…``), and the decline reasons a failed attempt can have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

#: Method -> default weight among a tenant's payments.
METHODS: dict[str, float] = {"card": 55, "direct_debit": 20, "bank_transfer": 17, "paypal": 5, "cash": 3}
#: Methods whose payments go through a payment gateway (submitted, declined, with a transaction ID).
GATEWAY_METHODS = frozenset({"card", "direct_debit"})
#: Method -> the processors that take it, when a document names none.
PROCESSORS: dict[str, tuple[str, ...]] = {
    "card": ("stripe", "adyen", "braintree"),
    "direct_debit": ("gocardless", "stripe"),
    "bank_transfer": ("bank", "wise"),
    "paypal": ("paypal",),
    "cash": ("manual",),
}
#: Processors that take only some currencies (the others take any of paymock's).
PROCESSOR_CURRENCIES: dict[str, frozenset[str]] = {
    "flutterwave": frozenset({"NGN", "KES", "GHS", "ZAR", "USD", "GBP", "EUR"}),
    "gocardless": frozenset({"GBP", "EUR", "USD", "AUD", "CAD"}),
    "mollie": frozenset({"EUR", "GBP", "USD", "AUD", "CAD"}),
}

#: A reference maker: (32 random hex digits, method) -> the processor's reference.
Reference = Callable[[str, str], str]


def _stripe(h: str, method: str) -> str:
    # Card charges are ch_ objects; direct debits (SEPA, Bacs) are PaymentIntents.
    return f"{'ch' if method == 'card' else 'pi'}_{h[:24]}"


#: Processor -> how its reference for a payment looks.
REFERENCES: dict[str, Reference] = {
    "stripe": _stripe,
    "adyen": lambda h, m: f"{int(h[:13], 16) % 10**16:016d}",  # a 16-digit PSP reference
    "braintree": lambda h, m: h[:8],
    "mollie": lambda h, m: f"tr_{h[:10]}",
    "gocardless": lambda h, m: f"PM{h[:12].upper()}",
    "flutterwave": lambda h, m: f"FLW-{h[:12].upper()}",
    "bank": lambda h, m: f"TRF-{h[:10].upper()}",
    "wise": lambda h, m: str(int(h[:8], 16) % 10**9 + 10**9),
    "paypal": lambda h, m: h[:17].upper(),
    "manual": lambda h, m: f"RCPT-{h[:8].upper()}",
}
#: Processor -> its transaction ID for a payment it took, where that is not the reference itself
#: (Flutterwave's numeric transaction ID beside its ``FLW-`` reference).
TRANSACTION_IDS: dict[str, Reference] = {
    "flutterwave": lambda h, m: str(int(h[12:20], 16) % 10**9 + 10**8),
}

#: Method -> why an attempt can fail (``code: message``); only gateway methods fail.
FAILURES: dict[str, tuple[str, ...]] = {
    "card": (
        "card_declined: Your card was declined.",
        "insufficient_funds: Your card has insufficient funds.",
        "expired_card: Your card has expired.",
        "incorrect_cvc: Your card's security code is incorrect.",
        "processing_error: An error occurred while processing the payment. Try again later.",
        "authentication_required: The bank requires the customer to authenticate (3-D Secure).",
    ),
    "direct_debit": (
        "mandate_cancelled: The direct debit mandate was cancelled by the customer.",
        "bank_account_closed: The bank account has been closed.",
        "insufficient_funds: The account had insufficient funds when the debit was collected.",
        "refer_to_payer: The bank refused the debit; the customer should contact their bank.",
    ),
}
#: Method -> the note of the person who recorded a payment that came without a gateway.
NOTES: dict[str, str] = {
    "bank_transfer": "Bank transfer reconciled against statement",
    "paypal": "PayPal payment recorded from the PayPal account",
    "cash": "Cash received at the front desk",
}

#: Stories a settled payment's money can tell, besides being applied in full to its invoice.
#: A document declares the share (percent) of settled payments of each (``x-paymock.world.stories``).
STORIES = ("refunded", "unapplied", "credit-balance", "credit-note", "gift-certificate")
#: Not a story of the money's total but of its route: paid with two methods.
SPLIT = "split"


def check_world(
    methods: Mapping[str, float],
    processors: Mapping[str, tuple[str, ...]],
    currencies: set[str],
) -> list[tuple[str, str]]:
    """Problems with a document's methods and processors: ``(where, message)`` pairs."""
    problems = []
    for method in methods:
        if method not in METHODS:
            problems.append(("methods", f"unknown method {method!r}; available: {', '.join(METHODS)}"))
    for method, names in processors.items():
        if method not in METHODS:
            problems.append(("processors", f"unknown method {method!r}; available: {', '.join(METHODS)}"))
        if not names:
            problems.append((f"processors.{method}", "needs at least one processor"))
        for name in names:
            if name not in REFERENCES:
                problems.append(
                    (f"processors.{method}", f"unknown processor {name!r}; available: {', '.join(REFERENCES)}")
                )
            elif not currencies <= PROCESSOR_CURRENCIES.get(name, currencies):
                missing = ", ".join(sorted(currencies - PROCESSOR_CURRENCIES[name]))
                problems.append(
                    (f"processors.{method}", f"{name!r} takes no {missing}; the countries declared need it")
                )
    return problems
