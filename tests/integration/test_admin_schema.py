"""The admin API keeps the promises of its own OpenAPI document (schemathesis, every check)."""

from __future__ import annotations

from pathlib import Path

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from live import LiveServer
from schemathesis.specs.openapi.checks import positive_data_acceptance

import mock_server

DOCUMENT = Path(mock_server.__file__).parent / "admin" / "openapi.yaml"


def test_admin_api_conforms_to_its_document(live: LiveServer) -> None:
    base = f"{live.url}/__paymock"
    schema = schemathesis.openapi.from_path(DOCUMENT)
    checked = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()

            @given(case=operation.as_strategy())
            @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def conforms(case: schemathesis.Case) -> None:
                # Schema-valid is not enough for a rule: its api, tenant and operation must name what
                # this server serves, which no schema can enumerate; so, as in the contract kit,
                # positive_data_acceptance is not one of the checks.
                case.call_and_validate(base_url=base, excluded_checks=[positive_data_acceptance])

            conforms()
            checked.append(operation.label)
    finally:
        # Rules schemathesis made up must not outlive the test
        requests.delete(f"{base}/faults", timeout=30).raise_for_status()
        for snapshot in requests.get(f"{base}/snapshots", timeout=30).json()["snapshots"]:
            requests.delete(f"{base}/snapshots/{snapshot['name']}", timeout=30)
    assert len(checked) == 19
