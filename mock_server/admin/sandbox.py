"""The admin routes of the sandbox's time and saved states: ``/__paymock/clock`` and ``/__paymock/snapshots``.

``GET /__paymock/clock`` reads every tenant's clock; ``POST /__paymock/clock`` moves clocks
forward (``{"by": "30d"}``, ``{"by": "P1DT12H"}`` or ``{"to": "2026-12-01"}``, for ``"api"`` and
``"tenant"`` or all) and answers what moved. ``/__paymock/snapshots`` lists, saves (``POST {"name": ...}``), restores
(``POST /<name>/restore``) and deletes (``DELETE /<name>``) saved states. ``POST
/__paymock/fixtures`` loads a fixture file (a JSON or YAML body, :mod:`mock_server.fixtures`)
and seeds anew the worlds it changes; a mistake is a 400 naming its line or path, and nothing
is changed. Described with the rest
of the admin API in ``mock_server/admin/openapi.yaml``, guarded as it is (``create_app``), and
refused as it refuses: a JSON ``{"error", "message"}`` naming what was wrong and what is allowed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, request

from mock_server.admin.routes import ADMIN, AdminError, json_response
from mock_server.admin.routes import _body as json_body
from mock_server.errors import SpecError
from mock_server.fixtures import FixtureError
from mock_server.lifecycle.clock import BackwardsError, ClockError, Moved, iso, targets_of
from mock_server.lifecycle.schedule import parse_duration
from mock_server.store import Snapshot

if TYPE_CHECKING:
    from mock_server.sandbox import Sandbox

#: What a snapshot may be called (it is part of a URL).
SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CLOCK_KEYS = ("by", "to", "api", "tenant")
#: Media type of a fixture body -> whether it is JSON (else YAML).
FIXTURE_TYPES = {
    "application/json": True,
    "application/yaml": False,
    "application/x-yaml": False,
    "text/yaml": False,
    "text/x-yaml": False,
}
#: The last moment a clock may show (what ISO 8601 dates can spell).
LAST = int(datetime(9999, 12, 31, tzinfo=UTC).timestamp())


def _invalid(message: str) -> AdminError:
    return AdminError(message, 400, "invalid_body")


#: ISO 8601 durations of fixed length, in whole numbers: weeks, days, hours, minutes, seconds.
ISO_DURATION = re.compile(r"^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
#: Seconds of each ISO 8601 duration field, in :data:`ISO_DURATION`'s group order.
ISO_SECONDS = (604_800, 86_400, 3_600, 60, 1)
#: What ``by`` accepts, for messages.
DURATIONS = (
    "'<n><unit>' with units s, m, h, d, w ('90s', '3d', '1w'), or an ISO 8601 duration "
    "'P[nW][nD][T[nH][nM][nS]]' in whole numbers ('P30D', 'PT12H', 'P1DT2H')"
)


def _duration(value: object) -> int:
    """Seconds of a clock move's ``by``: ``3d`` as in the lifecycle vocabulary, or ISO 8601 ``P3D``."""
    if isinstance(value, str) and value.startswith("P"):
        match = ISO_DURATION.match(value)
        if match is None:
            # Months and years are calendar units: how long one is depends on where the clock is.
            hint = (
                "; months and years have no fixed length: give 'to' a date"
                if re.search(r"\d[YM]", value.split("T")[0])
                else ""
            )
            raise _invalid(f"by: {value!r} is not a duration; accepted: {DURATIONS}{hint}")
        return sum(int(n) * unit for n, unit in zip(match.groups(), ISO_SECONDS, strict=True) if n)
    try:
        return parse_duration(value, "by")
    except SpecError:
        raise _invalid(f"by: {value!r} is not a duration; accepted: {DURATIONS}") from None


def _moment(value: object) -> int:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise _invalid(f"to: {value!r} is not an ISO 8601 date or date-time")
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
                "appeared": dict(sorted(moved.appeared[api][tenant].items())),
                "appeared_examples": dict(sorted(moved.appeared_examples[api][tenant].items())),
            }
            for tenant, moves in tenants.items()
        }
        for api, tenants in moved.moves.items()
    }


def _missing(sandbox: Sandbox, name: str) -> AdminError:
    names = [s.name for s in sandbox.store.snapshots()]
    return AdminError(f"no snapshot named {name!r}; saved: {', '.join(names) or 'none'}", 404, "not_found")


def register_sandbox_admin(app: Flask, sandbox: Sandbox) -> None:
    """Add the clock and snapshot routes of ``sandbox`` to ``app`` (whose guard covers every admin route)."""
    app.register_blueprint(sandbox_blueprint(sandbox))


