"""A tenant's invoices: compact arrays while generating, stored in blocks, facts built when read."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import Any

from mock_server.world.config import DAY
from mock_server.world.draws import _money, _uuid_from_hex, stable_hex
from mock_server.world.facts import Facts

#: Invoices per stored block: rebuilding a record after a state change reads one block.
INVOICE_BLOCK = 1024
#: The payment fact holding its invoice's outstanding amount once the sandbox clock changed it
#: (absent: as the stored invoice says). Stored invoices are never written after seeding.
INVOICE_OUTSTANDING = "invoice_outstanding"
#: The payment fact holding the facts of an invoice made after seeding (a new instalment's): such
#: an invoice is in no stored block, so its one payment carries it (see ``Hydrator``).
INVOICE_FACTS = "invoice_facts"


class _Invoices(Sequence[Facts]):
    """A tenant's invoices as parallel arrays; an invoice's facts are built when read.

    A million payments make most of a million invoices: as dicts they would cost gigabytes, and
    stored one row each they would cost a quarter of the seeding time. They are stored as blocks
    of these arrays (:meth:`block`) and read back through :class:`InvoiceBlocks`.

    Args:
        seed_key: The world's seed key (each invoice's identifiers derive from it).
        subscriptions: The tenant's subscriptions, indexed by ``seq - 1``.
        customers: The tenant's customers, indexed by ``seq - 1``.
    """

    def __init__(self, seed_key: str, subscriptions: Sequence[Facts], customers: Sequence[Facts]) -> None:
        self._seed_key = seed_key
        self._subscriptions = subscriptions
        self._customers = customers
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
        return invoice_facts(
            self._seed_key, k, self.subscription[k], self.parts[k], self.total[k], self.applied[k], self.issued[k],
            self._subscriptions, self._customers,
        )  # fmt: skip

    @property
    def blocks(self) -> int:
        """How many blocks of :data:`INVOICE_BLOCK` invoices there are."""
        return -(-len(self) // INVOICE_BLOCK)

    def block(self, b: int) -> Facts:
        """Invoices ``[b * INVOICE_BLOCK, (b + 1) * INVOICE_BLOCK)`` as lists, for storing."""
        part = slice(b * INVOICE_BLOCK, (b + 1) * INVOICE_BLOCK)
        return {
            "seed_key": self._seed_key,
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


def cents(money: str) -> int:
    """Minor units of an amount as the world writes it (``"-12.50"``, see ``_money``)."""
    whole, _, part = money.partition(".")
    units = int(whole) * 100
    return units - int(part or 0) if money.startswith("-") else units + int(part or 0)


def money(amount: int) -> str:
    """An amount in minor units as the world writes it (``-1250`` -> ``"-12.50"``)."""
    return _money(amount)


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
