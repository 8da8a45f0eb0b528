"""Operation actions, keyed by ``x-paymock.action``: list, get, transition, issue-token.

An action is compiled once per document (``compile``) and answers requests (``handle``) with
no web framework involved: it receives a validated :class:`ActionRequest` and returns a
:class:`Reply`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import quote_plus

from mock_server.errors import ApiError, SpecError, reject_unknown_keys
from mock_server.lifecycle.clock import reading
from mock_server.lifecycle.transitions import Transition
from mock_server.pagination import PageQuery, Paginator, load_paginator
from mock_server.registry import Registry
from mock_server.sorting import SORT_STYLES, Sorter
from mock_server.store.base import Condition
from mock_server.store.page import DOC
from mock_server.templates import Template

if TYPE_CHECKING:
    from mock_server.auth import AuthScheme
    from mock_server.handling import ActionRequest, Reply
    from mock_server.spec import CollectionSpec, Column


@dataclass(frozen=True, slots=True)
class OperationContext:
    """What an action may read while it compiles."""

    api: str
    method: str
    path: str
    where: str
    collections: Mapping[str, CollectionSpec]
    params: Mapping[str, Mapping[str, Any]]
    media_type: str
    auth: AuthScheme

    def query_params(self) -> dict[str, Mapping[str, Any]]:
        """The operation's query parameters by name."""
        return {n: p for n, p in self.params.items() if p.get("in") == "query"}

    def collection(self, block: Mapping[str, Any]) -> CollectionSpec:
        """The collection the block names."""
        name = str(block.get("collection"))
        if name not in self.collections:
            raise SpecError(
                f"{self.where}.collection",
                f"unknown collection {name!r}; declared: {', '.join(self.collections)}",
            )
        return self.collections[name]

    def only(self, block: Mapping[str, Any], allowed: set[str]) -> None:
        """Refuse keys the action does not know."""
        reject_unknown_keys(block, {*allowed, "action"}, self.where)


class Action(Protocol):
    """A compiled operation behaviour."""

    @property
    def roles(self) -> Mapping[str, str]:
        """Parameter name -> the role this action gives it (``key``, ``scope``, ...)."""

    @property
    def public(self) -> bool:
        """Whether the operation is answered without credentials."""

    @property
    def safe(self) -> bool:
        """Whether answering changes nothing (a fault may then be chosen after the answer)."""

    def handle(self, request: ActionRequest) -> Reply:
        """Answer one validated request."""


#: Compiles an operation's ``x-paymock`` block into its action.
ActionCompiler = Callable[[Mapping[str, Any], OperationContext], Action]
ACTIONS: Registry[ActionCompiler] = Registry("action")


def _key_param(block: Mapping[str, Any], ctx: OperationContext) -> str:
    key = block.get("key")
    if not (isinstance(key, str) and ctx.params.get(key, {}).get("in") == "path"):
        raise SpecError(f"{ctx.where}.key", f"must name a path parameter of this operation, got {key!r}")
    return key


def _not_found(noun: str, value: str, param: str) -> ApiError:
    return ApiError.of("not_found", f"No {noun} with ID {value!r}", "not_found", ("path", param))


def _noun(collection: CollectionSpec) -> str:
    return collection.entity


@dataclass(frozen=True, slots=True)
class Scope:
    """A path parameter that narrows a list to one parent (an invoice's payments)."""

    param: str
    column: Column
    missing_is_empty: bool


