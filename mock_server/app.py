"""The Flask application: every loaded API under its own prefix (or one at the root).

Admin routes live under ``/__paymock/`` (:mod:`mock_server.admin`). All behaviour lives in
:mod:`mock_server.handling`; this module only adapts Flask requests and responses, and sends the
bodies that a wire fault cuts, drips or drops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Flask, Response, request
from werkzeug.datastructures import EnvironHeaders, MultiDict
from werkzeug.routing import Map, Rule

from mock_server.admin import ADMIN, Guard, admin_blueprint
from mock_server.admin.routes import json_response
from mock_server.control.plane import ControlPlane
from mock_server.errors import ApiError
from mock_server.handling import ApiRuntime, Call, Reply
from mock_server.store.sqlite.control import SqliteControlState

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.wrappers import Request

#: Journal entries an app keeps when it is given no control plane of its own.
DEFAULT_JOURNAL = 1000


def _response(reply: Reply, environ: WSGIEnvironment) -> Response:
    if reply.delivery is None:
        return Response(reply.body, status=reply.status, content_type=reply.content_type, headers=reply.headers)
    # gunicorn and Werkzeug hand the connection's socket over: a reset needs it to send an RST.
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    chunks = reply.delivery.chunks(reply.body, sock)
    response = Response(chunks, status=reply.status, content_type=reply.content_type, headers=reply.headers)
    response.headers["Content-Length"] = str(len(reply.body))
    return response


class RequestHeaders(EnvironHeaders):
    """The request's headers, as Werkzeug reads them from the WSGI environ, listed faster.

    The journal lists every request's headers. Werkzeug spells each environ key as a header name
    (``HTTP_TENANT_ID`` -> ``Tenant-Id``) every time; this spells each key once per process, and
    may be listed from another thread.
    """

    def __iter__(self) -> Iterator[tuple[str, str]]:
        names = _HEADER_NAMES
        # A copy first (one step, under the GIL): the journal's writer reads a request's headers
        # from its own thread, while the request's thread may still add to its environ.
        for key, value in list(self.environ.items()):
            name = names.get(key, "")
            if name == "":
                name = _header_name(key)
                if len(names) < _HEADER_NAMES_KEPT:  # a client can send any names: keep a bounded few
                    names[key] = name
            if name is not None and (value or key.startswith("HTTP_")):  # as Werkzeug: no empty Content-Type
                yield name, value

    def _get_key(self, key: str) -> str:
        # What Werkzeug's lookup does (``Tenant-ID`` -> ``HTTP_TENANT_ID``), the spelling kept per name:
        # a request looks up its few headers by the same names the documents declare.
        name = _ENVIRON_KEYS.get(key)
        if name is None:
            name = key.upper().replace("-", "_")
            if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = f"HTTP_{name}"
            if len(_ENVIRON_KEYS) < _HEADER_NAMES_KEPT:
                _ENVIRON_KEYS[key] = name
        return self.environ[name]  # type: ignore[no-any-return]


#: Environ key -> header name (None: not a header), as Werkzeug's ``EnvironHeaders`` spells them.
_HEADER_NAMES: dict[str, str | None] = {}
_HEADER_NAMES_KEPT = 1024
#: Header name as looked up -> its environ key.
_ENVIRON_KEYS: dict[str, str] = {}


def _header_name(key: str) -> str | None:
    if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        return key[5:].replace("_", "-").title()
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key.replace("_", "-").title()
    return None


class UnreadableBodyError(Exception):
    """The WSGI server could not decode the request body (a malformed chunked encoding, say)."""


def _call(request: Request, prefix: str, path_params: Mapping[str, str], *, read_body: bool = True) -> Call:
    path = request.path[len(prefix) :] if prefix else request.path
    body = b""
    environ = request.environ
    # Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 6.3): a list's
    # GET skips Werkzeug's stream (and Flask's limit lookup in the app context) for b"".
    if read_body and ("CONTENT_LENGTH" in environ or "HTTP_TRANSFER_ENCODING" in environ):
        try:
            body = request.get_data(cache=False)
        except Exception as exc:
            # Whatever the server raises for a body it cannot decode (gunicorn's InvalidChunkSize,
            # Werkzeug's OSError, a disconnect): the client's fault, answered as such.
            raise UnreadableBodyError(str(exc) or type(exc).__name__) from exc
    return Call(
        method=request.method,
        path=path,
        path_params=path_params,
        query=_query(request),
        headers=RequestHeaders(environ),
        body=body,
        content_type=request.content_type,
        root=lambda: f"{environ['wsgi.url_scheme']}://{request.host}{prefix}",
    )


def _query(request: Request) -> list[tuple[str, str]]:
    """The query's pairs as ``request.args.items(multi=True)`` lists them, without building the MultiDict."""
    pairs = parse_qsl(request.query_string.decode(), keep_blank_values=True, errors="werkzeug.url_quote")
    if len({name for name, _ in pairs}) < len(pairs):
        # A repeated name: a MultiDict lists a name's values together, at its first place.
        return list(MultiDict(pairs).items(multi=True))
    return pairs


def _refused(runtime: ApiRuntime, request: Request, prefix: str, error: ApiError) -> Reply:
    """An error of the API's own, in its format, with the headers it echoes (and journaled)."""
    return runtime.unrouted(_call(request, prefix, {}, read_body=False), runtime.error(error))


def _refuse(runtime: ApiRuntime, request: Request, prefix: str, error: ApiError) -> Response:
    return _response(_refused(runtime, request, prefix, error), request.environ)


