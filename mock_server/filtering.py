"""Filter operators: how a query parameter with ``x-paymock: {filter: column}`` narrows a list.

An operator turns a parameter's value into a :class:`~mock_server.store.Condition`, a typed value
(column, operator, bound values) that each store backend spells in its own SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_server.columns import ColumnType
from mock_server.errors import ApiError
from mock_server.registry import Registry
from mock_server.store.base import Condition

Operator = Callable[[str, ColumnType, Any], Condition]
FILTER_OPERATORS: Registry[Operator] = Registry("filter operator")


@FILTER_OPERATORS.register("eq")
def _eq(column: str, ctype: ColumnType, value: Any) -> Condition:
    if value is None:
        return Condition(column, "null")
    start, end = ctype.bound(value, "start"), ctype.bound(value, "end")
    if start != end:  # a date against a date-time column: the whole day
        return Condition(column, "between", (start, end))
    return Condition(column, "eq", (start,))


@FILTER_OPERATORS.register("gte")
def _gte(column: str, ctype: ColumnType, value: Any) -> Condition:
    return Condition(column, "gte", (ctype.bound(value, "start"),))


@FILTER_OPERATORS.register("lte")
def _lte(column: str, ctype: ColumnType, value: Any) -> Condition:
    return Condition(column, "lte", (ctype.bound(value, "end"),))


@dataclass(frozen=True, slots=True)
class Filter:
    """A parameter's filter role, compiled at load.

    Attributes:
        param: Parameter name.
        column: The store's name of the column (see :mod:`mock_server.store.base`).
        ctype: The column's type.
        op: The operator.
        null_literal: A parameter value that means "the field is null", if the API has one.
    """

    param: str
    column: str
    ctype: ColumnType
    op: Operator
    null_literal: str | None = None
    op_name: str = "eq"

    @property
    def is_range(self) -> bool:
        """Whether the filter bounds a range rather than naming a value."""
        return self.op_name != "eq"

    def condition(self, value: Any) -> Condition:
        """The store condition for one parameter value.

        Raises:
            ApiError: ``invalid_parameter`` when the value passed the schema (a pattern, say) but
                is not a value of the column's type, such as the date ``0000-00-00``.
        """
        if self.null_literal is not None and value == self.null_literal:
            return Condition(self.column, "null")
        try:
            return self.op(self.column, self.ctype, value)
        except (ValueError, OverflowError) as exc:
            raise ApiError.of(
                "invalid_parameter",
                f"Invalid value {value!r} for query parameter {self.param!r}: {exc}",
                "value_error",
                ("query", self.param),
            ) from None
