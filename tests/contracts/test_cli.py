"""``paymock check`` from the command line: exit codes, JUnit XML, the readable report, usage errors."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner
from harness import EchoedHeaderDropped

from contracts.testing import MockServer
from mock_server.cli import main


def test_a_passing_run_exits_0_and_writes_junit_and_a_report(paymock_mock: MockServer, tmp_path: Path) -> None:
    junit, report = tmp_path / "junit.xml", tmp_path / "report.txt"

    result = CliRunner().invoke(
        main,
        [
            "check",
            "notify",
            "--url",
            paymock_mock.base("notify"),
            "--seed",
            "3",
            "--max-examples",
            "10",
            "--junit-xml",
            str(junit),
            "--report",
            str(report),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "notify:" in result.output and "0 failed" not in result.output
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "paymock.notify"
    assert int(suite.get("tests", "0")) > 10 and suite.get("failures") == "0" and suite.get("errors") == "0"
    names = {case.get("name") for case in suite.iter("testcase")}
    assert {"pagination_covers_exactly_once", "response_schema_conformance", "auth_required"} <= names
    text = report.read_text()
    assert "paymock check notify" in text and "--seed 3" in text and "PASSED  sort_order" in text


def test_a_failing_run_exits_1_names_the_promise_and_prints_a_curl_line(
    paymock_mock: MockServer, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"

    with paymock_mock.wrapped(EchoedHeaderDropped):
        result = CliRunner().invoke(
            main,
            [
                "check",
                "zuora",
                "--url",
                paymock_mock.base("zuora"),
                "--checks",
                "echoed_headers,auth_required",
                "--seed",
                "1",
                "--junit-xml",
                str(junit),
            ],
        )

    assert result.exit_code == 1, result.output
    assert "echoed_headers FAILED on GET /v1/payments" in result.output
    assert "curl -sS" in result.output and "Zuora-Track-Id" in result.output
    assert "failed: echoed_headers; repeat exactly with --seed 1" in result.output
    failures = list(ET.parse(junit).getroot().iter("failure"))
    assert failures and {f.get("type") for f in failures} == {"echoed_headers"}
    assert "curl" in (failures[0].text or "")


def test_an_unknown_check_is_a_usage_error_listing_the_valid_names(paymock_mock: MockServer) -> None:
    result = CliRunner().invoke(main, ["check", "zuora", "--url", paymock_mock.base("zuora"), "--checks", "sort_ordr"])

    assert result.exit_code == 2
    assert "unknown check name(s) 'sort_ordr'" in result.output
    assert "sort_order" in result.output and "pagination_covers_exactly_once" in result.output


def test_usage_errors_exit_2() -> None:
    runner = CliRunner()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/notify"  # bound, never listening: refused

    missing_url = runner.invoke(main, ["check", "zuora"])
    unknown_api = runner.invoke(main, ["check", "stripe", "--url", "http://127.0.0.1:9/stripe"])
    bad_header = runner.invoke(main, ["check", "notify", "--url", closed, "--header", "Authorization Bearer x"])
    unreachable = runner.invoke(main, ["check", "notify", "--url", closed, "--header", "Authorization: Bearer x"])

    assert missing_url.exit_code == 2 and "--url" in missing_url.output
    assert unknown_api.exit_code == 2 and "unknown API 'stripe'" in unknown_api.output and "zuora" in unknown_api.output
    assert bad_header.exit_code == 2 and "is not 'Name: value'" in bad_header.output
    assert unreachable.exit_code == 2 and "nothing answers at" in unreachable.output


def test_list_checks_names_every_check_with_its_promise() -> None:
    result = CliRunner().invoke(main, ["check", "--list-checks"])

    assert result.exit_code == 0
    assert "tenant_isolation" in result.output and "One tenant cannot" in result.output
    assert "state_changes_visible" in result.output and "(changes state)" in result.output


def test_a_check_that_saw_no_successful_answer_is_not_exercised_and_exits_3(
    paymock_mock: MockServer, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    # An invoice no tenant has: every request to the ledger is answered 404.
    absent = "00000000-0000-4000-8000-000000000000"

    result = CliRunner().invoke(
        main,
        [
            "check",
            "zutax",
            "--url",
            paymock_mock.base("zutax"),
            "--param",
            f"invoice_id={absent}",
            "--checks",
            "response_schema_conformance,not_a_server_error",
            "--seed",
            "2",
            "--max-examples",
            "5",
            "--junit-xml",
            str(junit),
        ],
    )

    assert result.exit_code == 3, result.output
    assert "1 passed, 1 not exercised" in result.output
    assert "not exercised: response_schema_conformance on GET /api/v1/tenants/" in result.output
    errors = list(ET.parse(junit).getroot().iter("error"))
    assert [e.get("type") for e in errors] == ["NotExercised"] and "no request got a 2xx" in (
        errors[0].get("message") or ""
    )