@dataclass(frozen=True, slots=True)
class ListAction:
    """A filtered, sorted, paginated list of one collection."""

    collection: CollectionSpec
    paginator: Paginator
    sorter: Sorter | None
    scopes: tuple[Scope, ...]
    envelope: Template
    roles: Mapping[str, str]
    public: bool = False
    safe: ClassVar[bool] = True

    @classmethod
    def compile(cls, block: Mapping[str, Any], ctx: OperationContext) -> ListAction:
        """Compile collection, pagination, sort, scope and envelope."""
        ctx.only(block, {"collection", "envelope", "pagination", "sort", "scope"})
        collection = ctx.collection(block)
        paginator = load_paginator(
            block.get("pagination", {"style": "none"}),
            f"{ctx.where}.pagination",
            ctx.query_params(),
        )
        sorter = None
        roles = dict(paginator.roles)
        if "sort" in block:
            sort = block["sort"]
            if not isinstance(sort, Mapping):
                raise SpecError(f"{ctx.where}.sort", "must be a mapping with a 'style'")
            factory = SORT_STYLES.get(sort.get("style"), f"{ctx.where}.sort.style")
            sorter = factory(sort, f"{ctx.where}.sort", lambda name, where: collection.column(name, where).order_key)
            if sorter.param is not None:
                if sorter.param not in ctx.query_params():
                    raise SpecError(
                        f"{ctx.where}.sort.param",
                        f"{sorter.param!r} is not a query parameter of this operation",
                    )
                roles[sorter.param] = "sort"
        scopes = []
        for param, column in (block.get("scope") or {}).items():
            if ctx.params.get(param, {}).get("in") != "path":
                raise SpecError(f"{ctx.where}.scope.{param}", "scopes are path parameters of this operation")
            spec = column if isinstance(column, Mapping) else {"column": column}
            scopes.append(
                Scope(
                    param,
                    collection.column(str(spec.get("column")), f"{ctx.where}.scope.{param}"),
                    spec.get("missing") == "empty",
                )
            )
            roles[param] = "scope"
        envelope = Template(
            block.get("envelope", "$items"),
            f"{ctx.where}.envelope",
            paginator.variables,
            raw=("items",),
        )
        return cls(collection, paginator, sorter, tuple(scopes), envelope, roles)

    def handle(self, request: ActionRequest) -> Reply:
        """One page of the tenant's records that pass every filter."""
        store = request.runtime.store
        tenant = request.tenant_index
        conditions: list[Condition] = []
        for spec in request.operation.params:
            value = request.values.get(spec.name)
            if spec.filter is not None and value is not None:
                conditions.append(spec.filter.condition(value))
        for scope in self.scopes:
            raw = request.values[scope.param]
            value = scope.column.ctype.bound(raw, "start")
            if not scope.missing_is_empty and not store.exists(self.collection.table, tenant, scope.column.key, value):
                raise _not_found(scope.column.name, str(raw), scope.param)
            conditions.append(Condition(scope.column.key, "eq", (value,)))
        order = (
            self.sorter.order(request.values.get(self.sorter.param) if self.sorter and self.sorter.param else None)
            if self.sorter
            else []
        )
        page = self.paginator.page(
            store,
            PageQuery(
                self.collection.table,
                tenant,
                conditions,
                order,
                request.values,
                request.link,
                _noun(self.collection),
            ),
        )
        page["items"] = page["items"].items()
        return request.reply(self.envelope.dumps(page))


@dataclass(frozen=True, slots=True)
class GetAction:
    """One record by its ID."""

    collection: CollectionSpec
    key: str
    envelope: Template
    roles: Mapping[str, str]
    public: bool = False
    safe: ClassVar[bool] = True

    @classmethod
    def compile(cls, block: Mapping[str, Any], ctx: OperationContext) -> GetAction:
        """Compile collection, key and envelope."""
        ctx.only(block, {"collection", "envelope", "key"})
        key = _key_param(block, ctx)
        envelope = Template(block.get("envelope", "$item"), f"{ctx.where}.envelope", ("item",), raw=("item",))
        return cls(ctx.collection(block), key, envelope, {key: "key"})

    def handle(self, request: ActionRequest) -> Reply:
        """The record, or the vendor's 404."""
        value = request.values[self.key]
        row = request.runtime.store.find(self.collection.table, request.tenant_index, value)
        if row is None:
            raise _not_found(_noun(self.collection), value, self.key)
        return request.reply(self.envelope.dumps({"item": row[DOC]}))


