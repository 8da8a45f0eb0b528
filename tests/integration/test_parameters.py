"""Query and path parameters as each vendor reads them: nothing ignored silently, no pick unsaid.

Issue 19, section 2. In-process (the Flask ``client``): none of this needs a second worker.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from documented import assert_documented
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from vendors import LISTS, Answer, Session

from mock_server.spec import ApiSpec, Resolver

IGNORED = "Paymock-Ignored-Parameters"
ZUTAX = "/api/v1/tenants/{tenant_id}/workspaces/{workspace_id}/invoices/{invoice_id}/payments"


@pytest.fixture
def sessions(client: FlaskClient) -> dict[str, Session]:
    return {api: Session(client, api) for api in ("flexportal", "exsited", "notify", "zuora", "zutax")}


def _items(api: str, answer: Any) -> list[dict[str, Any]]:
    assert answer.status == 200, answer.body
    items: list[dict[str, Any]] = answer.json()[LISTS[api][1]]
    return items


def _zutax_invoice(session: Session) -> str:
    samples = session.transport.request("GET", "/__paymock/samples").json()
    return str(samples["zutax"]["tenants"][0]["invoice_payments"]["invoice"][0])


# --- unknown parameters are ignored, and named -------------------------------------------------


@pytest.mark.parametrize(
    ("api", "query", "named"),
    [
        ("flexportal", {"cursor": "pay_x", "limit": "2"}, "cursor"),
        ("notify", {"Limit": "2"}, "Limit"),
        ("exsited", {"page": "3", "limit": "2"}, "page"),
        ("zuora", {"unappliedAmount_gt": "0", "pageSize": "2"}, "unappliedAmount_gt"),
    ],
)
def test_an_unknown_query_parameter_is_ignored_and_named(
    api: str, query: dict[str, str], named: str, sessions: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    s = sessions[api]
    path = LISTS[api][0]
    known = {k: v for k, v in query.items() if k != named}
    plain = s.get(path, params=known)
    answer = s.get(path, params=query)
    assert answer.headers[IGNORED] == named
    assert IGNORED not in plain.headers  # only when something was ignored
    assert _items(api, answer) == _items(api, plain)  # the same page as without it (links keep it)
    assert_documented(specs[api], path, "get", answer)


def test_zutax_names_any_query_parameter(sessions: dict[str, Session]) -> None:
    s = sessions["zutax"]
    answer = s.get(s.zutax_path(_zutax_invoice(s)), params={"limit": "1", "page": "2"})
    assert answer.status == 200 and answer.headers[IGNORED] == "limit, page"


def test_the_header_lists_names_once_in_order_and_encodes_what_would_break_the_list(
    sessions: dict[str, Session],
) -> None:
    answer = sessions["flexportal"].get("/v1/payments", params=[("b", "1"), ("a,z", "2"), ("b", "3"), ("é", "4")])
    assert answer.status == 200
    assert answer.headers[IGNORED] == "b, a%2Cz, %C3%A9"


def test_every_document_says_how_it_reads_an_unknown_and_a_repeated_parameter(specs: dict[str, ApiSpec]) -> None:
    for spec in specs.values():
        text = spec.document["info"]["description"]
        assert IGNORED in text and ("more than once" in text or "repeated" in text), spec.name


# --- repeated parameters: the vendor's error, or a documented pick that is named ---------------


def test_flexportal_refuses_a_repeated_parameter(sessions: dict[str, Session], specs: dict[str, ApiSpec]) -> None:
    answer = sessions["flexportal"].get("/v1/payments", params=[("limit", "1"), ("limit", "999")])
    assert answer.status == 400
    message = assert_documented(specs["flexportal"], "/v1/payments", "get", answer)["error"]["message"]
    assert "'limit'" in message and "'1'" in message and "'999'" in message and "once" in message


@pytest.mark.parametrize(
    ("api", "param", "values", "expected"),
    [
        ("zuora", "pageSize", ("1", "3"), 1),  # the first occurrence, as a Java servlet reads it
        ("exsited", "limit", ("1", "3"), 3),  # the last, as PHP reads it
        ("notify", "limit", ("1", "3"), 3),
    ],
)
def test_a_repeated_parameter_is_read_as_documented_and_named(
    api: str,
    param: str,
    values: tuple[str, str],
    expected: int,
    sessions: dict[str, Session],
    specs: dict[str, ApiSpec],
) -> None:
    path = LISTS[api][0]
    answer = sessions[api].get(path, params=[(param, v) for v in values])
    assert len(_items(api, answer)) == expected
    assert answer.headers[IGNORED] == param
    assert_documented(specs[api], path, "get", answer)


# --- Zuora: null for every string filter, and no < or > ----------------------------------------


@pytest.mark.parametrize("param", ["status", "type", "currency", "accountId", "number"])
def test_zuora_string_filters_take_null(param: str, sessions: dict[str, Session], specs: dict[str, ApiSpec]) -> None:
    answer = sessions["zuora"].get("/v1/payments", params={param: "null"})
    assert _items("zuora", answer) == []  # no generated payment has a null there
    assert_documented(specs["zuora"], "/v1/payments", "get", answer)
    # The parameter's schema admits it too, so that a validating proxy lets it through.
    operation = specs["zuora"].document["paths"]["/v1/payments"]["get"]
    declared = next(p for p in operation["parameters"] if p.get("name") == param)
    assert OAS30Validator(declared["schema"]).is_valid("null")


@pytest.mark.parametrize(
    ("query", "named", "operator"),
    [
        ("unappliedAmount>0", "unappliedAmount>0", ">"),
        ("amount%3E10", "amount>10", ">"),
        ("amount>=10", "amount>", ">"),
        ("amount<10", "amount<10", "<"),
        ("status=Processed&createdDate%3C2026-01-01", "createdDate<2026-01-01", "<"),
    ],
)
def test_zuora_refuses_comparison_operators(
    query: str, named: str, operator: str, client: FlaskClient, sessions: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    s = sessions["zuora"]
    r = client.get(f"/zuora/v1/payments?{query}", headers=s.headers)
    answer = Answer(r.status_code, dict(r.headers), r.get_data())
    assert answer.status == 400, answer.body
    body = assert_documented(specs["zuora"], "/v1/payments", "get", answer)
    assert body["reasons"][0]["code"] == "50000020"
    assert repr(named) in body["reasons"][0]["message"] and repr(operator) in body["reasons"][0]["message"]


# --- date-times without an offset ----------------------------------------------------------------


def test_flexportal_reads_a_date_time_without_offset_as_utc(
    sessions: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    s = sessions["flexportal"]
    naive = s.get("/v1/payments", params={"dueDateFrom": "2026-10-01T00:00:00", "limit": 100})
    utc = s.get("/v1/payments", params={"dueDateFrom": "2026-10-01T00:00:00Z", "limit": 100})
    assert naive.status == 200, naive.body
    assert naive.json() == utc.json() and naive.json()["payments"]
    assert_documented(specs["flexportal"], "/v1/payments", "get", naive)


@pytest.mark.parametrize("param", ["createdDate", "updatedDate", "effectiveDate"])
@pytest.mark.parametrize(
    "value", ["2026-10-01T10:00:00.000000", "2026-10-01T10:00:00", "2026-10-01 10:00:00", "2026-10-01"]
)
def test_zuora_date_parameters_declare_what_the_mock_accepts(
    param: str, value: str, sessions: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    # Given the schema as a validating proxy (Prism) reads it, strict formats included,
    document = specs["zuora"].document
    declared = next(p for p in document["paths"]["/v1/payments"]["get"]["parameters"] if p.get("name") == param)
    schema = Resolver(document, "zuora").resolve(declared["schema"])
    # then the official client's offset-less forms pass it, and the mock answers them.
    assert OAS30Validator(schema, format_checker=oas30_format_checker).is_valid(value), schema
    answer = sessions["zuora"].get("/v1/payments", params={param: value})
    assert answer.status == 200, answer.body
    assert not OAS30Validator(schema, format_checker=oas30_format_checker).is_valid("last week")


# --- ZuTax: path UUIDs as FastAPI reads them -----------------------------------------------------


UUID_FORMS = {
    "upper case": str.upper,
    "braces": lambda u: "{" + u + "}",
    "no dashes": lambda u: u.replace("-", ""),
    "urn": lambda u: "urn:uuid:" + u,
    "braces, upper case": lambda u: "{" + u.upper() + "}",
}


@pytest.mark.parametrize("selector", ["tenant_id", "workspace_id"])
@pytest.mark.parametrize("form", list(UUID_FORMS))
def test_zutax_reads_every_uuid_form_fastapi_reads(
    selector: str, form: str, sessions: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    s = sessions["zutax"]
    invoice = _zutax_invoice(s)
    canonical = s.get(s.zutax_path(invoice))
    own = s.cred["selectors"][selector]
    answer = s.get(s.zutax_path(invoice).replace(own, UUID_FORMS[form](own)))
    assert answer.status == 200, answer.body
    assert answer.json() == canonical.json()
    assert_documented(specs["zutax"], ZUTAX, "get", answer)


@pytest.mark.parametrize("selector", ["tenant_id", "workspace_id"])
@pytest.mark.parametrize("bad", ["not-a-uuid", "URN:UUID:{u}", "{{{h}}}", "{u}x", "{u} "])
def test_zutax_refuses_a_non_uuid_path_id_with_422_before_403(
    selector: str, bad: str, sessions: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    s = sessions["zutax"]
    own = s.cred["selectors"][selector]
    value = bad.format(u=own, h=own.replace("-", ""))
    answer = s.get(s.zutax_path(_zutax_invoice(s)).replace(own, value))
    assert answer.status == 422, answer.body
    detail = assert_documented(specs["zutax"], ZUTAX, "get", answer)["detail"]
    assert detail[0]["loc"] == ["path", selector] and detail[0]["type"] == "uuid_parsing"


@pytest.mark.parametrize("key", ["missing", "unknown"])
def test_zutax_validates_the_path_before_the_route_checks_the_key(
    key: str, sessions: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    s = sessions["zutax"]
    headers = {} if key == "missing" else {"X-API-Key": "ztx_test_" + "A" * 64}
    own = s.cred["selectors"]["tenant_id"]
    path = s.zutax_path(_zutax_invoice(s))
    answer = s.raw("GET", path.replace(own, "not-a-uuid"), headers=headers)
    assert answer.status == 422, answer.body
    assert assert_documented(specs["zutax"], ZUTAX, "get", answer)["detail"][0]["loc"] == ["path", "tenant_id"]
    # With a valid path, the key is what is wrong.
    assert s.raw("GET", path, headers=headers).status == 401


def test_zutax_another_tenant_in_upper_case_is_still_403(
    sessions: dict[str, Session], client: FlaskClient, specs: dict[str, ApiSpec]
) -> None:
    s = sessions["zutax"]
    other = Session(client, "zutax", tenant=1).cred["selectors"]["tenant_id"]
    own = s.cred["selectors"]["tenant_id"]
    answer = s.get(s.zutax_path(_zutax_invoice(s)).replace(own, other.upper()))
    assert answer.status == 403
    assert_documented(specs["zutax"], ZUTAX, "get", answer)


def test_zutax_uuid_reading_matches_pydantic() -> None:
    from pydantic import TypeAdapter, ValidationError

    from mock_server.params import _cast_uuid

    reader = TypeAdapter(uuid.UUID)
    u = "2576271f-695c-4d7b-a060-0b8433ab9733"
    forms = [
        *(f(u) for f in UUID_FORMS.values()),
        "URN:UUID:" + u,
        "urn:uuid:" + u.replace("-", ""),
        "{" + u.replace("-", "") + "}",
        " " + u,
        "2576271f695c-4d7b-a060-0b8433ab9733",
        "uuid:" + u,
        "{" + u,
        u[:-1] + "g",
        u.replace("-", "_"),
    ]
    for form in forms:
        try:
            expected: str | None = str(reader.validate_python(form))
        except ValidationError:
            expected = None
        try:
            got: str | None = _cast_uuid(form)
        except ValueError:
            got = None
        assert got == expected, form


# --- Exsited: the offset's maximum is declared ---------------------------------------------------


def test_exsited_offset_maximum_is_declared_and_kept(sessions: dict[str, Session], specs: dict[str, ApiSpec]) -> None:
    s = sessions["exsited"]
    declared = next(p for p in specs["exsited"].document["components"]["parameters"].values() if p["name"] == "offset")
    assert declared["schema"]["maximum"] == 2**63 - 1
    last = s.get("/api/v3/payments", params={"offset": str(2**63 - 1), "limit": "5"})
    assert _items("exsited", last) == []
    assert_documented(specs["exsited"], "/api/v3/payments", "get", last)
    beyond = s.get("/api/v3/payments", params={"offset": str(2**63)})
    assert beyond.status == 400
    assert "offset" in assert_documented(specs["exsited"], "/api/v3/payments", "get", beyond)["errors"][0]["message"]


# --- FlexPortal mark-paid: what it keeps and what it refuses is documented -----------------------


MARK_PAID = "/v1/payments/{paymentId}/mark-paid"


def test_flexportal_mark_paid_of_a_failed_payment_keeps_its_capture_error_as_documented(
    sessions: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    s = sessions["flexportal"]
    failed = s.get("/v1/payments", params={"status": "failed", "limit": 1}).json()["payments"][0]
    assert failed["lastCaptureError"]
    answer = s.post(f"/v1/payments/{failed['paymentId']}/mark-paid")
    paid = assert_documented(specs["flexportal"], MARK_PAID, "post", answer)["payment"]
    assert paid["status"] == "paid" and paid["lastCaptureError"] == failed["lastCaptureError"]
    operation = specs["flexportal"].document["paths"][MARK_PAID]["post"]
    assert "keeps its `lastCaptureError`" in operation["description"]
    schema = specs["flexportal"].document["components"]["schemas"]["Payment"]["properties"]["lastCaptureError"]
    assert "marked paid keeps it" in schema["description"]


def test_flexportal_paid_at_before_created_at_is_a_documented_400(
    sessions: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    s = sessions["flexportal"]
    pending = s.get("/v1/payments", params={"status": "pending", "limit": 1}).json()["payments"][0]
    answer = s.post(f"/v1/payments/{pending['paymentId']}/mark-paid", json={"paidAt": "2000-01-01T00:00:00Z"})
    assert answer.status == 400
    assert "before" in assert_documented(specs["flexportal"], MARK_PAID, "post", answer)["error"]["message"]
    documented = specs["flexportal"].document["paths"][MARK_PAID]["post"]["responses"]["400"]
    assert "`paidAt` is before the payment's `createdAt`" in documented["description"]


# --- Notify's limit error reads like the other APIs' ---------------------------------------------


@pytest.mark.parametrize("value", ["500", "0", "07", "ten"])
def test_notify_limit_error_names_the_range(
    value: str, sessions: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    answer = sessions["notify"].get("/v2/payments", params={"limit": value})
    assert answer.status == 400
    detail = assert_documented(specs["notify"], "/v2/payments", "get", answer)["detail"]
    assert "between 1 and 250" in detail and "pattern" not in detail and "^" not in detail
