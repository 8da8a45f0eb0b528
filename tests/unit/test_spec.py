"""The documents load and validate; every mistake in an x-paymock block is caught at load time
with a message naming the file, the place and what is allowed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from mock_server.actions import ACTIONS
from mock_server.auth import AUTH_SCHEMES
from mock_server.columns import COLUMN_TYPES
from mock_server.errors import SpecError
from mock_server.filtering import FILTER_OPERATORS
from mock_server.lifecycle.schedule import WHEN_RULES
from mock_server.pagination import PAGINATION_STYLES
from mock_server.query import REPEATED_RULES
from mock_server.records import SOURCES
from mock_server.sorting import SORT_STYLES
from mock_server.spec import available_apis, load_api, openapi_dir

ROOT = Path(__file__).resolve().parents[2]
VENDORS = ("flexportal", "exsited", "notify", "zuora", "zutax")


def test_all_five_documents_are_bundled() -> None:
    assert available_apis() == sorted(VENDORS)


@pytest.mark.parametrize("api", VENDORS)
def test_document_passes_openapi_spec_validator(api: str) -> None:
    validate(yaml.safe_load((openapi_dir() / f"{api}.yaml").read_text()))


@pytest.mark.parametrize("api", VENDORS)
def test_every_operation_declares_its_behaviour(api: str) -> None:
    spec = load_api(openapi_dir() / f"{api}.yaml")
    document = spec.document
    declared = sum(
        1 for item in document["paths"].values() for m in item if m in ("get", "post", "put", "patch", "delete")
    )
    assert len(spec.operations) == declared
    for op in spec.operations:
        assert op.operation_id
        for p in op.params:
            selector = any(s.name == p.name for s in spec.selectors)
            assert p.role is not None or selector, f"{api} {op.operation_id} {p.name} has no role"


def _broken(tmp_path: Path, change: Any, api: str = "flexportal") -> Path:
    document = yaml.safe_load((openapi_dir() / f"{api}.yaml").read_text())
    change(document)
    target = tmp_path / f"{api}.yaml"
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    return target


LIST = ("paths", "/v1/payments", "get", "x-paymock")


def _at(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = document
    for step in path:
        node = node[step]
    return node


CASES = [
    (
        "unknown pagination style",
        lambda d: _at(d, LIST)["pagination"].update(style="pagenumber"),
        "openapi/flexportal.yaml: paths./v1/payments.get.x-paymock.pagination.style: unknown pagination style "
        "'pagenumber'; available: cursor, from-id, none, offset, page-number",
    ),
    (
        "unknown root key",
        lambda d: d["x-paymock"].update(colections={}),
        "unknown key(s) colections",
    ),
    (
        "unknown fact",
        lambda d: d["components"]["schemas"]["Payment"]["properties"]["amount"].update(
            {"x-paymock": {"from": "payment.amout"}}
        ),
        "unknown fact 'amout' of payment",
    ),
    (
        "missing error kind",
        lambda d: d["x-paymock"]["errors"]["kinds"].pop("conflict"),
        "missing: conflict",
    ),
    (
        "parameter without a role",
        lambda d: _at(d, ("paths", "/v1/payments", "get"))["parameters"][3].pop("x-paymock"),
        "parameters.status: has no role",
    ),
    (
        "filter on an undeclared column",
        lambda d: _at(d, ("paths", "/v1/payments", "get"))["parameters"][3].update({"x-paymock": {"filter": "colour"}}),
        "unknown column 'colour' of collection 'payments'; declared: status",
    ),
    (
        "name differs from the file",
        lambda d: d["x-paymock"].update(name="flex"),
        "must equal the file name 'flexportal'",
    ),
    (
        "unknown auth scheme",
        lambda d: d["x-paymock"]["auth"].update(scheme="basic"),
        "unknown auth scheme 'basic'; available: api-key, oauth2",
    ),
    (
        "unknown action",
        lambda d: _at(d, LIST).update(action="search"),
        "unknown action 'search'; available: get, issue-token, list, transition",
    ),
    (
        "unknown filter operator",
        lambda d: _at(d, ("paths", "/v1/payments", "get"))["parameters"][7]["x-paymock"].update(op="after"),
        "unknown filter operator 'after'; available: eq, gte, lte",
    ),
    (
        "creation-order that is not a boolean",
        lambda d: d["x-paymock"]["collections"]["payments"]["columns"]["status"].update({"creation-order": "yes"}),
        "collections.payments.columns.status.creation-order: must be true or false, got 'yes'",
    ),
    (
        "two creation-ordered columns",
        lambda d: [
            d["x-paymock"]["collections"]["payments"]["columns"][c].update({"creation-order": True})
            for c in ("status", "dueDate")
        ],
        "at most one column is creation-order: true; got status, dueDate",
    ),
    (
        "unknown phase",
        lambda d: d["x-paymock"]["collections"]["payments"]["statuses"]["paid"].update(phase="done"),
        "unknown phase 'done'",
    ),
    (
        "unknown envelope variable",
        lambda d: _at(d, LIST)["envelope"].update(total="$total"),
        "unknown variable '$total'; available: count, has_more, items, next_cursor",
    ),
    (
        "transition to an unknown status",
        lambda d: _at(d, ("paths", "/v1/payments/{paymentId}/cancel", "post", "x-paymock")).update(to="void"),
        "status 'void' is not a status of 'payments'",
    ),
    (
        "record field reading an entity",
        lambda d: d["components"]["schemas"]["Payment"]["properties"]["customerId"].update(
            {"x-paymock": {"from": "payment.customer"}}
        ),
        "'payment.customer' is a customer, not a value",
    ),
    (
        "unknown world key",
        lambda d: d["x-paymock"]["world"].update(currencies=["EUR"]),
        "x-paymock.world: unknown key(s) currencies",
    ),
    (
        "unknown processor",
        lambda d: d["x-paymock"]["world"]["processors"].update(card=["strype"]),
        "world.processors.card: unknown processor 'strype'; available: stripe, adyen",
    ),
    (
        "processor that does not take a declared currency",
        lambda d: d["x-paymock"]["world"]["processors"].update(card=["flutterwave"]),
        "world.processors.card: 'flutterwave' takes no AUD, CAD; the countries declared need it",
    ),
    (
        "unknown money story",
        lambda d: d["x-paymock"]["world"].update(stories={"chargeback": 2}),
        "world.stories: unknown story 'chargeback'; available: refunded, unapplied",
    ),
    (
        "stories over a hundred percent",
        lambda d: d["x-paymock"]["world"].update(stories={"refunded": 60, "unapplied": 50}),
        "world.stories: the shares of settled payments add up to more than 100",
    ),
    (
        "unknown payment method",
        lambda d: d["x-paymock"]["world"]["methods"].update(cheque=4),
        "world.methods: unknown method 'cheque'; available: card, direct_debit",
    ),
    (
        "declined payments without a gateway method",
        lambda d: d["x-paymock"]["world"].update(methods={"cash": 1, "bank_transfer": 1}),
        "world.methods: statuses processing, failed are attempts in flight or declined, which only a gateway",
    ),
    (
        "unknown repeated-parameter rule",
        lambda d: d["x-paymock"].update(query={"repeated": "sometimes"}),
        "x-paymock.query.repeated: unknown repeated-parameter rule 'sometimes'; available: first, last, refuse",
    ),
    (
        "operators not single characters",
        lambda d: d["x-paymock"].update(query={"operators": [">="]}),
        "x-paymock.query.operators: must be a list of single characters",
    ),
    (
        "unknown query key",
        lambda d: d["x-paymock"].update(query={"unknown": "ignore"}),
        "x-paymock.query: unknown key(s) unknown; allowed: operators, repeated",
    ),
]


@pytest.mark.parametrize(("change", "message"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_x_paymock_mistakes_are_load_errors(tmp_path: Path, change: Any, message: str) -> None:
    # Given a copy of a working document with one mistake, loading it names the mistake.
    with pytest.raises(SpecError) as info:
        load_api(_broken(tmp_path, change))
    assert message in str(info.value)
    assert str(info.value).startswith("openapi/flexportal.yaml")


def test_vocabulary_table_names_every_registered_mechanism() -> None:
    readme = (ROOT / "openapi" / "README.md").read_text()
    registries = [
        PAGINATION_STYLES,
        SORT_STYLES,
        AUTH_SCHEMES,
        ACTIONS,
        FILTER_OPERATORS,
        COLUMN_TYPES,
        SOURCES,
        WHEN_RULES,
        REPEATED_RULES,
    ]
    missing = [f"{r.kind}: {n}" for r in registries for n in r.names() if f"`{n}`" not in readme]
    assert missing == []


def test_no_vendor_specific_branches_in_python() -> None:
    # The documents carry the vendor; the mechanism must not name one.
    pattern = re.compile("|".join(VENDORS), re.IGNORECASE)
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "mock_server").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []


def _examples(node: Any, path: str) -> Any:
    """Yield (where, schema, example) for media types, parameters and schemas that carry examples."""
    if isinstance(node, dict):
        schema = node.get("schema")
        if isinstance(schema, dict):
            if "example" in node:
                yield path, schema, node["example"]
            for name, ex in (node.get("examples") or {}).items():
                if isinstance(ex, dict) and "value" in ex:
                    yield f"{path}.examples.{name}", schema, ex["value"]
        if "example" in node and ("type" in node or "properties" in node):
            yield f"{path}.example", node, node["example"]
        for key, value in node.items():
            yield from _examples(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _examples(value, f"{path}[{i}]")


@pytest.mark.parametrize("api", VENDORS)
def test_every_example_matches_its_schema(api: str) -> None:
    from openapi_schema_validator import OAS30Validator

    from mock_server.spec import Resolver

    document = yaml.safe_load((openapi_dir() / f"{api}.yaml").read_text())
    resolved = Resolver(document, api).resolve(document)
    checked = 0
    problems = []
    for where, schema, example in _examples(resolved, api):
        checked += 1
        problems += [f"{where}: {e.message}" for e in OAS30Validator(schema).iter_errors(example)]
    assert checked > 0
    assert problems == []


SCHEMAS = [
    {"type": "integer", "minimum": 1, "maximum": 100},
    {"type": "string", "enum": ["pending", "paid"]},
    {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "uuid"},
    {"type": "number", "minimum": 0},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_fast_acceptance_agrees_with_the_validator(schema: dict[str, Any]) -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from mock_server.params import _fast_accept, _validator

    fast, validator = _fast_accept(schema), _validator(schema)
    assert fast is not None and validator is not None
    values = st.one_of(
        st.integers(-5, 120),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-10, max_value=200),
        st.text(max_size=8),
        st.sampled_from(
            ["pending", "paid", "ab", "2026-01-01T00:00:00Z", "2026-13-01", "0b5e6a52-0f2b-4a7e-9d0c-9b0f5f7c1a2b"]
        ),
    )

    @given(values)
    def agree(value: Any) -> None:
        # The cast guarantees the type before either check runs.
        expected = {"string": (str,), "integer": (int,), "number": (int, float)}[schema["type"]]
        if not isinstance(value, expected) or isinstance(value, bool):
            return
        if fast(value):
            assert list(validator.iter_errors(value)) == []

    agree()
