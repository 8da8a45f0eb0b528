"""What a document promises, read once from its ``x-paymock`` declarations.

The kit reads the document model (:mod:`mock_server.spec`: the parsed document, its collections
and operations) and the ``x-paymock`` blocks as data, and turns them into plain facts that
promises check over HTTP: where the items sit in a list envelope, which parameters page, filter
and sort, which statuses a transition moves between. Of the mock's compiled objects it reads
only what a pagination or sort style declares about itself (:mod:`mock_server.declarations`);
how values compare is the kit's own (:mod:`contracts.semantics`). Nothing here touches a
server, so the facts hold for any implementation of the document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from contracts.errors import UsageError
from contracts.lists import (
    Envelope,
    Field,
    FilterDecl,
    JsonPath,
    Paging,
    ScopeDecl,
    SortChoice,
    SortDecl,
    SortKey,
    SortTerm,
    lookup,
)

__all__ = [
    "ApiContract",
    "Envelope",
    "Field",
    "FilterDecl",
    "GetDecl",
    "JsonPath",
    "ListDecl",
    "Operation",
    "Paging",
    "ScopeDecl",
    "SortChoice",
    "SortDecl",
    "SortKey",
    "TokenDecl",
    "TransitionDecl",
    "contract_of",
    "load_contract",
    "lookup",
]
from mock_server.declarations import OrderKey, PagingDeclaration, SortDeclaration
from mock_server.errors import MockServerError
from mock_server.spec import (
    ApiSpec,
    CollectionSpec,
    OperationSpec,
    Resolver,
    Selector,
    available_apis,
    load_api,
    openapi_dir,
)


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the document, with its parameters resolved.

    Attributes:
        spec: The operation in the document model (method, path, security).
        document: The operation object as written (``$ref``s of parameters resolved).
        parameters: Parameter name -> resolved parameter object.
        kind: Its ``x-paymock.action`` (``list``, ``get``, ``transition``, ``issue-token``).
        roles: Path parameter name -> ``key`` (the record's ID) or ``scope`` (a parent's).
    """

    spec: OperationSpec
    document: Mapping[str, Any]
    parameters: Mapping[str, Mapping[str, Any]]
    kind: str = ""
    roles: Mapping[str, str] = field(default_factory=dict)

    @property
    def block(self) -> Mapping[str, Any]:
        """The operation's ``x-paymock`` block, as written."""
        block = self.document.get("x-paymock") or {}
        return block if isinstance(block, Mapping) else {}

    @property
    def changes_state(self) -> bool:
        """Whether the operation is a documented state change (a transition)."""
        return self.kind == "transition"

    @property
    def body_required(self) -> bool:
        """Whether the operation requires a request body."""
        body = self.document.get("requestBody") or {}
        return bool(isinstance(body, Mapping) and body.get("required"))

    @property
    def method(self) -> str:
        """Upper-case HTTP method."""
        return self.spec.method

    @property
    def path(self) -> str:
        """The path template (``/v1/payments/{paymentId}``)."""
        return self.spec.path

    @property
    def label(self) -> str:
        """``GET /v1/payments``: how reports name the operation."""
        return f"{self.spec.method} {self.spec.path}"

    @property
    def secured(self) -> bool:
        """Whether the operation needs credentials."""
        return self.spec.secured

    def statuses(self) -> list[str]:
        """The documented response codes, as written (``200``, ``4XX``, ``default``)."""
        return [str(code) for code in self.document.get("responses", {})]

    def documents(self, status: int) -> bool:
        """Whether ``status`` is a documented answer of this operation."""
        for code in self.statuses():
            if code == str(status) or code == "default":
                return True
            if len(code) == 3 and code[1:].upper() == "XX" and code[0] == str(status)[0]:
                return True
        return False

    def schema_of(self, name: str) -> Mapping[str, Any]:
        """The schema of parameter ``name`` (empty when it has none)."""
        schema = self.parameters.get(name, {}).get("schema", {})
        return schema if isinstance(schema, Mapping) else {}

    def path_parameters(self) -> list[str]:
        """Names of the path parameters, in template order."""
        return [n for n, p in self.parameters.items() if p.get("in") == "path"]


