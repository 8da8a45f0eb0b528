"""What a document promises, read once from its ``x-paymock`` declarations.

The mock compiles the same declarations into actions that answer requests; the kit reads the
compiled objects back (:mod:`mock_server.spec`, :mod:`mock_server.actions`) and turns them into
plain facts that promises check over HTTP: where the items sit in a list envelope, which
parameters page, filter and sort, which statuses a transition moves between. Nothing here
touches a server, so the facts hold for any implementation of the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from contracts.errors import UsageError
from contracts.lists import (
    Envelope,
    FilterDecl,
    JsonPath,
    Paging,
    ScopeDecl,
    SortChoice,
    SortDecl,
    SortKey,
    lookup,
)

__all__ = [
    "ApiContract",
    "Envelope",
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
from mock_server.actions import GetAction, IssueTokenAction, ListAction, TransitionAction
from mock_server.errors import MockServerError
from mock_server.pagination import (
    CursorPaginator,
    FromIdPaginator,
    OffsetPaginator,
    PageNumberPaginator,
)
from mock_server.sorting import DirectionSort, FixedSort, SignedFieldsSort
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
        spec: The mock's compiled operation (action, parameter roles, security).
        document: The operation object as written (``$ref``s of parameters resolved).
        parameters: Parameter name -> resolved parameter object.
    """

    spec: OperationSpec
    document: Mapping[str, Any]
    parameters: Mapping[str, Mapping[str, Any]]

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
    """A ``list`` operation."""

    op: Operation
    collection: CollectionSpec
    envelope: Envelope
    paging: Paging
    sort: SortDecl | None
    filters: tuple[FilterDecl, ...]
    scopes: tuple[ScopeDecl, ...]


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


def _paging(action: ListAction, op: Operation) -> Paging:
    p = action.paginator
    size: str | None
    if isinstance(p, CursorPaginator):
        style, size, position = "cursor", p.limit_param, p.cursor_param
    elif isinstance(p, FromIdPaginator):
        style, size, position = "from-id", p.limit_param, p.from_param
    elif isinstance(p, OffsetPaginator):
        style, size, position = "offset", p.limit_param, p.offset_param
    elif isinstance(p, PageNumberPaginator):
        style, size, position = "page-number", p.size_param, p.page_param
    else:
        return Paging("none")
    schema = op.schema_of(size)
    return Paging(
        style=style,
        size_param=size,
        position_param=position,
        default=_int(schema.get("default")),
        minimum=_int(schema.get("minimum")),
        maximum=_int(schema.get("maximum")),
        cap=p.cap is not None,
    )


def _sort(action: ListAction) -> SortDecl | None:
    # Orders name a creation-ordered column as the primary key (at most one per collection).
    by_sql = {c.order_sql: c for c in action.collection.columns.values()}
    s = action.sorter
    if isinstance(s, FixedSort):
        return SortDecl("fixed", None, tuple(SortKey(by_sql[sql], desc) for sql, desc in s.keys))
    if isinstance(s, DirectionSort):
        column = by_sql[s.column]
        asc = next((raw for raw, desc in s.values.items() if not desc), "asc")
        desc_value = next((raw for raw, desc in s.values.items() if desc), "desc")
        return SortDecl(
            "direction", s.param, (SortKey(column, s.default),), ascending=asc, descending=desc_value, column=column
        )
    if isinstance(s, SignedFieldsSort):
        return SortDecl(
            "signed-fields",
            s.param,
            tuple(SortKey(by_sql[sql], desc) for sql, desc in s.default),
            fields={name: by_sql[sql] for name, sql in s.fields.items()},
            ascending=s.ascending,
            descending=s.descending,
            bare_desc=s.bare_desc,
            max_fields=s.max_fields,
        )
    return None


def _filters(op: Operation, collection: CollectionSpec) -> tuple[FilterDecl, ...]:
    out = []
    for name, param in op.parameters.items():
        block = param.get("x-paymock") or {}
        if "filter" not in block:
            continue
        out.append(
            FilterDecl(
                param=name,
                column=collection.columns[str(block["filter"])],
                op=str(block.get("op", "eq")),
                null_literal=block.get("null-literal"),
                schema=op.schema_of(name),
            )
        )
    return tuple(out)


def _token(action: IssueTokenAction, op: Operation, resolver: Resolver) -> TokenDecl:
    content = resolver.resolve(op.document.get("requestBody", {})).get("content", {})
    media_type = next(iter(content), "application/json")
    media = content.get(media_type, {})
    example = media.get("example")
    if example is None and media.get("examples"):
        example = next(iter(media["examples"].values())).get("value")
    schema = media.get("schema", {})
    required = set(schema.get("required", []))
    ours = set(action.fields.values())
    extra = {k: (example or {}).get(k, "paymock-check") for k in sorted(required - ours)}
    token_path = Envelope.from_template(action.response.source).paths.get("access_token", ("access_token",))
    return TokenDecl(op, media_type, dict(action.fields), token_path, extra)


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
        op = Operation(op_spec, raw, {str(p["name"]): p for p in params})
        operations.append(op)
        action = op_spec.action
        if isinstance(action, ListAction):
            lists.append(
                ListDecl(
                    op=op,
                    collection=action.collection,
                    envelope=Envelope.from_template(action.envelope.source),
                    paging=_paging(action, op),
                    sort=_sort(action),
                    filters=_filters(op, action.collection),
                    scopes=tuple(ScopeDecl(s.param, s.column, s.missing_is_empty) for s in action.scopes),
                )
            )
        elif isinstance(action, GetAction):
            gets.append(GetDecl(op, action.collection, action.key, Envelope.from_template(action.envelope.source)))
        elif isinstance(action, TransitionAction):
            transitions.append(
                TransitionDecl(
                    op,
                    action.collection,
                    action.key,
                    action.to,
                    action.allowed,
                    dict(action.sets),
                    Envelope.from_template(action.envelope.source),
                )
            )
        elif isinstance(action, IssueTokenAction):
            token = _token(action, op, resolver)
    return ApiContract(
        spec=spec,
        operations=tuple(operations),
        lists=tuple(lists),
        gets=tuple(gets),
        transitions=tuple(transitions),
        token=token,
        auth_headers=_auth_headers(spec.document),
    )
