"""The request pipeline of one API, with no web framework.

Authenticate, check the tenant, validate parameters and body, run the action, and shape the
reply (content type, echoed headers, gzip). :mod:`mock_server.app` adapts Flask requests to :class:`Call` and back.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server.actions import link_builder
from mock_server.auth import Authenticator, Headers, credential_facts
from mock_server.control.faults import Exchange
from mock_server.errors import ApiError, Problem, StoreUnavailableError, wire_text
from mock_server.query import IGNORED_HEADER, ignored_header
from mock_server.spec import ApiSpec, OperationSpec
from mock_server.store import BaseStore as Store
from mock_server.world import Facts, tenant_facts

if TYPE_CHECKING:
    from mock_server.control.faults import Delivery
    from mock_server.control.plane import ControlPlane, Injection

log = logging.getLogger("paymock")


@dataclass(slots=True)
class Call:
    """One HTTP request, as the pipeline needs it.

    Attributes:
        method: HTTP method.
        path: Path below the API's root (``/v1/payments``).
        path_params: Values of the path template's parameters.
        query: Query parameters in order, repeated names kept.
        headers: Case-insensitive request headers.
        body: Raw body.
        content_type: The ``Content-Type`` header.
        root: Absolute URL of the API's root, for links (``http://127.0.0.1:8080/<api>``), computed
            only when a link is made: most requests never need it.
    """

    method: str
    path: str
    path_params: Mapping[str, str]
    query: list[tuple[str, str]]
    headers: Headers
    body: bytes
    content_type: str | None
    root: Callable[[], str]
    _url_root: str | None = None

    @property
    def url_root(self) -> str:
        """Absolute URL of the API's root (built once per request, only if a link needs it)."""
        if self._url_root is None:
            self._url_root = self.root()
        return self._url_root


@dataclass(slots=True)
class Reply:
    """An HTTP response."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    #: Set by a wire fault (reset, cut or slow body): how the web adapter must send the body.
    delivery: Delivery | None = None


@dataclass(slots=True)
class ActionRequest:
    """A validated request, handed to an action."""

    runtime: ApiRuntime
    operation: OperationSpec
    call: Call
    tenant: int | None
    values: dict[str, Any]
    body: Any
    now: float

    @property
    def tenant_index(self) -> int:
        """The authenticated tenant (actions that need one run only behind auth)."""
        assert self.tenant is not None
        return self.tenant

    def link(self, changes: Mapping[str, Any]) -> str:
        """Absolute URL of this request with some query parameters replaced."""
        return str(link_builder(self.call.url_root, self.call.path, self.call.query)(changes))

    def reply(self, body: bytes, status: int = 200) -> Reply:
        """A successful reply in the API's media type."""
        return Reply(status, body, self.runtime.spec.responses.media_type)