def _unreadable(runtime: ApiRuntime, request: Request, prefix: str, exc: UnreadableBodyError) -> Reply:
    error = ApiError.of(
        "invalid_body",
        f"The request body cannot be read ({exc}): send a valid Content-Length or chunked encoding",
        "value_error",
        ("body",),
    )
    return _refused(runtime, request, prefix, error)


def create_app(
    runtimes: Mapping[str, ApiRuntime],
    *,
    root: str | None = None,
    on_reset: Callable[[], int] | None = None,
    control: ControlPlane | None = None,
    guard: Guard | None = None,
) -> Flask:
    """Build the WSGI app.

    Args:
        runtimes: API name -> bound runtime.
        root: Serve this one API at ``/`` instead of under ``/<name>``.
        on_reset: Restores the seeded state; returns how many records it restored.
        control: Fault rules and journal (default: an in-process one keeping 1000 entries).
        guard: Who may use the server (default: loopback Host names, no admin token).
    """
    app = Flask("paymock")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # No 308 redirect from `//` to `/` (an HTML page, and a POST a client would not repeat):
    # vendors' routers answer such a path with their 404, and so does each API here.
    app.url_map.merge_slashes = False
    if root is not None and root not in runtimes:
        raise ValueError(f"--root {root!r} is not one of the served APIs: {', '.join(runtimes)}")
    if control is None:
        seed = next(iter(runtimes.values())).seed if runtimes else 1
        control = ControlPlane(SqliteControlState(":memory:", DEFAULT_JOURNAL), runtimes, seed, journal=True)
    guard = guard or Guard()
    fallbacks: list[tuple[str, Callable[[], Response]]] = []
    for name, runtime in runtimes.items():
        runtime.control = control
        prefix = "" if name == root else f"/{name}"
        fallbacks.append((prefix, _register_api(app, runtime, prefix)))
    fallbacks.sort(key=lambda pair: -len(pair[0]))  # an API at the root is the last resort
    app.register_blueprint(admin_blueprint(runtimes, control, root, on_reset))

    def owner() -> Callable[[], Response] | None:
        """The fallback of the API whose namespace the request's path is in."""
        path = request.path
        if path.startswith(ADMIN + "/") or path == ADMIN:
            return None
        for prefix, fallback in fallbacks:
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return fallback
        return None

    @app.before_request
    def _guard() -> Response | None:
        refused = guard.host(request)
        if refused is None and request.path.startswith(ADMIN + "/"):
            refused = guard.admin(request, health=request.path == f"{ADMIN}/health")
        return refused

    @app.errorhandler(404)
    def _unknown(_: Exception) -> Response:
        fallback = owner()
        if fallback is not None:
            return fallback()
        return json_response(
            {
                "error": "not_found",
                "message": f"No route for {request.path!r}",
                "apis": [f"/{n}" for n in runtimes],
            },
            404,
        )

    @app.errorhandler(405)
    def _method(_: Exception) -> Response:
        # TRACE, CONNECT and methods no route names reach here, not the API's fallback route.
        fallback = owner()
        if fallback is not None:
            return fallback()
        return json_response(
            {
                "error": "method_not_allowed",
                "message": f"{request.method} is not allowed on {request.path!r}",
            },
            405,
        )

    return app


def _register_api(app: Flask, runtime: ApiRuntime, prefix: str) -> Callable[[], Response]:
    """Route every operation of one API; returns its fallback, which answers the rest in its format."""
    api = runtime.spec.name
    own_map = Map(
        [Rule(op.rule, methods=[op.method], endpoint=op.operation_id) for op in runtime.spec.operations],
        merge_slashes=False,
    )
    for op in runtime.spec.operations:

        def view(_op: Any = op, **path_params: str) -> Response:
            # The request object itself, not Flask's proxy: the pipeline reads it a dozen times.
            req: Request = request._get_current_object()  # type: ignore[attr-defined]
            try:
                call = _call(req, prefix, path_params)
            except UnreadableBodyError as exc:
                return _response(_unreadable(runtime, req, prefix, exc), req.environ)
            return _response(runtime.handle(_op, call), req.environ)

        app.add_url_rule(
            prefix + op.rule,
            endpoint=f"{api}.{op.operation_id}",
            view_func=view,
            methods=[op.method],
            # OPTIONS is the fallback's, which lists only this API's methods for the path.
            provide_automatic_options=False,
        )

    def fallback(rest: str = "") -> Response:
        # Unknown paths and methods inside the API, and OPTIONS, answer in the vendor's own format.
        path = request.path[len(prefix) :] if prefix else request.path
        # Werkzeug strips a path's leading slashes before matching; an empty segment anywhere
        # names no route of the API (no vendor serves `//v1/payments` as `/v1/payments`).
        served = [] if "//" in path else own_map.bind("localhost").allowed_methods(path or "/")
        if served:
            allowed = ", ".join(sorted({*served, "OPTIONS"}))
            if request.method == "OPTIONS":
                options = Reply(200, b"", runtime.spec.responses.media_type, {"Allow": allowed})
                reply = runtime.unrouted(_call(request, prefix, {}, read_body=False), options)
                return _response(reply, request.environ)
            error = ApiError.of(
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path!r}; allowed: {allowed}",
                "method_not_allowed",
            )
            error.headers["Allow"] = allowed
            return _refuse(runtime, request, prefix, error)
        error = ApiError.of(
            "not_found",
            f"No such endpoint: {request.method} {request.path!r}",
            "not_found",
            ("path",),
        )
        return _refuse(runtime, request, prefix, error)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    for rule, endpoint in ((f"{prefix}/<path:rest>", "__fallback"), (prefix, "__fallback_root")):
        if rule:
            app.add_url_rule(
                rule, endpoint=f"{api}.{endpoint}", view_func=fallback, methods=methods, provide_automatic_options=False
            )
    return fallback
