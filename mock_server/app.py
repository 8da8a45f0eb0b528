"""The Flask application: every loaded API under its own prefix (or one at the root).

Admin routes live under ``/__paymock/``. All behaviour lives in :mod:`mock_server.handling`; this
module only adapts Flask requests and responses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from mock_server.errors import ApiError
from mock_server.handling import ApiRuntime, Call, Reply

ADMIN = "/__paymock"


def _response(reply: Reply) -> Response:
    return Response(reply.body, status=reply.status, content_type=reply.content_type, headers=reply.headers)


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
) -> Flask:
    """Build the WSGI app.

    Args:
        runtimes: API name -> bound runtime.
        root: Serve this one API at ``/`` instead of under ``/<name>``.
        on_reset: Restores the seeded state; returns how many records it restored.
    """
    app = Flask("paymock")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if root is not None and root not in runtimes:
        raise ValueError(f"--root {root!r} is not one of the served APIs: {', '.join(runtimes)}")
    for name, runtime in runtimes.items():
        prefix = "" if name == root else f"/{name}"
        _register_api(app, runtime, prefix)
    _register_admin(app, runtimes, root, on_reset)

    @app.errorhandler(404)
    def _unknown(_: Exception) -> Response:
        return _json(
            {
                "error": "not_found",
                "message": f"No route for {request.path!r}",
                "apis": [f"/{n}" for n in runtimes],
            },
            404,
        )

    @app.errorhandler(405)
    def _method(_: Exception) -> Response:
        return _json(
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
            return _response(runtime.finish(runtime.error(error), _call(prefix, {})))
        except NotFound:
            pass
        error = ApiError.of(
            "not_found",
            f"No such endpoint: {request.method} {request.path!r}",
            "not_found",
            ("path",),
        )
        return _response(runtime.finish(runtime.error(error), _call(prefix, {})))

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app.add_url_rule(f"{prefix}/<path:rest>", endpoint=f"{api}.__fallback", view_func=fallback, methods=methods)
    if prefix:
        app.add_url_rule(prefix, endpoint=f"{api}.__fallback_root", view_func=fallback, methods=methods)


def _json(data: Any, status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    return response


def _register_admin(
    app: Flask,
    runtimes: Mapping[str, ApiRuntime],
    root: str | None,
    on_reset: Callable[[], int] | None,
) -> None:
    def base(name: str) -> str:
        return request.host_url.rstrip("/") + ("" if name == root else f"/{name}")

    @app.get(f"{ADMIN}/")
    def admin_index() -> Response:
        return _json(
            {
                "apis": {
                    n: {
                        "title": r.spec.title,
                        "base_url": base(n),
                        "operations": [f"{o.method} {o.path}" for o in r.spec.operations],
                    }
                    for n, r in runtimes.items()
                },
                "admin": [
                    f"GET {ADMIN}/credentials",
                    f"GET {ADMIN}/samples",
                    f"POST {ADMIN}/reset",
                    f"GET {ADMIN}/health",
                ],
            }
        )

    @app.get(f"{ADMIN}/health")
    def admin_health() -> Response:
        return _json({"status": "ok", "apis": sorted(runtimes)})

    @app.get(f"{ADMIN}/credentials")
    def admin_credentials() -> Response:
        return _json({n: {"base_url": base(n), "tenants": r.credentials()} for n, r in runtimes.items()})

    @app.get(f"{ADMIN}/samples")
    def admin_samples() -> Response:
        return _json({n: {"base_url": base(n), "tenants": r.samples()} for n, r in runtimes.items()})

    @app.post(f"{ADMIN}/reset")
    def admin_reset() -> Response:
        restored = on_reset() if on_reset is not None else 0
        return _json({"status": "reset", "restored": restored})