@dataclass(frozen=True, slots=True)
class ListDecl:
    """A ``list`` operation.

    Attributes:
        op: The operation.
        collection: The collection it lists (name, ID field, statuses).
        envelope: Where the items and counts sit in an answer.
        paging: How it pages.
        sort: How it is ordered (``None``: no documented order).
        filters: Its filter parameters.
        scopes: Path parameters that narrow it to one parent.
        tenant_fields: Record property -> the tenant selector whose value every item shows there
            (zutax's ``tenant_id``): read from ``from: tenant.<fact>`` properties whose fact a
            selector's ``value`` names.
    """

    op: Operation
    collection: CollectionSpec
    envelope: Envelope
    paging: Paging
    sort: SortDecl | None
    filters: tuple[FilterDecl, ...]
    scopes: tuple[ScopeDecl, ...]
    tenant_fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GetDecl:
    """A ``get`` operation: one record by the ID in path parameter ``key``."""

    op: Operation
    collection: CollectionSpec
    key: str
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class TransitionDecl:
    """A ``transition`` operation: records in ``allowed`` statuses move to ``to``."""

    op: Operation
    collection: CollectionSpec
    key: str
    to: str
    allowed: tuple[str, ...]
    sets: Mapping[str, str | None]
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class TokenDecl:
    """An ``issue-token`` operation: client credentials in, a bearer token out.

    Attributes:
        op: The operation.
        media_type: ``application/x-www-form-urlencoded`` or ``application/json``.
        fields: Role (``client_id``, ``client_secret``, ``grant_type``) -> request field name.
        token_path: Where the access token sits in the answer.
        extra: Other required request fields, filled from the document's example.
    """

    op: Operation
    media_type: str
    fields: Mapping[str, str]
    token_path: JsonPath
    extra: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ApiContract:
    """Everything the kit reads from one document."""

    spec: ApiSpec
    operations: tuple[Operation, ...]
    lists: tuple[ListDecl, ...]
    gets: tuple[GetDecl, ...]
    transitions: tuple[TransitionDecl, ...]
    token: TokenDecl | None
    auth_headers: tuple[str, ...]

    @property
    def name(self) -> str:
        """Short API name."""
        return self.spec.name

    @property
    def selectors(self) -> tuple[Selector, ...]:
        """Where requests name their tenant."""
        return self.spec.selectors

    @property
    def echo_headers(self) -> tuple[str, ...]:
        """Request headers the API copies to its answers."""
        return self.spec.responses.echo_headers

    def error_status(self, kind: str) -> int:
        """The HTTP status the document maps an error kind to (``not_found`` -> 404)."""
        return self.spec.errors.kinds[kind].status

    def get_for(self, collection: CollectionSpec) -> GetDecl | None:
        """The detail operation of a collection, if the API has one."""
        return next((g for g in self.gets if g.collection.name == collection.name), None)

    def top_list_for(self, collection: CollectionSpec) -> ListDecl | None:
        """The unscoped list of a collection, if the API has one."""
        return next((x for x in self.lists if x.collection.name == collection.name and not x.scopes), None)

    def responses(self, op: Operation) -> dict[str, Mapping[str, Any]]:
        """An operation's documented answers by status, ``$ref``s resolved."""
        resolver = Resolver(self.spec.document, str(self.spec.file))
        return {str(code): resolver.resolve(answer) for code, answer in op.document.get("responses", {}).items()}

    def fields_from(self, collection: CollectionSpec, fact: str) -> list[str]:
        """Top-level record properties whose value is the fact ``<entity>.<fact>``."""
        schema = Resolver(self.spec.document, str(self.spec.file)).lookup(_schema_ref(self.spec, collection))
        props = Resolver(self.spec.document, str(self.spec.file)).resolve(schema).get("properties", {})
        wanted = f"{collection.entity}.{fact}"
        return [name for name, prop in props.items() if (prop.get("x-paymock") or {}).get("from") == wanted]