@dataclass(frozen=True, slots=True)
class TransitionAction:
    """A documented state change: from some statuses to one, setting some timestamps."""

    collection: CollectionSpec
    key: str
    to: str
    allowed: tuple[str, ...]
    sets: Mapping[str, str | None]
    envelope: Template
    roles: Mapping[str, str]
    name: str
    public: bool = False
    safe: ClassVar[bool] = False
    #: The state change itself (:mod:`mock_server.lifecycle.transitions`), made once at load.
    transition: Transition = field(init=False, repr=False, compare=False)

    @classmethod
    def compile(cls, block: Mapping[str, Any], ctx: OperationContext) -> TransitionAction:
        """Compile the transition and check its statuses against the collection's."""
        ctx.only(block, {"collection", "envelope", "key", "to", "from", "set"})
        collection = ctx.collection(block)
        key = _key_param(block, ctx)
        statuses = collection.statuses
        to = block.get("to")
        allowed = block.get("from", [])
        for s in [to, *allowed]:
            if s not in statuses:
                raise SpecError(
                    f"{ctx.where}",
                    f"status {s!r} is not a status of {collection.name!r}; statuses: {', '.join(statuses)}",
                )
        sets = block.get("set", {})
        if not isinstance(sets, Mapping):
            raise SpecError(f"{ctx.where}.set", "must map facts to the body field that may carry them (or null)")
        envelope = Template(block.get("envelope", "$item"), f"{ctx.where}.envelope", ("item",), raw=("item",))
        name = ctx.path.rstrip("/").rsplit("/", 1)[-1]
        return cls(collection, key, str(to), tuple(allowed), dict(sets), envelope, {key: "key"}, name)

    def __post_init__(self) -> None:
        transition = Transition(self.collection, self.name, self.to, self.allowed, self.sets, self.key)
        object.__setattr__(self, "transition", transition)

    def handle(self, request: ActionRequest) -> Reply:
        """Apply the change atomically, or refuse it with the vendor's 409."""
        runtime = request.runtime
        tenant = request.tenant_index
        value = request.values[self.key]
        body = request.body if isinstance(request.body, Mapping) else None
        # Stamped with the tenant's sandbox clock, not the machine's: a change made at the
        # clock's moment is consistent with every move the clock makes before and after it.
        now = reading(runtime.store, runtime.spec.name, tenant)
        doc = self.transition.apply(runtime.store, runtime.spec, tenant, runtime.tenants[tenant - 1], value, now, body)
        if doc is None:
            raise _not_found(_noun(self.collection), value, self.key)
        return request.reply(self.envelope.dumps({"item": doc}))


TOKEN_VARIABLES = ("access_token", "refresh_token", "expires_in", "token_type", "scope", "jti")


