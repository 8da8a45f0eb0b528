"""How a list operation is declared: where its items sit, how it pages, filters, sorts and nests.

These are plain facts read from ``x-paymock`` (see :mod:`contracts.declarations`), in the terms
the promises check them: JSON paths into an envelope, parameter names, columns and directions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from contracts.semantics import Field, JsonPath, lookup

__all__ = [
    "Envelope",
    "Field",
    "FilterDecl",
    "JsonPath",
    "Paging",
    "ScopeDecl",
    "SortChoice",
    "SortDecl",
    "SortKey",
    "SortTerm",
    "lookup",
]


@dataclass(frozen=True, slots=True)
class Envelope:
    """Where each template variable sits in a response body (``$items`` -> ``payments``).

    Attributes:
        paths: Variable name (without ``$``) -> path in the body. ``items`` may be ``()``: the
            whole body is the list.
    """

    paths: Mapping[str, JsonPath]

    @classmethod
    def from_template(cls, source: Any) -> Envelope:
        """Find every ``$variable`` of an envelope template, including ``{$when, href}`` links."""
        found: dict[str, JsonPath] = {}

        def visit(node: Any, path: JsonPath) -> None:
            if isinstance(node, str) and node.startswith("$"):
                found.setdefault(node[1:], path)
            elif isinstance(node, Mapping):
                for key, value in node.items():
                    if key == "$when":
                        continue
                    visit(value, (*path, str(key).rstrip("?")))
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    visit(value, (*path, i))

        visit(source, ())
        return cls(found)

    def has(self, name: str) -> bool:
        """Whether the envelope carries variable ``name``."""
        return name in self.paths

    def get(self, body: Any, name: str) -> Any:
        """The value of variable ``name`` in ``body`` (``None`` when absent or not declared)."""
        path = self.paths.get(name)
        return None if path is None else lookup(body, path)


@dataclass(frozen=True, slots=True)
class Paging:
    """A list's pagination, as its style declares it, with the page-size limits of the parameter's schema.

    Attributes:
        style: The style's name (for reports).
        size_param: The page-size parameter (``limit``, ``pageSize``).
        position_param: The parameter that says where a page starts (a cursor, ``from``, ``offset``, ``page``).
        position: What it names: ``id`` (a record), ``offset``, ``page``, or ``none`` (one page).
        inclusive: For ``id``: whether the page starts at the named record.
        first: The first page's number, for ``page``.
        default: Page size when none is requested.
        minimum: Smallest page size the document allows.
        maximum: Largest page size the document allows.
        cap: Whether a larger size is capped (``True``) or refused (``False``).
    """

    style: str
    size_param: str | None = None
    position_param: str | None = None
    position: str = "none"
    inclusive: bool = False
    first: int = 1
    default: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    cap: bool = False

    @property
    def paginated(self) -> bool:
        """Whether a list can take more than one page."""
        return self.position != "none"


@dataclass(frozen=True, slots=True)
class FilterDecl:
    """A filter parameter: ``param`` narrows the list to items whose ``field`` passes ``op``."""

    param: str
    field: Field
    op: str
    null_literal: str | None
    schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SortKey:
    """One key of an order: a field and its direction."""

    field: Field
    descending: bool

    def describe(self) -> str:
        """``amount desc``."""
        return f"{self.field.name} {'desc' if self.descending else 'asc'}"


@dataclass(frozen=True, slots=True)
class SortChoice:
    """One way to ask for an order: the parameter value (``None``: send none) and the keys it means."""

    value: str | None
    keys: tuple[SortKey, ...]

    def describe(self) -> str:
        """``sort='-amount,+number' (amount asc, number desc)``."""
        keys = ", ".join(k.describe() for k in self.keys)
        return f"default order ({keys})" if self.value is None else f"{self.value!r} ({keys})"


@dataclass(frozen=True, slots=True)
class SortTerm:
    """One value the sort parameter accepts alone (``-amount``), and the order it asks for."""

    value: str
    field: str
    keys: tuple[SortKey, ...]


@dataclass(frozen=True, slots=True)
class SortDecl:
    """How a list is ordered, and the values its sort parameter takes.

    Attributes:
        style: The style's name (for reports).
        param: The sort parameter (``None`` for a fixed order).
        default: The order when no parameter is sent.
        terms: Every value the parameter accepts alone.
        max_terms: How many terms of distinct fields one value may join.
        separator: What joins them.
    """

    style: str
    param: str | None
    default: tuple[SortKey, ...]
    terms: tuple[SortTerm, ...] = ()
    max_terms: int = 1
    separator: str = ","

    def term(self, value: str) -> SortTerm:
        """The term the parameter value ``value`` names (``KeyError`` when it names none)."""
        found = next((t for t in self.terms if t.value == value), None)
        if found is None:
            raise KeyError(f"{value!r} is not a value of {self.param!r}; values: {[t.value for t in self.terms]}")
        return found

    def choice(self, terms: Sequence[SortTerm]) -> SortChoice:
        """The choice that joins ``terms`` (of distinct fields) into one parameter value."""
        value = self.separator.join(t.value for t in terms)
        return SortChoice(value, tuple(k for t in terms for k in t.keys))

    def explicit(self) -> list[SortChoice]:
        """The default order, every term alone, and (where terms combine) two fields joined."""
        out = [SortChoice(None, self.default)]
        if self.param is None:
            return out
        out += [self.choice([t]) for t in self.terms]
        pair = [t for i, t in enumerate(self.terms) if all(t.field != u.field for u in self.terms[:i])][:2]
        if self.max_terms > 1 and len(pair) == 2:
            out.append(self.choice(pair))
        return out

    def orders(self) -> st.SearchStrategy[SortChoice]:
        """Draw a value of the sort parameter: up to ``max_terms`` terms of distinct fields."""
        if self.param is None or not self.terms:
            return st.just(SortChoice(None, self.default))
        return st.lists(
            st.sampled_from(self.terms), min_size=1, max_size=self.max_terms, unique_by=lambda t: t.field
        ).map(self.choice)


@dataclass(frozen=True, slots=True)
class ScopeDecl:
    """A path parameter that narrows a list to one parent (an invoice's payments)."""

    param: str
    field: Field
    missing_is_empty: bool
