"""Against a URL that is not paymock's mock: credentials must be given, writes need an opt-in,
and credentials are masked in reproduction lines.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import EchoedHeaderDropped, HiddenAdmin, zutax_invoice
from werkzeug.test import Client

from contracts import CheckOptions, TargetError, check_api
from contracts.testing import MockServer, WSGIApp


def _sandbox_credentials(mock: MockServer, api: str, tmp_path: Path) -> Path:
    """What a user copies from the vendor's dashboard: two tenants' keys, as a file."""
    entry = Client(mock.app).get("/__paymock/credentials").get_json()[api]
    path = tmp_path / f"{api}.json"
    path.write_text(json.dumps(entry))
    return path


def test_without_credentials_a_foreign_url_is_refused_before_anything_runs(paymock_mock: MockServer) -> None:
    with paymock_mock.wrapped(HiddenAdmin), pytest.raises(TargetError, match="no credentials for flexportal"):
        check_api("flexportal", paymock_mock.base("flexportal"))


def test_writes_run_only_when_allowed(paymock_mock: MockServer, tmp_path: Path) -> None:
    options = {
        "credentials": _sandbox_credentials(paymock_mock, "flexportal", tmp_path),
        "checks": ["state_changes_visible", "forbidden_transition_refused", "tenant_isolation", "list_detail_agree"],
        "seed": 1,
    }

    with paymock_mock.wrapped(HiddenAdmin):
        cautious = check_api("flexportal", paymock_mock.base("flexportal"), CheckOptions(**options))
        allowed = check_api("flexportal", paymock_mock.base("flexportal"), CheckOptions(**options, allow_writes=True))

    skipped = {o.check: o.reason for o in cautious.outcomes if o.status == "skipped"}
    assert set(skipped) == {"state_changes_visible", "forbidden_transition_refused"}
    assert "--allow-writes" in skipped["state_changes_visible"]
    assert {o.check for o in cautious.outcomes if o.status == "passed"} == {"tenant_isolation", "list_detail_agree"}
    assert not any("reset" in note for note in cautious.notes + allowed.notes)
    allowed.assert_ok()
    assert {o.check for o in allowed.outcomes if o.status == "passed"} >= {
        "state_changes_visible",
        "forbidden_transition_refused",
    }


def test_an_oauth_client_is_exchanged_for_a_token_and_credentials_are_masked(paymock_mock: MockServer) -> None:
    tenant = Client(paymock_mock.app).get("/__paymock/credentials").get_json()["zuora"]["tenants"][0]

    def broken_vendor(app: WSGIApp) -> WSGIApp:
        return EchoedHeaderDropped(HiddenAdmin(app))

    with paymock_mock.wrapped(broken_vendor):
        report = check_api(
            "zuora",
            paymock_mock.base("zuora"),
            CheckOptions(
                client_id=tenant["client_id"],
                client_secret=tenant["client_secret"],
                checks=["echoed_headers", "sort_order", "tenant_isolation"],
                seed=1,
            ),
        )

    assert report.failed_checks() == ["echoed_headers"]
    curl = report.failures[0].curl or ""
    assert "Authorization: <redacted>" in curl and "Bearer" not in curl
    assert next(o for o in report.outcomes if o.check == "sort_order").status == "passed"
    isolation = next(o for o in report.outcomes if o.check == "tenant_isolation")
    assert isolation.status == "skipped" and "second tenant" in isolation.reason


def test_tenant_path_selectors_and_known_ids_come_from_params(paymock_mock: MockServer) -> None:
    tenant = Client(paymock_mock.app).get("/__paymock/credentials").get_json()["zutax"]["tenants"][0]
    selectors = tenant["selectors"]

    with paymock_mock.wrapped(HiddenAdmin):
        report = check_api(
            "zutax",
            paymock_mock.base("zutax"),
            CheckOptions(
                headers=[f"X-API-Key: {tenant['value']}"],
                params=[
                    f"tenant_id={selectors['tenant_id']}",
                    f"workspace_id={selectors['workspace_id']}",
                    f"invoice_id={zutax_invoice(paymock_mock)}",
                ],
                seed=1,
                max_examples=10,
            ),
        )

    report.assert_ok()
    passed = {o.check for o in report.outcomes if o.status == "passed"}
    assert {"nested_agrees_with_top_level", "sort_order", "auth_required", "response_schema_conformance"} <= passed