@dataclass(frozen=True, slots=True)
class IssueTokenAction:
    """An OAuth 2 token endpoint (client credentials, and refresh tokens where the API has them)."""

    fields: Mapping[str, str]
    grant_types: tuple[str, ...]
    response: Template
    roles: Mapping[str, str] = field(default_factory=dict)
    public: bool = True
    safe: ClassVar[bool] = False
    FIELD_NAMES: ClassVar[tuple[str, ...]] = (
        "client_id",
        "client_secret",
        "grant_type",
        "refresh_token",
    )

    @classmethod
    def compile(cls, block: Mapping[str, Any], ctx: OperationContext) -> IssueTokenAction:
        """Compile the request field names, grant types and response template."""
        from mock_server.auth import OAuth2Scheme

        ctx.only(block, {"request", "fields", "grant-types", "response"})
        if not isinstance(ctx.auth, OAuth2Scheme):
            raise SpecError(ctx.where, "issue-token needs auth.scheme 'oauth2'")
        fields = {**{n: n for n in cls.FIELD_NAMES}, **(block.get("fields") or {})}
        unknown = set(fields) - set(cls.FIELD_NAMES)
        if unknown:
            raise SpecError(
                f"{ctx.where}.fields",
                f"unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(cls.FIELD_NAMES)}",
            )
        grants = tuple(block.get("grant-types", ["client_credentials"]))
        for g in grants:
            if g not in ("client_credentials", "refresh_token"):
                raise SpecError(
                    f"{ctx.where}.grant-types",
                    f"unknown grant type {g!r}; available: client_credentials, refresh_token",
                )
        return cls(
            fields,
            grants,
            Template(block.get("response"), f"{ctx.where}.response", TOKEN_VARIABLES),
        )

    def handle(self, request: ActionRequest) -> Reply:
        """Exchange client credentials (or a refresh token) for tokens."""
        from mock_server.auth import ACCESS, REFRESH, OAuth2Authenticator

        auth = request.runtime.auth
        assert isinstance(auth, OAuth2Authenticator)
        body = request.body if isinstance(request.body, Mapping) else {}
        grant = body.get(self.fields["grant_type"])
        if grant not in self.grant_types:
            raise ApiError.of(
                "invalid_body",
                f"Unsupported {self.fields['grant_type']} {grant!r}; supported: {', '.join(self.grant_types)}",
                "value_error",
                ("body", self.fields["grant_type"]),
            )
        # Every grant authenticates the client first (RFC 6749 §3.2.1: a confidential client
        # authenticates at the token endpoint whatever the grant).
        tenant = auth.client(
            str(body.get(self.fields["client_id"], "")),
            str(body.get(self.fields["client_secret"], "")),
        )
        if tenant is None:
            raise ApiError.of(
                "unauthorized",
                "Invalid client credentials: unknown client_id or wrong client_secret",
                "unauthorized",
                ("body", self.fields["client_id"]),
            )
        if grant == "refresh_token" and auth.verify(str(body.get(self.fields["refresh_token"], "")), REFRESH) != tenant:
            # invalid_grant is a 400 (RFC 6749 §5.2), and clients fall back to new client
            # credentials on it: a token that is malformed, expired or another client's.
            raise ApiError.of(
                "invalid_body",
                "Invalid refresh token: malformed, expired, or issued to another client",
                "value_error",
                ("body", self.fields["refresh_token"]),
            )
        access, lifetime = auth.issue(tenant, ACCESS)
        refresh = auth.issue(tenant, REFRESH)[0] if auth.scheme.refresh else None
        env = {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": lifetime,
            "token_type": "bearer",
            "scope": f"tenant:{request.runtime.tenants[tenant - 1]['slug']}",
            "jti": access[-32:],
        }
        return request.reply(self.response.dumps(env))


ACTIONS.register("list")(ListAction.compile)
ACTIONS.register("get")(GetAction.compile)
ACTIONS.register("transition")(TransitionAction.compile)
ACTIONS.register("issue-token")(IssueTokenAction.compile)


def link_builder(url_root: str, path: str, query: list[tuple[str, str]]) -> Any:
    """Absolute URL of the same list with some query parameters replaced (others kept in order)."""

    def link(changes: Mapping[str, Any]) -> str:
        pairs = [(k, changes[k] if k in changes else v) for k, v in query]
        seen = {k for k, _ in query}
        pairs += [(k, v) for k, v in changes.items() if k not in seen]
        return f"{url_root}{path}?{'&'.join(f'{_quoted(k)}={_quoted(v)}' for k, v in pairs)}"

    return link


#: What ``quote_plus`` leaves as it is: names, numbers and record IDs nearly always are.
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")


def _quoted(value: Any) -> str:
    """A query name or value as :func:`urllib.parse.urlencode` writes it, without its cost for plain text."""
    text = str(value)
    return text if _PLAIN.fullmatch(text) else quote_plus(text)
