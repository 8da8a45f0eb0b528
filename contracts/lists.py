"""How a list operation is declared: where its items sit, how it pages, filters, sorts and nests.

These are plain facts read from ``x-paymock`` (see :mod:`contracts.declarations`), in the terms
the promises check them: JSON paths into an envelope, parameter names, columns and directions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mock_server.spec import Column

#: A path into a JSON document: keys and list indexes.
JsonPath = tuple[str | int, ...]


def lookup(doc: Any, path: JsonPath) -> Any:
    """The value at ``path`` in ``doc``, or ``None`` when any step is missing or null."""
    value = doc
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return None
        elif not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


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
    """A list's pagination style and the parameters it reads.

    Attributes:
        style: ``cursor``, ``from-id``, ``offset``, ``page-number`` or ``none``.
        size_param: The page-size parameter (``limit``, ``pageSize``).
        position_param: The cursor, ``from``, ``offset`` or ``page`` parameter.
        default: Page size when none is requested.
        minimum: Smallest page size the document allows.
        maximum: Largest page size the document allows.
        cap: Whether a larger size is capped (``True``) or refused (``False``).
    """

    style: str
    size_param: str | None = None
    position_param: str | None = None
    default: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    cap: bool = False


@dataclass(frozen=True, slots=True)
class FilterDecl:
    """A filter parameter: ``param`` narrows the list to items whose ``column`` passes ``op``."""

    param: str
    column: Column
    op: str
    null_literal: str | None
    schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SortKey:
    """One key of an order: a column and its direction."""

    column: Column
    descending: bool

    def describe(self) -> str:
        """``amount desc``."""
        return f"{self.column.name} {'desc' if self.descending else 'asc'}"


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
class SortDecl:
    """How a list is ordered, and the values its sort parameter takes.

    Attributes:
        style: ``fixed``, ``direction`` or ``signed-fields``.
        param: The sort parameter (``None`` for a fixed order).
        default: The order when no parameter is sent.
        fields: Sortable field name -> column (signed-fields).
        ascending: The ascending operator (signed-fields) or parameter value (direction).
        descending: The descending operator or parameter value.
        bare_desc: Whether a field without operator sorts descending (signed-fields).
        max_fields: How many fields one request may combine.
        column: The one column of a direction sort.
    """

    style: str
    param: str | None
    default: tuple[SortKey, ...]
    fields: Mapping[str, Column] = field(default_factory=dict)
    ascending: str = "asc"
    descending: str = "desc"
    bare_desc: bool = True
    max_fields: int = 1
    column: Column | None = None

    def signed(self, terms: Sequence[tuple[str, str]]) -> SortChoice:
        """The choice for signed-fields ``terms``: (field, ``asc``/``desc``/``bare``) pairs."""
        values, keys = [], []
        for name, how in terms:
            op = {"asc": self.ascending, "desc": self.descending}.get(how, "")
            desc = self.bare_desc if how == "bare" else how == "desc"
            values.append(f"{op}{name}")
            keys.append(SortKey(self.fields[name], desc))
        return SortChoice(",".join(values), tuple(keys))

    def directions(self) -> list[SortChoice]:
        """Both choices of a direction sort."""
        assert self.column is not None
        return [
            SortChoice(self.ascending, (SortKey(self.column, False),)),
            SortChoice(self.descending, (SortKey(self.column, True),)),
        ]


@dataclass(frozen=True, slots=True)
class ScopeDecl:
    """A path parameter that narrows a list to one parent (an invoice's payments)."""

    param: str
    column: Column
    missing_is_empty: bool