def _schema_ref(spec: ApiSpec, collection: CollectionSpec) -> str:
    block = spec.document["x-paymock"]["collections"][collection.name]
    return str(block["schema"])


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def fields_of(spec: ApiSpec, collection: CollectionSpec) -> dict[str, Field]:
    """A collection's typed fields, as its ``columns`` declare them (name -> field)."""
    block = spec.document["x-paymock"]["collections"][collection.name].get("columns") or {}
    out = {}
    for name, col in block.items():
        path = tuple(int(p) if p.isdigit() else p for p in str(col.get("path", name)).split("."))
        out[str(name)] = Field(str(name), path, str(col.get("type", "text")), col.get("parse"))
    return out


def _declared(op: OperationSpec, style: str) -> Any:
    # The compiled action answers requests and is the mock's; the kit reads only what its
    # pagination or sort style declares about itself, which is plain data.
    found = getattr(op.action, style, None)
    return found.declaration() if found is not None else None


def _paging(declared: PagingDeclaration, op: Operation) -> Paging:
    schema = op.schema_of(declared.size_param) if declared.size_param else {}
    return Paging(
        style=declared.style,
        size_param=declared.size_param,
        position_param=declared.position_param,
        position=declared.position,
        inclusive=declared.inclusive,
        first=declared.first,
        default=_int(schema.get("default")),
        minimum=_int(schema.get("minimum")),
        maximum=_int(schema.get("maximum")),
        cap=declared.capped,
    )


def _sort(declared: SortDeclaration, collection: CollectionSpec, fields: Mapping[str, Field]) -> SortDecl:
    # Orders name columns as the store sorts them; a creation-ordered column sorts as the key.
    by_order = {c.order_key: fields[name] for name, c in collection.columns.items() if name in fields}

    def keys(order: tuple[OrderKey, ...]) -> tuple[SortKey, ...]:
        return tuple(SortKey(by_order[col], desc) for col, desc in order if col in by_order)

    return SortDecl(
        declared.style,
        declared.param,
        keys(declared.default),
        tuple(SortTerm(t.value, t.field, keys(t.keys)) for t in declared.terms),
        declared.max_terms,
        declared.separator,
    )


def _filters(op: Operation, fields: Mapping[str, Field]) -> tuple[FilterDecl, ...]:
    out = []
    for name, param in op.parameters.items():
        block = param.get("x-paymock") or {}
        if "filter" not in block:
            continue
        out.append(
            FilterDecl(
                param=name,
                field=fields[str(block["filter"])],
                op=str(block.get("op", "eq")),
                null_literal=block.get("null-literal"),
                schema=op.schema_of(name),
            )
        )
    return tuple(out)


def _scopes(op: Operation, fields: Mapping[str, Field]) -> tuple[ScopeDecl, ...]:
    out = []
    for param, column in (op.block.get("scope") or {}).items():
        spec = column if isinstance(column, Mapping) else {"column": column}
        out.append(ScopeDecl(str(param), fields[str(spec.get("column"))], spec.get("missing") == "empty"))
    return tuple(out)


def _tenant_fields(spec: ApiSpec, collection: CollectionSpec) -> dict[str, str]:
    """Record properties that show the tenant a selector names (``from: tenant.uuid`` and ``{tenant.uuid}``)."""
    by_fact = {s.template[1:-1]: s.name for s in spec.selectors if re.fullmatch(r"\{tenant\.[a-z_]+\}", s.template)}
    resolver = Resolver(spec.document, str(spec.file))
    schema = resolver.resolve(resolver.lookup(_schema_ref(spec, collection)))
    out = {}
    for name, prop in (schema.get("properties") or {}).items():
        fact = (prop.get("x-paymock") or {}).get("from")
        if fact in by_fact:
            out[str(name)] = by_fact[fact]
    return out


_TOKEN_FIELDS = ("client_id", "client_secret", "grant_type", "refresh_token")


def _token(op: Operation, resolver: Resolver) -> TokenDecl:
    content = resolver.resolve(op.document.get("requestBody", {})).get("content", {})
    media_type = next(iter(content), "application/json")
    media = content.get(media_type, {})
    example = media.get("example")
    if example is None and media.get("examples"):
        example = next(iter(media["examples"].values())).get("value")
    schema = media.get("schema", {})
    required = set(schema.get("required", []))
    fields = {**{n: n for n in _TOKEN_FIELDS}, **(op.block.get("fields") or {})}
    extra = {k: (example or {}).get(k, "paymock-check") for k in sorted(required - set(fields.values()))}
    token_path = Envelope.from_template(op.block.get("response")).paths.get("access_token", ("access_token",))
    return TokenDecl(op, media_type, fields, token_path, extra)


