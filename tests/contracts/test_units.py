"""The kit's parts on their own: names, parsing, declarations, semantics, reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contracts import CHECKS, Failure, Outcome, Report, UsageError, check_names
from contracts.client import curl
from contracts.credentials import choose, parse_header, parse_param, read_credentials_file
from contracts.declarations import Envelope, load_contract
from contracts.promises.access import mutate
from contracts.promises.records import differences
from contracts.promises.values import holds, out_of_order, wire_values
from contracts.report import junit_tree


def test_selecting_an_unknown_check_lists_every_valid_name() -> None:
    check_names()

    with pytest.raises(UsageError) as error:
        CHECKS.select(["sort_order", "paginaton"], [])

    assert "'paginaton'" in str(error.value)
    assert "pagination_covers_exactly_once" in str(error.value) and "sort_order" in str(error.value)
    assert CHECKS.select(["sort_order", "filters_hold"], ["filters_hold"]) == ["sort_order"]


def test_headers_and_params_are_parsed_or_refused_with_an_example() -> None:
    assert parse_header("Authorization:  Bearer a:b ") == ("Authorization", "Bearer a:b")
    assert parse_param("invoice_id=a=b") == ("invoice_id", "a=b")
    with pytest.raises(UsageError, match="is not 'Name: value'"):
        parse_header("Authorization Bearer x")
    with pytest.raises(UsageError, match="is not 'name=value'"):
        parse_param("invoice_id")


def test_unknown_api_names_the_available_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown API 'stripe'; available: .*zuora"):
        load_contract("stripe")


def test_envelope_paths_include_links_behind_when() -> None:
    notify = load_contract("notify").lists[0].envelope
    zutax = load_contract("zutax").lists[0].envelope

    assert notify.paths["items"] == ("payments",)
    assert notify.paths["next_url"] == ("links", "next", "href")
    assert notify.get({"links": {"next": None}}, "next_url") is None
    assert zutax.paths["items"] == ()
    assert Envelope.from_template({"a?": "$count"}).paths == {"count": ("a",)}


def test_declarations_carry_zuoras_signed_two_key_sort() -> None:
    (payments,) = load_contract("zuora").lists
    sort = payments.sort
    assert sort is not None and sort.style == "signed-fields" and sort.max_terms == 2

    choice = sort.choice([sort.term("-amount"), sort.term("+number")])

    assert choice.value == "-amount,+number"
    assert [k.describe() for k in choice.keys] == ["amount asc", "number desc"]
    assert sort.term("amount").keys[0].descending
    assert payments.paging.position == "page" and payments.paging.maximum == 40 and not payments.paging.cap


def test_range_filters_treat_a_date_as_the_whole_day() -> None:
    (payments,) = [x for x in load_contract("flexportal").lists if x.op.path == "/v1/payments"]
    filters = {f.param: f for f in payments.filters}
    item = {"dueDate": "2026-11-11T23:30:00Z", "status": "pending"}

    assert holds(filters["dueDateTo"], "2026-11-11", item)
    assert not holds(filters["dueDateTo"], "2026-11-10", item)
    assert holds(filters["dueDateFrom"], "2026-11-11", item)
    assert not holds(filters["dueDateFrom"], "2026-11-11T23:30:01Z", item)
    assert holds(filters["status"], "pending", item) and not holds(filters["status"], "paid", item)
    assert "2026-11-11T23:30:00Z" in wire_values(filters["dueDateFrom"], item)


def test_order_allows_ties_and_never_blames_nulls() -> None:
    (payments,) = load_contract("zuora").lists
    assert payments.sort is not None
    keys = payments.sort.term("+amount").keys

    assert not out_of_order(keys, {"amount": 5}, {"amount": 5})
    assert not out_of_order(keys, {"amount": 5}, {"amount": 4})
    assert out_of_order(keys, {"amount": 4}, {"amount": 5})
    assert not out_of_order(keys, {"amount": None}, {"amount": 5})


def test_a_tampered_key_keeps_its_shape() -> None:
    key = "test_Ab9Zz0aB"

    tampered = mutate(key)

    assert tampered != key and len(tampered) == len(key) and tampered[:5] == "test_"
    assert [c.isdigit() for c in tampered] == [c.isdigit() for c in key]
    assert [c.isupper() for c in tampered] == [c.isupper() for c in key]


def test_curl_quotes_and_masks_credentials() -> None:
    line = curl(
        "POST",
        "http://h/x?a=1&b=2",
        {"Authorization": "Bearer s3cret", "User-Agent": "x"},
        b'{"a": "it\'s"}',
        redact=["authorization"],
    )

    assert line.startswith("curl -sS -X POST -H 'Authorization: <redacted>'")
    assert "s3cret" not in line and "User-Agent" not in line
    assert "'http://h/x?a=1&b=2'" in line


def test_differences_name_the_path() -> None:
    assert differences({"a": {"b": [1, 2]}, "c": 1}, {"a": {"b": [1, 3]}, "c": 1}) == ["a.b.1: 2 != 3"]
    assert differences({"x": 1}, {"x": 1.0}) == ["x: 1 != 1.0"]


def test_credentials_files_in_any_of_the_documented_shapes(tmp_path: Path) -> None:
    tenants = [{"tenant": "acme", "header": "X-API-Key", "value": "k1"}, {"tenant": "globex", "client_id": "c"}]
    whole, listed = tmp_path / "whole.json", tmp_path / "list.json"
    whole.write_text(json.dumps({"zutax": {"base_url": "x", "tenants": tenants}}))
    listed.write_text(json.dumps(tenants))

    for path in (whole, listed):
        read = read_credentials_file(path, "zutax")
        assert [t.label for t in read] == ["acme", "globex"] and read[0].headers == {"X-API-Key": "k1"}
    primary, other = choose(read, "2")
    assert primary is not None and primary.label == "globex" and other is not None and other.label == "acme"
    with pytest.raises(UsageError, match="known: acme, globex"):
        choose(read, "initech")
    with pytest.raises(UsageError, match="holds no tenants for 'zuora'"):
        read_credentials_file(whole, "zuora")


def test_junit_is_well_formed_and_counts_every_outcome(tmp_path: Path) -> None:
    failure = Failure("sort_order", "GET /v1/payments", "out of order", "asc", "desc", "curl -sS 'http://h/x'")
    report = Report(
        "zuora",
        "http://h/zuora",
        5,
        outcomes=[
            Outcome("sort_order", "GET /v1/payments", "failed", [failure]),
            Outcome("filters_hold", "GET /v1/payments"),
            Outcome("list_detail_agree", "*", "skipped", reason="no detail operation"),
            Outcome("counts_agree", "GET /v1/payments", "error", reason="the contract kit crashed: KeyError"),
        ],
    )

    root = ET.fromstring(ET.tostring(junit_tree([report]).getroot()))

    assert (root.get("tests"), root.get("failures"), root.get("skipped"), root.get("errors")) == ("4", "1", "1", "1")
    failed = root.find("./testsuite/testcase[@name='sort_order']/failure")
    assert failed is not None and failed.get("type") == "sort_order" and "curl -sS" in (failed.text or "")
    assert not report.ok and report.failed_checks() == ["sort_order", "counts_agree"]
    with pytest.raises(AssertionError, match="sort_order FAILED on GET /v1/payments"):
        report.assert_ok()


def test_the_public_api_is_what_init_exports() -> None:
    import contracts

    assert contracts.__all__ == [
        "CHECKS",
        "Check",
        "CheckOptions",
        "ContractError",
        "Failure",
        "Outcome",
        "Report",
        "TargetError",
        "UsageError",
        "check_api",
        "check_names",
        "write_junit",
        "write_report",
    ]
    assert all(hasattr(contracts, name) for name in contracts.__all__)
    assert issubclass(UsageError, contracts.ContractError) and issubclass(
        contracts.TargetError, contracts.ContractError
    )
