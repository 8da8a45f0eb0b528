"""The admin API under ``/__paymock/``: credentials, samples, reset, fault rules, journal, verification.

Described in ``mock_server/admin/openapi.yaml``. Every parameter is validated, and a mistake is a
400 ``{"error": ..., "message": ...}`` naming the parameter and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from mock_server.control.plane import ControlPlane
from mock_server.control.rules import RuleError
from mock_server.control.state import JournalQuery
from mock_server.control.verification import Pattern, PatternError
from mock_server.errors import StoreUnavailableError
from mock_server.handling import ApiRuntime

ADMIN = "/__paymock"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
JOURNAL_PARAMS = ("api", "tenant", "operation", "method", "path", "status", "since", "limit", "offset")
MAX_LIMIT = 1000


class AdminError(Exception):
    """A refused admin request: status, error code and a message saying what is allowed."""

    def __init__(self, message: str, status: int = 400, error: str = "invalid_parameter") -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON response (orjson: the journal pages can be large)."""
    return Response(orjson.dumps(data), status=status, content_type="application/json")


def _body() -> Any:
    if request.mimetype != "application/json":
        raise AdminError(
            f"send the body as application/json (got {request.mimetype or 'no content type'!r})",
            415,
            "unsupported_media_type",
        )
    try:
        return orjson.loads(request.get_data())
    except orjson.JSONDecodeError as exc:
        raise AdminError(f"the body is not valid JSON: {exc}", 400, "invalid_body") from None


def _int(args: MultiDict[str, str], name: str, low: int, high: int, default: int | None) -> int | None:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AdminError(f"query parameter {name!r} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise AdminError(f"query parameter {name!r} must be between {low} and {high}, got {value}")
    return value


def _since(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise AdminError(f"query parameter 'since' must be ISO 8601 or Unix seconds, got {raw!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def journal_query(args: MultiDict[str, str], apis: Mapping[str, ApiRuntime]) -> JournalQuery:
    """Validate the journal's query parameters."""
    unknown = sorted(set(args) - set(JOURNAL_PARAMS))
    if unknown:
        raise AdminError(f"unknown query parameter(s) {', '.join(unknown)}; allowed: {', '.join(JOURNAL_PARAMS)}")
    api = args.get("api")
    if api is not None and api not in apis:
        raise AdminError(f"query parameter 'api' is {api!r}; served APIs: {', '.join(sorted(apis))}")
    method = args.get("method")
    if method is not None and method.upper() not in METHODS:
        raise AdminError(f"query parameter 'method' is {method!r}; allowed: {', '.join(METHODS)}")
    return JournalQuery(
        api=api,
        tenant=args.get("tenant"),
        operation=args.get("operation"),
        method=method.upper() if method else None,
        path=args.get("path"),
        status=_int(args, "status", 100, 599, None),
        since=_since(args.get("since")),
        limit=_int(args, "limit", 1, MAX_LIMIT, 50) or 50,
        offset=_int(args, "offset", 0, 1 << 31, 0) or 0,
    )


def admin_blueprint(
    runtimes: Mapping[str, ApiRuntime],
    control: ControlPlane,
    root: str | None,
    on_reset: Callable[[], int] | None,
) -> Blueprint:
    """The admin routes, bound to the served APIs and the control plane."""
    admin = Blueprint("paymock_admin", __name__, url_prefix=ADMIN)

    def base(name: str) -> str:
        return request.host_url.rstrip("/") + ("" if name == root else f"/{name}")

    @admin.before_request
    def _no_stray_parameters() -> None:
        # Only the journal's list takes query parameters; elsewhere one is a mistake worth naming.
        if request.args and request.endpoint != f"{admin.name}.list_requests":
            names = ", ".join(sorted(request.args))
            raise AdminError(f"unknown query parameter(s) {names}; {request.path} takes none")

    @admin.errorhandler(AdminError)
    def _refused(error: AdminError) -> Response:
        return json_response({"error": error.error, "message": error.message}, error.status)

    @admin.errorhandler(RuleError)
    def _bad_rule(error: RuleError) -> Response:
        return json_response({"error": "invalid_rule", "message": str(error), "where": error.where}, 400)

    @admin.errorhandler(StoreUnavailableError)
    def _store_away(error: StoreUnavailableError) -> Response:
        # A shared database away for the moment (credentials and samples read it): a 503 to retry, as lists answer.
        answer = json_response({"error": "store_unavailable", "message": f"{error}; retry shortly"}, 503)
        answer.headers["Retry-After"] = "1"
        return answer

    @admin.get("/")
    def index() -> Response:
        return json_response(
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
                    f"GET|POST|DELETE {ADMIN}/faults",
                    f"DELETE {ADMIN}/faults/{{id}}",
                    f"GET|DELETE {ADMIN}/requests",
                    f"POST {ADMIN}/requests/verify",
                    f"GET|POST {ADMIN}/clock",
                    f"GET|POST {ADMIN}/snapshots",
                    f"POST {ADMIN}/snapshots/{{name}}/restore",
                    f"DELETE {ADMIN}/snapshots/{{name}}",
                    f"POST {ADMIN}/fixtures",
                ],
            }
        )

    @admin.get("/health")
    def health() -> Response:
        return json_response({"status": "ok", "apis": sorted(runtimes)})

    @admin.get("/credentials")
    def credentials() -> Response:
        return json_response({n: {"base_url": base(n), "tenants": r.credentials()} for n, r in runtimes.items()})

    @admin.get("/samples")
    def samples() -> Response:
        return json_response({n: {"base_url": base(n), "tenants": r.samples()} for n, r in runtimes.items()})

    @admin.post("/reset")
    def reset() -> Response:
        restored = on_reset() if on_reset is not None else 0
        return json_response({"status": "reset", "restored": restored})

    @admin.get("/faults")
    def list_faults() -> Response:
        return json_response({"rules": control.listing()})

    @admin.post("/faults")
    def add_faults() -> Response:
        rules = control.add(_body(), "request body")
        return json_response({"rules": [r.source for r in rules]}, 201)

    @admin.delete("/faults")
    def clear_faults() -> Response:
        return json_response({"deleted": control.state.clear_rules()})

    @admin.delete("/faults/<rule_id>")
    def delete_fault(rule_id: str) -> Response:
        if not control.state.delete_rule(rule_id):
            known = [r["id"] for r in control.listing()]
            raise AdminError(f"no fault rule {rule_id!r}; rules: {', '.join(known) or 'none'}", 404, "not_found")
        return json_response({"deleted": 1})

    @admin.get("/requests")
    def list_requests() -> Response:
        query = journal_query(request.args, runtimes)
        entries, total = control.requests(query)
        page: dict[str, Any] = {"requests": entries, "total": total, "limit": query.limit, "offset": query.offset}
        if query.offset + len(entries) < total:
            args = request.args.to_dict()
            args["offset"] = str(query.offset + len(entries))
            page["next"] = request.base_url + "?" + "&".join(f"{k}={v}" for k, v in args.items())
        return json_response(page)

    @admin.delete("/requests")
    def clear_requests() -> Response:
        return json_response({"deleted": control.state.clear_requests()})

    @admin.post("/requests/verify")
    def verify_requests() -> Response:
        body = _body()
        try:
            pattern = Pattern.load(body)
        except PatternError as exc:
            raise AdminError(str(exc), 400, "invalid_body") from None
        api = pattern.fields.get("api")
        if api is not None and api not in runtimes:
            served = ", ".join(sorted(runtimes))
            raise AdminError(f"pattern names API {api!r}; served APIs: {served}", 400, "invalid_body")
        return json_response(control.verify(pattern).as_json())

    return admin
