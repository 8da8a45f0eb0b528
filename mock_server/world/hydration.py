"""Payments' references resolved to the entities they name, lazily: only what a record reads is built."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from mock_server.world.facts import Facts
from mock_server.world.invoices import INVOICE_FACTS, INVOICE_OUTSTANDING


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
            found: Facts = p.get(INVOICE_FACTS) or invoices[int(p["invoice"]) - 1]
            # The clock keeps what is still owed on a payment's invoice in the payment (every
            # payment of the invoice alike), once a move changed it; the stored invoice is as seeded.
            shown = p.get(INVOICE_OUTSTANDING)
            return found if shown is None else {**found, "outstanding": shown}

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