def _auth_headers(document: Mapping[str, Any]) -> tuple[str, ...]:
    schemes = document.get("components", {}).get("securitySchemes", {})
    names: list[str] = []
    for scheme in schemes.values():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            name = str(scheme.get("name"))
        elif scheme.get("type") in ("http", "oauth2", "openIdConnect"):
            name = "Authorization"
        else:
            continue
        if name not in names:
            names.append(name)
    return tuple(names)


def load_contract(api: str | Path) -> ApiContract:
    """Read a document's declarations.

    Args:
        api: A bundled API name (``zuora``) or the path of an ``x-paymock`` document.

    Raises:
        UsageError: The name is unknown or the document is invalid; the message says which
            names exist or what is wrong where.
    """
    path = Path(api)
    if not path.suffix:
        if str(api) not in available_apis():
            raise UsageError(
                f"unknown API {str(api)!r}; available: {', '.join(available_apis())} (or a path to a document)"
            )
        path = openapi_dir() / f"{api}.yaml"
    elif not path.is_file():
        raise UsageError(
            f"no document at {str(path)!r}; give a bundled API name ({', '.join(available_apis())}) or a YAML path"
        )
    resolved = path.resolve()
    return _load_cached(resolved, resolved.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _load_cached(path: Path, mtime_ns: int) -> ApiContract:
    # Validating a document takes a moment; a test suite checks the same ones again and again.
    try:
        spec = load_api(path)
    except MockServerError as exc:
        raise UsageError(f"the document cannot be used: {exc}") from None
    return contract_of(spec)


def contract_of(spec: ApiSpec) -> ApiContract:
    """Read the declarations of an already loaded document."""
    resolver = Resolver(spec.document, str(spec.file))
    operations, lists, gets, transitions = [], [], [], []
    token = None
    for op_spec in spec.operations:
        item = spec.document["paths"][op_spec.path]
        raw = item[op_spec.method.lower()]
        params = [resolver.resolve(p) for p in [*item.get("parameters", []), *raw.get("parameters", [])]]
        block = raw.get("x-paymock") or {}
        kind = str(block.get("action", ""))
        roles = {str(p): "scope" for p in block.get("scope") or {}}
        if isinstance(block.get("key"), str):
            roles[block["key"]] = "key"
        op = Operation(op_spec, raw, {str(p["name"]): p for p in params}, kind, roles)
        operations.append(op)
        collection = spec.collections.get(str(block.get("collection")))
        fields = fields_of(spec, collection) if collection is not None else {}
        if kind == "list" and collection is not None:
            sort = _declared(op_spec, "sorter")
            lists.append(
                ListDecl(
                    op=op,
                    collection=collection,
                    envelope=Envelope.from_template(block.get("envelope", "$items")),
                    paging=_paging(_declared(op_spec, "paginator") or PagingDeclaration("none"), op),
                    sort=_sort(sort, collection, fields) if sort is not None else None,
                    filters=_filters(op, fields),
                    scopes=_scopes(op, fields),
                    tenant_fields=_tenant_fields(spec, collection),
                )
            )
        elif kind == "get" and collection is not None:
            gets.append(
                GetDecl(op, collection, str(block["key"]), Envelope.from_template(block.get("envelope", "$item")))
            )
        elif kind == "transition" and collection is not None:
            transitions.append(
                TransitionDecl(
                    op,
                    collection,
                    str(block["key"]),
                    str(block.get("to")),
                    tuple(block.get("from", [])),
                    dict(block.get("set") or {}),
                    Envelope.from_template(block.get("envelope", "$item")),
                )
            )
        elif kind == "issue-token":
            token = _token(op, resolver)
    return ApiContract(
        spec=spec,
        operations=tuple(operations),
        lists=tuple(lists),
        gets=tuple(gets),
        transitions=tuple(transitions),
        token=token,
        auth_headers=_auth_headers(spec.document),
    )
