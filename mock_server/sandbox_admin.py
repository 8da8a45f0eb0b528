"""The admin routes of the sandbox's time and saved states: ``/__paymock/clock`` and ``/__paymock/snapshots``.

``GET /__paymock/clock`` reads every tenant's clock; ``POST /__paymock/clock`` moves clocks
forward (``{"by": "30d"}`` or ``{"to": "2026-12-01"}``, for ``"api"`` and ``"tenant"`` or all) and
answers what moved. ``/__paymock/snapshots`` lists, saves (``POST {"name": ...}``), restores
(``POST /<name>/restore``) and deletes (``DELETE /<name>``) saved states. Every refusal is a JSON
``{"error", "message"}`` naming what was wrong and what is allowed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

from mock_server.errors import SpecError
from mock_server.lifecycle.clock import BackwardsError, ClockError, Moved, iso, targets_of
from mock_server.lifecycle.schedule import parse_duration
from mock_server.store import Snapshot

if TYPE_CHECKING:
    from mock_server.sandbox import Sandbox

ADMIN = "/__paymock"
#: What a snapshot may be called (it is part of a URL).
SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CLOCK_KEYS = ("by", "to", "api", "tenant")


class _Refused(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def _json(data: Any, status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    return response


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(body, dict):
        raise _Refused(400, "invalid_body", "the body must be a JSON object")
    return body


def _moment(value: object) -> int:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise _Refused(400, "invalid_body", f"to: {value!r} is not an ISO 8601 date or date-time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _snapshot(snapshot: Snapshot) -> dict[str, Any]:
    return {"name": snapshot.name, "taken": iso(snapshot.taken), "records": snapshot.records}


def _moved(sandbox: Sandbox, moved: Moved) -> dict[str, Any]:
    return {
        api: {
            str(tenant): {
                "clock": iso(sandbox.clock.now(api, tenant)),
                "records": moved.records[api][tenant],
                "moves": dict(sorted(moves.items())),
                "examples": dict(sorted(moved.examples[api][tenant].items())),
            }
            for tenant, moves in tenants.items()
        }
        for api, tenants in moved.moves.items()
    }


def register_sandbox_admin(app: Flask, sandbox: Sandbox) -> None:
    """Add the clock and snapshot routes of ``sandbox`` to ``app``."""

    @app.errorhandler(_Refused)
    def _refused(exc: _Refused) -> Response:
        return _json({"error": exc.error, "message": exc.message}, exc.status)

    @app.get(f"{ADMIN}/clock")
    def clock_read() -> Response:
        readings = sandbox.clock.readings()
        return _json(
            {
                "as_of": iso(sandbox.clock.as_of),
                "clocks": {api: {str(t): iso(m) for t, m in tenants.items()} for api, tenants in readings.items()},
            }
        )

    @app.post(f"{ADMIN}/clock")
    def clock_move() -> Response:
        body = _body()
        unknown = sorted(set(body) - set(CLOCK_KEYS))
        if unknown:
            raise _Refused(
                400, "invalid_body", f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(CLOCK_KEYS)}"
            )
        if ("by" in body) == ("to" in body):
            raise _Refused(
                400, "invalid_body", 'give exactly one of "by" (a duration like "30d") or "to" (an ISO date)'
            )
        try:
            by = parse_duration(body["by"], "by") if "by" in body else None
        except SpecError as exc:
            raise _Refused(400, "invalid_body", str(exc)) from None
        to = _moment(body["to"]) if "to" in body else None
        tenant = body.get("tenant")
        if tenant is not None and (not isinstance(tenant, int) or isinstance(tenant, bool)):
            raise _Refused(400, "invalid_body", f"tenant: must be a tenant number, got {tenant!r}")
        api = body.get("api")
        try:
            pairs = sandbox.clock.select(None if api is None else str(api), tenant)
            moved = sandbox.clock.advance(targets_of(sandbox.clock, pairs, by, to))
        except BackwardsError as exc:
            raise _Refused(409, "backwards", str(exc)) from None
        except ClockError as exc:
            raise _Refused(400, "invalid_body", str(exc)) from None
        return _json({"moved": _moved(sandbox, moved)})

    @app.get(f"{ADMIN}/snapshots")
    def snapshots_list() -> Response:
        return _json({"snapshots": [_snapshot(s) for s in sandbox.store.snapshots()]})

    @app.post(f"{ADMIN}/snapshots")
    def snapshots_save() -> Response:
        name = _body().get("name")
        if not isinstance(name, str) or not SNAPSHOT_NAME.match(name):
            raise _Refused(
                400,
                "invalid_body",
                f"name: {name!r} is not a snapshot name"
                " (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)",
            )
        return _json(_snapshot(sandbox.save_snapshot(name)), 201)

    @app.post(f"{ADMIN}/snapshots/<name>/restore")
    def snapshots_restore(name: str) -> Response:
        snapshot = sandbox.restore_snapshot(name)
        if snapshot is None:
            raise _missing(sandbox, name)
        return _json({"restored": _snapshot(snapshot)})

    @app.delete(f"{ADMIN}/snapshots/<name>")
    def snapshots_delete(name: str) -> Response:
        if not sandbox.store.delete_snapshot(name):
            raise _missing(sandbox, name)
        return _json({"deleted": name})


def _missing(sandbox: Sandbox, name: str) -> _Refused:
    names = [s.name for s in sandbox.store.snapshots()]
    return _Refused(404, "not_found", f"no snapshot named {name!r}; saved: {', '.join(names) or 'none'}")