class ApiRuntime:
    """One API bound to a store and a seed: credentials derived, tenants known.

    Args:
        spec: The loaded document.
        store: The shared store.
        seed: Dataset seed (decides credentials too).
        tenants: How many tenants the data holds.

    Attributes:
        control: Fault rules and journal, when the server has them (set by :func:`mock_server.app.create_app`).
    """

    control: ControlPlane | None = None

    def __init__(self, spec: ApiSpec, store: Store, seed: int, tenants: int) -> None:
        self.spec = spec
        self.store = store
        self.seed = seed
        self.tenants: list[Facts] = [tenant_facts(seed, spec.name, i) for i in range(1, tenants + 1)]
        self.auth: Authenticator = spec.auth.bind(seed, spec.name, self.tenants)
        self.selector_values: list[dict[tuple[str, str], str]] = [
            {
                (s.location, s.name.lower()): s.template.format_map(credential_facts(seed, spec.name, t))
                for s in spec.selectors
            }
            for t in self.tenants
        ]
        # The journal masks these (and any header whose name says key, token, secret...).
        self.secret_headers = frozenset({str(getattr(spec.auth, "header", "Authorization")).lower()})

    def credentials(self) -> list[dict[str, Any]]:
        """Every tenant's sandbox credentials and tenant identifiers."""
        out = []
        for i, tenant in enumerate(self.tenants, start=1):
            entry: dict[str, Any] = {
                "tenant": tenant["slug"],
                "name": tenant["name"],
                **self.auth.credentials(i),
            }
            selectors = {s.name: self.selector_values[i - 1][(s.location, s.name.lower())] for s in self.spec.selectors}
            if selectors:
                entry["selectors"] = selectors
            params = self._known_params(i)
            if params:
                entry["params"] = params
            out.append(entry)
        return out

    def _known_params(self, tenant: int) -> dict[str, Any]:
        """One real value for every path parameter that scopes a list (an invoice with payments).

        A client (or the contract kit) cannot discover these through an API that has no list of
        the parent records.
        """
        known: dict[str, Any] = {}
        for op in self.spec.operations:
            for scope in getattr(op.action, "scopes", ()):
                if scope.param not in known:
                    table = op.action.collection.table  # type: ignore[attr-defined]
                    found = self.store.sample(table, tenant, scope.column.sql, 1)
                    if found:
                        known[scope.param] = found[0]
        return known

    def samples(self, n: int = 5) -> list[dict[str, Any]]:
        """Per tenant and collection: some record IDs and some values of every scope column.

        These are the IDs a newcomer needs to try a detail or a nested list.
        """
        scoped: dict[str, set[str]] = {}
        for op in self.spec.operations:
            for scope in getattr(op.action, "scopes", ()):
                scoped.setdefault(op.action.collection.name, set()).add(scope.column.name)  # type: ignore[attr-defined]
        out = []
        for i, tenant in enumerate(self.tenants, start=1):
            entry: dict[str, Any] = {"tenant": tenant["slug"]}
            for name, coll in self.spec.collections.items():
                found: dict[str, Any] = {"ids": self.store.sample(coll.table, i, "id", n)}
                for column in sorted(scoped.get(name, ())):
                    found[column] = self.store.sample(coll.table, i, coll.columns[column].sql, n)
                entry[name] = found
            out.append(entry)
        return out

    def handle(self, op: OperationSpec, call: Call) -> Reply:
        """Answer one request; every refusal is in the vendor's error format.

        With a control plane, a request that authenticated may get a fault (a rule's, or its
        ``Prefer`` header's) instead of or around its normal answer, and every request is journaled.
        Query parameters the operation does not declare are named in :data:`IGNORED_HEADER`.
        """
        started = time.perf_counter()
        tenant: int | None = None
        injection: Injection | None = None
        ignored: list[str] = []
        try:
            if op.secured and not self.spec.validate_first:
                tenant = self._authenticate(call)
            values, ignored, problems = self._values(op, call)
            if self.spec.validate_first:
                # The framework validates the route's parameters before the route checks the key.
                _raise_problems(problems)
                tenant = self._authenticate(call) if op.secured else None
            if self.control is None:
                reply = self._answer(op, call, tenant, values, problems)
            else:
                injection, reply = self._controlled(self.control, op, call, tenant, values, problems)
        except ApiError as error:
            reply = self.error(error)
        except StoreUnavailableError as exc:  # the fault rules' database (shared by replicas) is away
            log.warning("control state unavailable answering %s %s: %s", call.method, call.path, exc)
            reply = self.unavailable()
        except Exception:
            reply = self._internal(call)
        if ignored:
            reply.headers[IGNORED_HEADER] = ignored_header(ignored)
        reply = self.finish(reply, call)
        if self.control is not None:
            self.control.record(self, op.operation_id, call, self._slug(tenant), reply, started, injection)
        return reply

    def _controlled(
        self,
        control: ControlPlane,
        op: OperationSpec,
        call: Call,
        tenant: int | None,
        values: dict[str, Any],
        problems: list[Problem],
    ) -> tuple[Injection | None, Reply]:
        """The answer and the fault it gets, if any: a ``Prefer`` header's, else a stored rule's.

        An operation that changes nothing is answered first and its rule chosen after, in one
        :meth:`~mock_server.control.plane.ControlPlane.observing` scope: the rules are those of the
        generation the answer's own store statement read (on PostgreSQL, one round trip a request
        instead of two). One that changes something chooses first, so that its fault stops the
        change. Either way a fault replaces the answer or wraps it (a delay, a slow or cut body).
        """
        injection = control.requested(call)
        if injection is None and op.action.safe:
            with control.observing():
                reply = self._answer(op, call, tenant, values, problems)
                injection = control.matched(self.spec.name, self._slug(tenant), op.operation_id, call)
            if injection is None:
                return None, reply
            return injection, injection.answer(Exchange(lambda: reply, self.error, injection.rng))
        if injection is None:
            injection = control.matched(self.spec.name, self._slug(tenant), op.operation_id, call)
        if injection is None:
            return None, self._answer(op, call, tenant, values, problems)
        exchange = Exchange(lambda: self._answer(op, call, tenant, values, problems), self.error, injection.rng)
        return injection, injection.answer(exchange)

    def _answer(
        self, op: OperationSpec, call: Call, tenant: int | None, values: dict[str, Any], problems: list[Problem]
    ) -> Reply:
        """The normal answer of an authenticated request: parameters, body, action."""
        try:
            _raise_problems(problems)
            if tenant is not None:
                # Path IDs are typed: a framework validates them before the handler compares
                # them with the credentials' tenant (FastAPI's 422 comes before the route's 403).
                self._check_tenant(call, tenant, "path", values)
            body = op.body.parse(call.body, call.content_type) if op.body is not None else None
            return op.action.handle(ActionRequest(self, op, call, tenant, values, body, time.time()))
        except ApiError as error:
            return self.error(error)
        except StoreUnavailableError as exc:
            # The database is away for the moment (a replica lost its connection): a 503 in the
            # vendor's shape, which clients retry; the store reconnects once it is back.
            log.warning("store unavailable answering %s %s: %s", call.method, call.path, exc)
            return self.unavailable()
        except Exception:
            return self._internal(call)

    def _internal(self, call: Call) -> Reply:
        # Never a bare 500: log the cause, answer in the vendor's own shape.
        log.exception("unexpected error answering %s %s", call.method, call.path)
        return self.error(ApiError.of("internal", "Internal error in paymock; see the server log", "internal"))

    def _slug(self, tenant: int | None) -> str | None:
        return None if tenant is None else str(self.tenants[tenant - 1]["slug"])

    def unrouted(self, call: Call, reply: Reply) -> Reply:
        """Finish and journal the answer to a path or method the API does not have."""
        reply = self.finish(reply, call)
        if self.control is not None:
            self.control.record(self, None, call, None, reply, time.perf_counter(), None)
        return reply

    def _authenticate(self, call: Call) -> int:
        """The tenant of the request's credentials, whose header selectors must name it too."""
        tenant = self.auth.authenticate(call.headers)
        self._check_tenant(call, tenant, "header", {})
        return tenant

    def _values(self, op: OperationSpec, call: Call) -> tuple[dict[str, Any], list[str], list[Problem]]:
        query, ignored, problems = op.query.read(call.query)
        values: dict[str, Any] = {}
        for p in op.params:
            if p.location == "query":
                raw = query.get(p.name)
            elif p.location == "header":
                raw = call.headers.get(p.name)
            else:
                raw = call.path_params.get(p.name)
            if raw is None and not p.required:
                values[p.name] = p.default  # what parse() gives an absent optional one, without the call
                continue
            value, found = p.parse(raw)
            values[p.name] = value
            if found:
                problems.extend(found)
        return values, ignored, problems

    def _check_tenant(self, call: Call, tenant: int, location: str, values: Mapping[str, Any]) -> None:
        """Check the selectors in ``location`` against the tenant; a typed path parameter by its parsed value."""
        expected = self.selector_values[tenant - 1]
        for s in self.spec.selectors:
            if s.location != location:
                continue
            given = call.headers.get(s.name) if s.location == "header" else call.path_params.get(s.name)
            if given is None:
                if s.location == "header" and s.required:
                    raise ApiError.of(
                        "missing_parameter",
                        f"Missing required header {s.name!r}: it names your tenant",
                        "missing",
                        ("header", s.name),
                    )
                continue
            if values.get(s.name, given) != expected[(s.location, s.name.lower())]:
                where = "header" if s.location == "header" else "path parameter"
                raise ApiError.of(
                    s.mismatch,
                    f"The {where} {s.name!r} ({wire_text(given)!r}) does not name the tenant "
                    "these credentials belong to",
                    s.mismatch,
                    (s.location, s.name),
                )

    def error(self, error: ApiError) -> Reply:
        """Render an :class:`ApiError` in the vendor's format."""
        status, body = self.spec.errors.render(error)
        return Reply(status, body, self.spec.errors.media_type, dict(error.headers))

    def unavailable(self) -> Reply:
        """The vendor's internal error, as a 503 with ``Retry-After``: the store cannot be reached now."""
        error = ApiError.of("internal", "The sandbox's database is unavailable; retry shortly", "unavailable")
        status, body = self.spec.errors.render(error, status=503)
        return Reply(status, body, self.spec.errors.media_type, {"Retry-After": "1"})

    def finish(self, reply: Reply, call: Call) -> Reply:
        """Echo documented headers and gzip large bodies for clients that ask."""
        settings = self.spec.responses
        for name in settings.echo_headers:
            value = call.headers.get(name)
            if value is not None:
                reply.headers[name] = value
        if settings.gzip_min_bytes is not None and len(reply.body) > settings.gzip_min_bytes:
            reply.headers["Vary"] = "Accept-Encoding"
            if _accepts_gzip(call.headers.get("Accept-Encoding") or ""):
                reply.body = gzip.compress(reply.body, compresslevel=5, mtime=0)
                reply.headers["Content-Encoding"] = "gzip"
        return reply


def _raise_problems(problems: list[Problem]) -> None:
    """Refuse a request whose parameters have problems: missing ones alone, or any invalid one."""
    if problems:
        kind = "missing_parameter" if all(p.type == "missing" for p in problems) else "invalid_parameter"
        raise ApiError(kind, problems)


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "*"):
            return "q=0" not in params.replace(" ", "") or "q=0." in params.replace(" ", "")
    return False


def runtimes(specs: Sequence[ApiSpec], store: Store, seed: int, tenants: Mapping[str, int]) -> dict[str, ApiRuntime]:
    """Bind every API to the store and seed."""
    return {s.name: ApiRuntime(s, store, seed, tenants.get(s.name, s.tenants)) for s in specs}