def sandbox_blueprint(sandbox: Sandbox) -> Blueprint:
    """The clock and snapshot routes, bound to a sandbox."""
    admin = Blueprint("paymock_sandbox", __name__, url_prefix=ADMIN)

    @admin.before_request
    def _no_parameters() -> None:
        if request.args:
            raise AdminError(f"unknown query parameter(s) {', '.join(sorted(request.args))}; {request.path} takes none")

    @admin.errorhandler(AdminError)
    def _refused(error: AdminError) -> Response:
        return json_response({"error": error.error, "message": error.message}, error.status)

    @admin.get("/clock")
    def read_clock() -> Response:
        readings = sandbox.clock.readings()
        return json_response(
            {
                "as_of": iso(sandbox.clock.as_of),
                "clocks": {api: {str(t): iso(m) for t, m in tenants.items()} for api, tenants in readings.items()},
            }
        )

    @admin.post("/clock")
    def move_clock() -> Response:
        body = json_body()
        if not isinstance(body, dict):
            raise _invalid('the body must be a JSON object with "by" or "to"')
        unknown = sorted(set(body) - set(CLOCK_KEYS))
        if unknown:
            raise _invalid(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(CLOCK_KEYS)}")
        if ("by" in body) == ("to" in body):
            raise _invalid('give exactly one of "by" (a duration like "30d" or "P30D") or "to" (a date)')
        by = _duration(body["by"]) if "by" in body else None
        to = _moment(body["to"]) if "to" in body else None
        tenant = body.get("tenant")
        if tenant is not None and (not isinstance(tenant, int) or isinstance(tenant, bool)):
            raise _invalid(f"tenant: must be a tenant number, got {tenant!r}")
        api = body.get("api")
        if api is not None and not isinstance(api, str):
            raise _invalid(f"api: must be the name of a served API, got {api!r}")
        try:
            with sandbox.clock.exclusive():  # read and move each clock in turn with other moves
                targets = targets_of(sandbox.clock, sandbox.clock.select(api, tenant), by, to)
                if any(t > LAST for t in targets.values()):
                    raise _invalid(f"the clock would pass {iso(LAST)}, the last moment it can show")
                moved = sandbox.clock.advance(targets)
        except BackwardsError as exc:
            raise AdminError(str(exc), 409, "backwards") from None
        except ClockError as exc:
            raise _invalid(str(exc)) from None
        return json_response({"moved": _moved(sandbox, moved)})

    @admin.get("/snapshots")
    def list_snapshots() -> Response:
        return json_response({"snapshots": [_snapshot(s) for s in sandbox.store.snapshots()]})

    @admin.post("/snapshots")
    def save_snapshot() -> Response:
        body = json_body()
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not SNAPSHOT_NAME.match(name):
            raise _invalid(
                f"name: {name!r} is not a snapshot name"
                " (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)"
            )
        return json_response(_snapshot(sandbox.save_snapshot(name)), 201)

    @admin.post("/snapshots/<name>/restore")
    def restore_snapshot(name: str) -> Response:
        snapshot = sandbox.restore_snapshot(name)
        if snapshot is None:
            raise _missing(sandbox, name)
        return json_response({"restored": _snapshot(snapshot)})

    @admin.delete("/snapshots/<name>")
    def delete_snapshot(name: str) -> Response:
        if not sandbox.store.delete_snapshot(name):
            raise _missing(sandbox, name)
        return json_response({"deleted": 1})

    @admin.post("/fixtures")
    def load_fixtures() -> Response:
        as_json = FIXTURE_TYPES.get(request.mimetype)
        if as_json is None:
            got = request.mimetype or "no content type"
            raise AdminError(
                f"send the fixture file as {' or '.join(FIXTURE_TYPES)} (got {got!r})",
                415,
                "unsupported_media_type",
            )
        try:
            seeded = sandbox.load_fixtures(request.get_data(), "request body", as_json)
        except FixtureError as exc:
            return json_response({"error": "invalid_fixtures", "message": str(exc), "where": exc.where}, 400)
        fixtures = sandbox.settings.fixtures
        loaded = fixtures.tenants.items() if fixtures is not None else ()
        return json_response(
            {
                "loaded": {
                    f"{api}/{tenant}": {
                        "customers": len(own.customers),
                        "subscriptions": len(own.subscriptions),
                        "invoices": len(own.invoices),
                        "payments": len(own.payments),
                    }
                    for (api, tenant), own in loaded
                },
                "seeded": seeded,
            }
        )

    return admin
