"""Sort styles: how an operation orders its list, from ``x-paymock.sort``.

Every order ends with the creation order (the primary key) as a tie-breaker, so it is total and
pages never overlap or skip. A requested order (``signed-fields``) first breaks ties by the
default order, in the direction of its first key: that is what a vendor's own secondary order
most plausibly is, and it lets one index per field serve both "filter on it" and "sort by it".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mock_server.declarations import SortDeclaration, SortTerm
from mock_server.errors import ApiError, SpecError
from mock_server.registry import Registry

#: A sort key: (SQL column, descending?).
SortKey = tuple[str, bool]


class Sorter(Protocol):
    """Turns the request's query values into an order."""

    @property
    def param(self) -> str | None:
        """The query parameter carrying the sort, if any."""

    def order(self, raw: str | None) -> list[SortKey]:
        """Return the sort keys for the raw parameter value (``None`` when absent)."""

    def declaration(self) -> SortDeclaration:
        """The parameter, the values it accepts and the orders they produce, as data."""


SortFactory = Callable[[Mapping[str, Any], str, Callable[[str, str], str]], Sorter]
SORT_STYLES: Registry[SortFactory] = Registry("sort style")


def _direction(value: Any, where: str) -> bool:
    if value not in ("asc", "desc"):
        raise SpecError(where, f"direction must be 'asc' or 'desc', got {value!r}")
    return bool(value == "desc")


@dataclass(frozen=True, slots=True)
class FixedSort:
    """The documented order, with no parameter."""

    keys: tuple[SortKey, ...]
    param: str | None = None

    def order(self, raw: str | None) -> list[SortKey]:
        """The fixed order."""
        return list(self.keys)

    def declaration(self) -> SortDeclaration:
        """One order, no parameter."""
        return SortDeclaration("fixed", None, self.keys, orders=(self.keys,))


