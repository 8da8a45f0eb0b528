"""The compiled document model: frozen dataclasses an API, its collections and operations become.

Everything here is data made once at load (by :mod:`mock_server.spec.loader`); a request only
reads it. The contract kit reads it too, as the document's declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mock_server.codegen import RenderRow
from mock_server.columns import ColumnType, SqlValue
from mock_server.error_format import ErrorFormat
from mock_server.errors import SpecError
from mock_server.lifecycle.schedule import Lifecycle
from mock_server.params import BodySpec, ParamSpec
from mock_server.query import QueryReader
from mock_server.records import Render
from mock_server.store.base import CREATION
from mock_server.world import WorldConfig

if TYPE_CHECKING:
    from mock_server.actions import Action
    from mock_server.auth import AuthScheme


@dataclass(frozen=True, slots=True)
class Column:
    """A typed, indexed projection of a record field.

    Attributes:
        name: Name used in ``x-paymock`` (filters, sorts, scopes), and the store's name of the column.
        ctype: The column type.
        path: Path of the field inside the rendered record.
        parse: strptime layout of the field, when not ISO 8601.
        creation_ordered: Values are assigned in creation order (``creation-order: true``).
    """

    name: str
    ctype: ColumnType
    path: tuple[str | int, ...]
    parse: str | None
    creation_ordered: bool = False

    @property
    def key(self) -> str:
        """What the store calls this column in conditions (its name)."""
        return self.name

    @property
    def order_key(self) -> str:
        """What an order on this column names in the store.

        A creation-ordered column sorts as the creation order does; ordering by it instead keeps
        a copy of the column out of every index that breaks ties by it, and lets the default
        order of a tenant walk an index of the tenant alone.
        """
        return CREATION if self.creation_ordered else self.name

    @property
    def sql(self) -> str:
        """The old name of :attr:`key`, kept for callers written before the store had an interface."""
        return self.key

    @property
    def order_sql(self) -> str:
        """The old name of :attr:`order_key`, kept for callers written before the store had an interface."""
        return self.order_key

    def extract(self, doc: Any) -> SqlValue:
        """The stored value of this column for a rendered record."""
        value = doc
        for step in self.path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return None
        return self.ctype.load(value, self.parse)


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    """A collection the API serves, with its compiled record renderer.

    Attributes:
        name: Collection name (``payments``).
        table: SQL table name.
        entity: Entity the records project (``payment``, ``subscription``).
        size: Default records per tenant (payment collections).
        id_field: Record property holding the identifier.
        statuses: Vendor status -> (weight, phase).
        columns: Column name -> column.
        render: Facts environment -> record.
        extract: Record -> every column's stored value, in ``columns``' order.
        render_row: Facts environment -> (record, its columns' values): both of the above in one call.
        lifecycle: How its records move in sandbox time (``None``: they never do).
        fixture_statuses: Vendor-neutral status word of a fixture -> this collection's status
            (``x-paymock.collections.<name>.fixtures.statuses``; see :mod:`mock_server.fixtures`).
    """

    name: str
    table: str
    entity: str
    size: int | None
    id_field: str
    statuses: Mapping[str, tuple[float, str]]
    columns: Mapping[str, Column]
    render: Render
    extract: Callable[[Any], list[SqlValue]]
    render_row: RenderRow
    lifecycle: Lifecycle | None = None
    fixture_statuses: Mapping[str, str] = field(default_factory=dict)

    def column(self, name: str, where: str) -> Column:
        """Look a column up by name, or fail naming the declared ones."""
        col = self.columns.get(name)
        if col is None:
            raise SpecError(
                where,
                f"unknown column {name!r} of collection {self.name!r}; declared: {', '.join(self.columns)}",
            )
        return col


@dataclass(frozen=True, slots=True)
class Selector:
    """Where a request names its tenant, and what that value is for each tenant."""

    location: str
    name: str
    template: str
    required: bool
    mismatch: str


@dataclass(frozen=True, slots=True)
class ResponseSettings:
    """Response behaviour shared by every operation of an API."""

    media_type: str = "application/json"
    echo_headers: tuple[str, ...] = ()
    gzip_min_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation, compiled.

    Attributes:
        api: Short API name.
        method: Upper-case HTTP method.
        path: OpenAPI path template.
        rule: The same path as a Flask URL rule.
        operation_id: The document's ``operationId``.
        params: Parameter specs, in document order.
        body: Request body spec, if the operation takes one.
        action: The compiled action that answers it.
        secured: Whether the operation needs credentials.
        query: Reads the query string: the declared names, the ignored ones, repeated ones.
    """

    api: str
    method: str
    path: str
    rule: str
    operation_id: str
    params: tuple[ParamSpec, ...]
    body: BodySpec | None
    action: Action
    secured: bool
    query: QueryReader


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """One vendor API: the parsed document and everything compiled from it.

    ``validate_first``: parameters are validated before credentials are checked (a framework
    that validates a route's parameters before the route checks the key), not after.
    """

    name: str
    file: Path
    document: Mapping[str, Any]
    title: str
    tenants: int
    selectors: tuple[Selector, ...]
    auth: AuthScheme
    errors: ErrorFormat
    responses: ResponseSettings
    collections: Mapping[str, CollectionSpec]
    operations: tuple[OperationSpec, ...]
    world: WorldConfig
    payments_collection: str | None = field(default=None)
    validate_first: bool = False
