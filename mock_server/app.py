"""The Flask application: every loaded API under its own prefix (or one at the root).

Admin routes live under ``/__paymock/`` (:mod:`mock_server.admin`). All behaviour lives in
:mod:`mock_server.handling`; this module only adapts Flask requests and responses, and sends the
bodies that a wire fault cuts, drips or drops.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from mock_server.admin import ADMIN, Guard, admin_blueprint
from mock_server.admin.routes import json_response
from mock_server.control.plane import ControlPlane
from mock_server.errors import ApiError
from mock_server.handling import ApiRuntime, Call, Reply
from mock_server.store.sqlite.control import SqliteControlState

#: Journal entries an app keeps when it is given no control plane of its own.
DEFAULT_JOURNAL = 1000


def _response(reply: Reply) -> Response:
    if reply.delivery is None:
        return Response(reply.body, status=reply.status, content_type=reply.content_type, headers=reply.headers)
    # gunicorn and Werkzeug hand the connection's socket over: a reset needs it to send an RST.
    sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
    chunks = reply.delivery.chunks(reply.body, sock)
    response = Response(chunks, status=reply.status, content_type=reply.content_type, headers=reply.headers)
    response.headers["Content-Length"] = str(len(reply.body))
    return response


def _call(prefix: str, path_params: Mapping[str, str]) -> Call:
    path = request.path[len(prefix) :] if prefix else request.path
    return Call(
        method=request.method,
        path=path,
        path_params=path_params,
        query=list(request.args.items(multi=True)),
        headers=request.headers,
        body=request.get_data(cache=False),
        content_type=request.content_type,
        root=lambda: f"{request.environ['wsgi.url_scheme']}://{request.host}{prefix}",
    )


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
    if root is not None and root not in runtimes:
        raise ValueError(f"--root {root!r} is not one of the served APIs: {', '.join(runtimes)}")
    if control is None:
        seed = next(iter(runtimes.values())).seed if runtimes else 1
        control = ControlPlane(SqliteControlState(":memory:", DEFAULT_JOURNAL), runtimes, seed, journal=True)
    guard = guard or Guard()
    for name, runtime in runtimes.items():
        runtime.control = control
        prefix = "" if name == root else f"/{name}"
        _register_api(app, runtime, prefix)
    app.register_blueprint(admin_blueprint(runtimes, control, root, on_reset))

    @app.before_request
    def _guard() -> Response | None:
        refused = guard.host(request)
        if refused is None and request.path.startswith(ADMIN + "/"):
            refused = guard.admin(request, health=request.path == f"{ADMIN}/health")
        return refused

    @app.errorhandler(404)
    def _unknown(_: Exception) -> Response:
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
        return json_response(
            {
                "error": "method_not_allowed",
                "message": f"{request.method} is not allowed on {request.path!r}",
            },
            405,
        )

    return app


def _register_api(app: Flask, runtime: ApiRuntime, prefix: str) -> None:
    api = runtime.spec.name
    own_map = Map([Rule(op.rule, methods=[op.method], endpoint=op.operation_id) for op in runtime.spec.operations])
    for op in runtime.spec.operations:

        def view(_op: Any = op, **path_params: str) -> Response:
            return _response(runtime.handle(_op, _call(prefix, path_params)))

        app.add_url_rule(
            prefix + op.rule,
            endpoint=f"{api}.{op.operation_id}",
            view_func=view,
            methods=[op.method],
        )

    def fallback(rest: str = "") -> Response:
        # Unknown paths and methods inside the API answer in the vendor's own error format.
        adapter = own_map.bind("localhost")
        try:
            adapter.match("/" + rest, method=request.method)
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.valid_methods or ()))
            error = ApiError.of(
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path!r}; allowed: {allowed}",
                "method_not_allowed",
            )
            error.headers["Allow"] = allowed
            return _response(runtime.unrouted(_call(prefix, {}), runtime.error(error)))
        except NotFound:
            pass
        error = ApiError.of(
            "not_found",
            f"No such endpoint: {request.method} {request.path!r}",
            "not_found",
            ("path",),
        )
        return _response(runtime.unrouted(_call(prefix, {}), runtime.error(error)))

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app.add_url_rule(f"{prefix}/<path:rest>", endpoint=f"{api}.__fallback", view_func=fallback, methods=methods)
    if prefix:
        app.add_url_rule(prefix, endpoint=f"{api}.__fallback_root", view_func=fallback, methods=methods)
