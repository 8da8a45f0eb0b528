"""Load an OpenAPI document and its ``x-paymock`` block into a frozen model, once.

Everything that can be checked or compiled ahead of a request is done here: the document is
validated with openapi-spec-validator, ``$ref``s are resolved, parameter validators, filters,
sorters, paginators, envelopes, record renderers and the error format are compiled. A mistake
in a document is a :class:`SpecError` naming the file and the dotted path, never a failure
while serving.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mock_server.codegen import RenderRow, compile_columns, compile_record, compile_row
from mock_server.columns import COLUMN_TYPES, ColumnType, SqlValue
from mock_server.error_format import ErrorFormat
from mock_server.errors import SpecError, reject_unknown_keys
from mock_server.filtering import FILTER_OPERATORS, Filter
from mock_server.lifecycle.schedule import Lifecycle, load_lifecycle
from mock_server.params import BodySpec, ParamSpec, compile_body, compile_param
from mock_server.query import QueryReader, QueryRules
from mock_server.records import Context, Render
from mock_server.store.base import CREATION, RECORD_ID
from mock_server.world import PAYMENT_FACTS, PHASES, TIME_FACTS, WorldConfig
from mock_server.world.own import load_fixture_statuses

if TYPE_CHECKING:
    from mock_server.actions import Action
    from mock_server.auth import AuthScheme

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
ROOT_KEYS = {"name", "tenancy", "auth", "errors", "responses", "collections", "world", "query"}


def openapi_dir() -> Path:
    """The directory holding the bundled documents (the repository's ``openapi/``)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "openapi", here / "_openapi"):
        if candidate.is_dir():
            return candidate
    raise SpecError(str(here), "cannot find the bundled openapi/ directory")


def available_apis() -> list[str]:
    """Short names of the bundled APIs, sorted."""
    return sorted(p.stem for p in openapi_dir().glob("*.yaml"))


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


class Resolver:
    """Resolves local ``$ref``s (``#/components/...``), the only kind the documents use."""

    def __init__(self, document: Mapping[str, Any], where: str) -> None:
        self.document = document
        self.where = where

    def lookup(self, ref: str) -> Any:
        """Return the node a ``$ref`` points at."""
        if not ref.startswith("#/"):
            raise SpecError(self.where, f"only local $refs are supported, got {ref!r}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                raise SpecError(self.where, f"$ref {ref!r} does not resolve")
            node = node[part]
        return node

    def resolve(self, node: Any, seen: tuple[str, ...] = ()) -> Any:
        """Return ``node`` with every ``$ref`` replaced by a resolved copy of its target."""
        if isinstance(node, Mapping):
            if "$ref" in node:
                ref = node["$ref"]
                if ref in seen:
                    raise SpecError(self.where, f"recursive $ref {ref!r} is not supported in records")
                return self.resolve(self.lookup(ref), (*seen, ref))
            return {k: self.resolve(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, seen) for v in node]
        return node


def _mapping(node: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(node, Mapping):
        raise SpecError(where, f"must be a mapping, got {type(node).__name__}")
    return node


#: Column names the store uses for itself: the creation order and the record's ID.
RESERVED_COLUMNS = (CREATION, RECORD_ID)


def _load_columns(block: Mapping[str, Any], table: str, where: str) -> dict[str, Column]:
    columns = {}
    for name, col in _mapping(block, where).items():
        cwhere = f"{where}.{name}"
        col = _mapping(col, cwhere)
        reject_unknown_keys(col, {"path", "type", "parse", "creation-order"}, cwhere)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SpecError(cwhere, "column names are identifiers (letters, digits, _)")
        path = tuple(int(p) if p.isdigit() else p for p in str(col.get("path", name)).split("."))
        if name in RESERVED_COLUMNS:
            raise SpecError(cwhere, f"{name!r} is reserved by the store; name the column otherwise")
        columns[name] = Column(
            name=name,
            ctype=COLUMN_TYPES.get(col.get("type", "text"), f"{cwhere}.type"),
            path=path,
            parse=col.get("parse"),
            creation_ordered=_flag(col, "creation-order", cwhere),
        )
    ordered = [c.name for c in columns.values() if c.creation_ordered]
    if len(ordered) > 1:
        raise SpecError(where, f"at most one column is creation-order: true; got {', '.join(ordered)}")
    return columns


def _flag(block: Mapping[str, Any], key: str, where: str) -> bool:
    value = block.get(key, False)
    if not isinstance(value, bool):
        raise SpecError(f"{where}.{key}", f"must be true or false, got {value!r}")
    return value


def _load_collection(name: str, block: Mapping[str, Any], api: str, resolver: Resolver, where: str) -> CollectionSpec:
    reject_unknown_keys(
        block, {"entity", "size", "schema", "id", "statuses", "columns", "lifecycle", "fixtures"}, where
    )
    entity = block.get("entity")
    if entity not in ("payment", "subscription"):
        raise SpecError(f"{where}.entity", f"unknown entity {entity!r}; available: payment, subscription")
    statuses: dict[str, tuple[float, str]] = {}
    for status, spec in _mapping(block.get("statuses", {}), f"{where}.statuses").items():
        swhere = f"{where}.statuses.{status}"
        spec = _mapping(spec, swhere)
        if spec.get("phase") not in PHASES:
            raise SpecError(
                f"{swhere}.phase",
                f"unknown phase {spec.get('phase')!r}; available: {', '.join(PHASES)}",
            )
        weight = spec.get("weight")
        if not isinstance(weight, int | float) or weight < 0:
            raise SpecError(f"{swhere}.weight", f"must be a non-negative number, got {weight!r}")
        statuses[str(status)] = (float(weight), spec["phase"])
    if entity == "payment" and not statuses:
        raise SpecError(f"{where}.statuses", "a payment collection must declare its statuses")
    schema_ref = block.get("schema")
    if not isinstance(schema_ref, str):
        raise SpecError(f"{where}.schema", "must be a $ref string like '#/components/schemas/Payment'")
    schema = resolver.resolve({"$ref": schema_ref})
    id_field = str(block.get("id"))
    if id_field not in schema.get("properties", {}):
        raise SpecError(f"{where}.id", f"{id_field!r} is not a property of {schema_ref}")
    file_part = where.split(":", 1)[0]
    record_ctx = Context(
        f"{file_part}: {schema_ref.lstrip('#/').replace('/', '.')}",
        {entity: entity, "tenant": "tenant"},
        schema,
        entity,
    )
    render = compile_record(schema, record_ctx)
    table = f"r_{api}_{name}"
    size = block.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise SpecError(f"{where}.size", f"must be a non-negative integer, got {size!r}")
    columns = _load_columns(block.get("columns", {}), table, f"{where}.columns")
    return CollectionSpec(
        name=name,
        table=table,
        entity=entity,
        size=size,
        id_field=id_field,
        statuses=statuses,
        columns=columns,
        render=render,
        extract=compile_columns(list(columns.values())),
        render_row=compile_row(schema, record_ctx, list(columns.values())),
        lifecycle=_load_lifecycle(block, entity, statuses, columns, where),
        fixture_statuses=load_fixture_statuses(block.get("fixtures"), statuses, f"{where}.fixtures"),
    )


def _load_lifecycle(
    block: Mapping[str, Any], entity: str, statuses: Mapping[str, Any], columns: Mapping[str, Column], where: str
) -> Lifecycle | None:
    if "lifecycle" in block and entity != "payment":
        raise SpecError(f"{where}.lifecycle", f"only payment collections move in sandbox time, not {entity!r} ones")
    facts = frozenset(PAYMENT_FACTS)
    return load_lifecycle(block.get("lifecycle"), statuses, columns, facts, facts & TIME_FACTS, f"{where}.lifecycle")


def _flask_rule(path: str) -> str:
    return re.sub(r"\{([^}/]+)\}", r"<\1>", path)


def load_api(path: Path | str, *, validate_document: bool = True) -> ApiSpec:
    """Load, validate and compile one document.

    Args:
        path: ``openapi/<name>.yaml``.
        validate_document: Run openapi-spec-validator (skip only where a caller already did).

    Raises:
        SpecError: Naming the file, the dotted path and what is allowed.
    """
    from mock_server.actions import ACTIONS, OperationContext
    from mock_server.auth import AUTH_SCHEMES

    file = Path(path)
    where0 = f"openapi/{file.name}"
    try:
        document = yaml.load(file.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(where0, f"cannot read the document: {exc}") from None
    document = _mapping(document, where0)
    if validate_document:
        from openapi_spec_validator import validate
        from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

        try:
            validate(copy.deepcopy(dict(document)))
        except OpenAPIValidationError as exc:
            raise SpecError(where0, f"not a valid OpenAPI document: {exc}") from None
    root = _mapping(document.get("x-paymock"), f"{where0}: x-paymock")
    rwhere = f"{where0}: x-paymock"
    reject_unknown_keys(root, ROOT_KEYS, rwhere)
    name = root.get("name")
    if name != file.stem:
        raise SpecError(f"{rwhere}.name", f"must equal the file name {file.stem!r}, got {name!r}")
    resolver = Resolver(document, where0)

    tenancy = _mapping(root.get("tenancy", {}), f"{rwhere}.tenancy")
    reject_unknown_keys(tenancy, {"count", "selectors"}, f"{rwhere}.tenancy")
    selectors = []
    for i, sel in enumerate(tenancy.get("selectors", [])):
        swhere = f"{rwhere}.tenancy.selectors[{i}]"
        sel = _mapping(sel, swhere)
        reject_unknown_keys(sel, {"in", "name", "value", "required", "mismatch"}, swhere)
        if sel.get("in") not in ("header", "path"):
            raise SpecError(f"{swhere}.in", f"must be 'header' or 'path', got {sel.get('in')!r}")
        if sel.get("mismatch", "forbidden") not in ("forbidden", "not_found", "unauthorized"):
            raise SpecError(f"{swhere}.mismatch", "must be one of: forbidden, not_found, unauthorized")
        selectors.append(
            Selector(
                sel["in"],
                str(sel.get("name")),
                str(sel.get("value")),
                bool(sel.get("required", False)),
                sel.get("mismatch", "forbidden"),
            )
        )

    responses = _mapping(root.get("responses", {}), f"{rwhere}.responses")
    reject_unknown_keys(responses, {"media-type", "echo-headers", "gzip-min-bytes"}, f"{rwhere}.responses")
    settings = ResponseSettings(
        media_type=str(responses.get("media-type", "application/json")),
        echo_headers=tuple(responses.get("echo-headers", ())),
        gzip_min_bytes=responses.get("gzip-min-bytes"),
    )
    query_rules = QueryRules.load(_mapping(root.get("query", {}), f"{rwhere}.query"), f"{rwhere}.query")
    errors = ErrorFormat.load(_mapping(root.get("errors"), f"{rwhere}.errors"), f"{rwhere}.errors", settings.media_type)
    auth_block = dict(_mapping(root.get("auth"), f"{rwhere}.auth"))
    # When credentials are checked is the pipeline's, not the scheme's: every scheme may say it.
    validate_first = _flag(auth_block, "validate-first", f"{rwhere}.auth")
    auth_block.pop("validate-first", None)
    auth_factory = AUTH_SCHEMES.get(auth_block.get("scheme"), f"{rwhere}.auth.scheme")
    auth = auth_factory(auth_block, f"{rwhere}.auth")

    collections = {
        cname: _load_collection(
            cname,
            _mapping(cblock, f"{rwhere}.collections.{cname}"),
            str(name),
            resolver,
            f"{rwhere}.collections.{cname}",
        )
        for cname, cblock in _mapping(root.get("collections"), f"{rwhere}.collections").items()
    }
    payment_colls = [c for c in collections.values() if c.entity == "payment"]
    if len(payment_colls) != 1:
        raise SpecError(f"{rwhere}.collections", "declare exactly one collection of entity 'payment'")
    world_block = _mapping(root.get("world", {}), f"{rwhere}.world")
    world = WorldConfig.load(str(name), world_block, payment_colls[0].statuses, f"{rwhere}.world")

    global_security = document.get("security")
    operations = []
    for opath, item in _mapping(document.get("paths"), f"{where0}: paths").items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            owhere = f"{where0}: paths.{opath}.{method}"
            block = _mapping(op.get("x-paymock"), f"{owhere}.x-paymock")
            resolved_params = [resolver.resolve(p) for p in [*shared, *op.get("parameters", [])]]
            body = None
            if "requestBody" in op:
                body = compile_body(resolver.resolve(op["requestBody"]), f"{owhere}.requestBody")
            security = op.get("security", global_security)
            ctx = OperationContext(
                api=str(name),
                method=method.upper(),
                path=opath,
                where=f"{owhere}.x-paymock",
                collections=collections,
                params={p["name"]: p for p in resolved_params},
                media_type=settings.media_type,
                auth=auth,
            )
            compile_action = ACTIONS.get(block.get("action"), f"{owhere}.x-paymock.action")
            action = compile_action(block, ctx)
            params = tuple(
                compile_param(
                    p,
                    f"{owhere}.parameters.{p['name']}",
                    action.roles,
                    _filter_for(p, action, collections, f"{owhere}.parameters.{p['name']}"),
                )
                for p in resolved_params
            )
            selector_names = {(s.location, s.name) for s in selectors}
            for p in params:
                if p.role is None and (p.location, p.name) not in selector_names:
                    raise SpecError(
                        f"{owhere}.parameters.{p.name}",
                        "has no role: give it x-paymock {filter: <column>} or {ignore: <why>}, "
                        "or name it in the operation's pagination/sort/key/scope",
                    )
            operations.append(
                OperationSpec(
                    api=str(name),
                    method=method.upper(),
                    path=opath,
                    rule=_flask_rule(opath),
                    operation_id=str(op.get("operationId", f"{method}{opath}")),
                    params=params,
                    body=body,
                    action=action,
                    secured=bool(security) and not action.public,
                    query=query_rules.reader(p.name for p in params if p.location == "query"),
                )
            )
    tenants = tenancy.get("count", 2)
    if not isinstance(tenants, int) or tenants < 1:
        raise SpecError(f"{rwhere}.tenancy.count", f"must be a positive integer, got {tenants!r}")
    return ApiSpec(
        name=str(name),
        file=file,
        document=document,
        title=str(document.get("info", {}).get("title", name)),
        tenants=tenants,
        selectors=tuple(selectors),
        auth=auth,
        errors=errors,
        responses=settings,
        collections=collections,
        operations=tuple(operations),
        world=world,
        payments_collection=payment_colls[0].name,
        validate_first=validate_first,
    )


def _filter_for(
    param: Mapping[str, Any], action: Action, collections: Mapping[str, CollectionSpec], where: str
) -> Filter | None:
    block = param.get("x-paymock")
    if block is None:
        return None
    block = _mapping(block, f"{where}.x-paymock")
    reject_unknown_keys(block, {"filter", "op", "null-literal", "ignore"}, f"{where}.x-paymock")
    if "ignore" in block:
        if not isinstance(block["ignore"], str) or not block["ignore"].strip():
            raise SpecError(f"{where}.x-paymock.ignore", "must say why the parameter has no effect")
        return None
    collection = getattr(action, "collection", None)
    if collection is None:
        raise SpecError(f"{where}.x-paymock.filter", "filters belong to operations that list a collection")
    column = collection.column(str(block.get("filter")), f"{where}.x-paymock.filter")
    return Filter(
        param=str(param["name"]),
        column=column.key,
        ctype=column.ctype,
        op=FILTER_OPERATORS.get(block.get("op", "eq"), f"{where}.x-paymock.op"),
        null_literal=block.get("null-literal"),
        op_name=str(block.get("op", "eq")),
    )


#: libyaml's safe loader when PyYAML has it (five times faster: every start of the server reads
#: all five documents), the pure-Python one otherwise; both build plain data only.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_apis(names: list[str] | None = None, directory: Path | None = None) -> list[ApiSpec]:
    """Load the named bundled APIs (all of them when ``names`` is empty)."""
    directory = directory or openapi_dir()
    known = sorted(p.stem for p in directory.glob("*.yaml"))
    names = names or known
    for n in names:
        if n not in known:
            raise SpecError(str(directory), f"unknown API {n!r}; available: {', '.join(known)}")
    return [load_api(directory / f"{n}.yaml") for n in names]