@SORT_STYLES.register("fixed")
def _fixed(block: Mapping[str, Any], where: str, column: Callable[[str, str], str]) -> Sorter:
    return FixedSort(
        (
            (
                column(block.get("column", ""), f"{where}.column"),
                _direction(block.get("direction"), f"{where}.direction"),
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class DirectionSort:
    """One column; a parameter says which direction (e.g. ``order_by=asc|desc``)."""

    param: str | None
    column: str
    values: Mapping[str, bool]
    default: bool

    def order(self, raw: str | None) -> list[SortKey]:
        """Column in the requested direction (values were checked by the parameter's schema)."""
        if raw is None:
            return [(self.column, self.default)]
        desc = self.values.get(raw)
        if desc is None:
            raise ApiError.of(
                "invalid_parameter",
                f"Invalid value {raw!r} for query parameter {self.param!r}: "
                f"allowed values are {', '.join(self.values)}",
                "enum",
                ("query", self.param or ""),
            )
        return [(self.column, desc)]

    def declaration(self) -> SortDeclaration:
        """One term per direction value."""
        terms = tuple(SortTerm(raw, self.column, ((self.column, desc),)) for raw, desc in self.values.items())
        orders = (tuple(self.order(None)), *(t.keys for t in terms))
        return SortDeclaration("direction", self.param, ((self.column, self.default),), terms, orders=orders)


@SORT_STYLES.register("direction")
def _direction_style(block: Mapping[str, Any], where: str, column: Callable[[str, str], str]) -> Sorter:
    values = block.get("values", {"asc": "asc", "desc": "desc"})
    if not isinstance(values, dict):
        raise SpecError(f"{where}.values", "must map asc/desc to the parameter's values")
    return DirectionSort(
        param=_param(block, where),
        column=column(block.get("column", ""), f"{where}.column"),
        values={str(v): k == "desc" for k, v in values.items()},
        default=_direction(block.get("default", "desc"), f"{where}.default"),
    )


@dataclass(frozen=True, slots=True)
class SignedFieldsSort:
    """``sort=<op>field[,<op>field]``: an operator per field (``-`` / ``+`` or any pair the document names)."""

    param: str | None
    fields: Mapping[str, str]
    ascending: str
    descending: str
    bare_desc: bool
    max_fields: int
    default: tuple[SortKey, ...]

    def order(self, raw: str | None) -> list[SortKey]:
        """Parse the parameter value into sort keys, refusing unknown fields and too many keys."""
        if raw is None:
            return list(self.default)
        loc = ("query", self.param or "")
        if raw.strip() == "":
            raise ApiError.of(
                "invalid_parameter",
                f"Invalid value {raw!r} for query parameter {self.param!r}: name at least one sortable field "
                f"({', '.join(self.fields)}), or leave the parameter out for the default order",
                "value_error",
                loc,
            )
        terms = raw.split(",")
        if len(terms) > self.max_fields:
            raise ApiError.of(
                "invalid_parameter",
                f"Invalid value {raw!r} for query parameter {self.param!r}: "
                f"at most {self.max_fields} sort fields are allowed, got {len(terms)}",
                "value_error",
                loc,
            )
        keys: list[SortKey] = []
        seen: set[str] = set()
        for term in terms:
            # A '+' that was not percent-encoded arrives as a space: it still means '+'.
            op, name = term[:1], term[1:]
            if op == " " and term.strip():
                op, name = "+", term.strip().lstrip("+")
            if op == self.ascending:
                desc = False
            elif op == self.descending:
                desc = True
            else:
                name, desc = term.strip(), self.bare_desc
            name = name.strip()
            if name not in self.fields:
                raise ApiError.of(
                    "invalid_parameter",
                    f"Invalid value {raw!r} for query parameter {self.param!r}: {name!r} is not a sortable field; "
                    f"sortable fields are {', '.join(self.fields)} (prefix '{self.ascending}' for ascending, "
                    f"'{self.descending}' for descending)",
                    "value_error",
                    loc,
                )
            if name in seen:
                raise ApiError.of(
                    "invalid_parameter",
                    f"Invalid value {raw!r} for query parameter {self.param!r}: {name!r} is given twice",
                    "value_error",
                    loc,
                )
            seen.add(name)
            keys.append((self.fields[name], desc))
        keys += self.ties(keys)
        # The primary key is unique: keys after it (a creation-ordered field, which sorts as
        # the key, followed by another) could never decide an order.
        cut = next((i for i, (col, _) in enumerate(keys) if col == "pk"), len(keys))
        return keys[: cut + 1]

    def declaration(self) -> SortDeclaration:
        """Three terms per field: with the ascending operator, the descending one, and bare."""
        terms = []
        for name, column in self.fields.items():
            for value, desc in ((f"{self.ascending}{name}", False), (f"{self.descending}{name}", True)):
                terms.append(SortTerm(value, name, ((column, desc),)))
            terms.append(SortTerm(name, name, ((column, self.bare_desc),)))
        orders = dict.fromkeys([tuple(self.order(None)), *(tuple(self.order(t.value)) for t in terms)])
        return SortDeclaration(
            "signed-fields", self.param, self.default, tuple(terms), self.max_fields, ",", tuple(orders)
        )

    def ties(self, keys: list[SortKey]) -> list[SortKey]:
        """The default order's columns not already in ``keys``, in the direction of the first key."""
        used = {col for col, _ in keys}
        return [(col, keys[0][1]) for col, _ in self.default if col not in used]


@SORT_STYLES.register("signed-fields")
def _signed(block: Mapping[str, Any], where: str, column: Callable[[str, str], str]) -> Sorter:
    fields = block.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise SpecError(f"{where}.fields", "must map each sortable field name to a column")
    cols = {str(k): column(str(v), f"{where}.fields.{k}") for k, v in fields.items()}
    default = []
    for i, pair in enumerate(block.get("default", [])):
        if not (isinstance(pair, list) and len(pair) == 2 and pair[0] in cols):
            raise SpecError(
                f"{where}.default[{i}]",
                f"must be [field, asc|desc] with a field of: {', '.join(cols)}",
            )
        default.append((cols[pair[0]], _direction(pair[1], f"{where}.default[{i}]")))
    bare = block.get("bare", "desc")
    return SignedFieldsSort(
        param=_param(block, where),
        fields=cols,
        ascending=str(block.get("ascending", "-")),
        descending=str(block.get("descending", "+")),
        bare_desc=_direction(bare, f"{where}.bare"),
        max_fields=int(block.get("max-fields", 1)),
        default=tuple(default),
    )


def _param(block: Mapping[str, Any], where: str) -> str:
    param = block.get("param")
    if not isinstance(param, str):
        raise SpecError(f"{where}.param", "must name the query parameter that carries the sort")
    return param
