"""Bad input of every kind gets the vendor's documented 4xx with a message naming the parameter,
the value and what is allowed; no input produces a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from documented import assert_documented
from live import LiveServer
from vendors import Session

from mock_server.spec import ApiSpec

ZUTAX = "/api/v1/tenants/{tenant_id}/workspaces/{workspace_id}/invoices/{invoice_id}/payments"

# (api, documented path, query, status, words the message must contain)
BAD_QUERIES = [
    ("flexportal", "/v1/payments", {"limit": "0"}, 400, ["limit", "0", "minimum of 1"]),
    ("flexportal", "/v1/payments", {"limit": "101"}, 400, ["limit", "101", "maximum of 100"]),
    ("flexportal", "/v1/payments", {"limit": "ten"}, 400, ["limit", "ten", "integer"]),
    ("flexportal", "/v1/payments", {"limit": "1.5"}, 400, ["limit", "integer"]),
    ("flexportal", "/v1/payments", {"status": "settled"}, 400, ["status", "settled", "'paid'"]),
    ("flexportal", "/v1/payments", {"dueDateFrom": "yesterday"}, 400, ["dueDateFrom", "yesterday"]),
    ("flexportal", "/v1/payments", {"dueDateTo": "0000-00-00"}, 400, ["dueDateTo", "0000-00-00"]),
    ("flexportal", "/v1/payments", {"dueDateFrom": "2026-02-30T10:00:00Z"}, 400, ["dueDateFrom", "2026-02-30"]),
    (
        "flexportal",
        "/v1/payments",
        {"startAfter": "pay_doesnotexist"},
        400,
        ["startAfter", "pay_doesnotexist", "previous page"],
    ),
    ("exsited", "/api/v3/payments", {"limit": "-1"}, 400, ["limit", "-1"]),
    ("exsited", "/api/v3/payments", {"offset": "-5"}, 400, ["offset", "-5"]),
    ("exsited", "/api/v3/payments", {"order_by": "sideways"}, 400, ["order_by", "sideways"]),
    ("notify", "/v2/payments", {"limit": "251"}, 400, ["limit", "251"]),
    ("notify", "/v2/payments", {"limit": "0"}, 400, ["limit"]),
    (
        "notify",
        "/v2/payments",
        {"from": "00000000-0000-4000-8000-000000000000"},
        400,
        ["from", "00000000-0000-4000-8000-000000000000"],
    ),
    ("zuora", "/v1/payments", {"pageSize": "41"}, 400, ["pageSize", "41", "maximum of 40"]),
    ("zuora", "/v1/payments", {"page": "0"}, 400, ["page", "0"]),
    ("zuora", "/v1/payments", {"amount": "lots"}, 400, ["amount", "lots", "number"]),
    ("zuora", "/v1/payments", {"amount": "NaN"}, 400, ["amount", "finite"]),
    ("zuora", "/v1/payments", {"status": "Done"}, 400, ["status", "Done", "'Processed'"]),
    ("zuora", "/v1/payments", {"createdDate": "last week"}, 400, ["createdDate", "last week"]),
    (
        "zuora",
        "/v1/payments",
        {"sort": "-colour"},
        400,
        ["sort", "colour", "sortable fields are number"],
    ),
    ("zuora", "/v1/payments", {"sort": "-number,+amount,-accountId"}, 400, ["sort", "at most 2"]),
    ("zuora", "/v1/payments", {"sort": "-number,+number"}, 400, ["sort", "twice"]),
    ("zuora", "/v1/payments", {"sort": ""}, 400, ["sort", "at least one sortable field"]),
]


@pytest.fixture(scope="module")
def sessions(server: LiveServer) -> dict[str, Session]:
    return {api: Session(server.url, api) for api in ("flexportal", "exsited", "notify", "zuora", "zutax")}


@pytest.mark.parametrize(
    ("api", "path", "query", "status", "words"),
    BAD_QUERIES,
    ids=[f"{c[0]}-{next(iter(c[2]))}={next(iter(c[2].values()))}" for c in BAD_QUERIES],
)
def test_bad_query_parameters(
    api: str,
    path: str,
    query: dict[str, str],
    status: int,
    words: list[str],
    sessions: dict[str, Session],
    specs: dict[str, ApiSpec],
) -> None:
    answer = sessions[api].get(path, params=query)
    assert answer.status == status, answer.body
    assert_documented(specs[api], path, "get", answer)
    text = answer.body.decode()
    for word in words:
        assert word in text, (word, text)


def test_zuora_header_limits(sessions: dict[str, Session], specs: dict[str, ApiSpec]) -> None:
    for bad in ("x" * 65, "colon:inside", 'quote"inside'):
        answer = sessions["zuora"].get("/v1/payments", headers={"Zuora-Track-Id": bad})
        assert answer.status == 400
        assert (
            "Zuora-Track-Id"
            in assert_documented(specs["zuora"], "/v1/payments", "get", answer)["reasons"][0]["message"]
        )


def test_zutax_path_validation_is_fastapi_422(sessions: dict[str, Session], specs: dict[str, ApiSpec]) -> None:
    s = sessions["zutax"]
    answer = s.get(s.zutax_path("not-a-uuid"))
    assert answer.status == 422
    body = assert_documented(specs["zutax"], ZUTAX, "get", answer)
    assert body["detail"][0]["loc"] == ["path", "invoice_id"] and body["detail"][0]["type"] == "uuid_parsing"


def test_flexportal_missing_tenant_header(sessions: dict[str, Session], specs: dict[str, ApiSpec]) -> None:
    s = sessions["flexportal"]
    headers = {k: v for k, v in s.headers.items() if k != "Tenant-ID"}
    answer = s.raw("GET", "/v1/payments", headers=headers)
    assert answer.status == 400
    assert "Tenant-ID" in assert_documented(specs["flexportal"], "/v1/payments", "get", answer)["error"]["message"]


MARK_PAID = "/v1/payments/{paymentId}/mark-paid"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "word"),
    [
        ('{"paidAt": "soon"}', "application/json", 400, "paidAt"),
        ('{"paidAt": ', "application/json", 400, "not valid JSON"),
        ('{"paidAt": "2026-01-01T00:00:00Z", "extra": 1}', "application/json", 400, "extra"),
        ("[1, 2]", "application/json", 400, "object"),
        ("paidAt=now", "text/plain", 415, "application/json"),
        ('{"paidAt": "1999-01-01T00:00:00Z"}', "application/json", 400, "before"),
    ],
)
def test_bad_bodies(
    body: str,
    content_type: str,
    status: int,
    word: str,
    live: LiveServer,
    specs: dict[str, ApiSpec],
) -> None:
    s = Session(live.url, "flexportal")
    pending = s.get("/v1/payments", params={"status": "pending", "limit": 1}).json()["payments"][0]["paymentId"]
    answer = s.post(f"/v1/payments/{pending}/mark-paid", data=body, headers={"Content-Type": content_type})
    assert answer.status == status, answer.body
    assert word in assert_documented(specs["flexportal"], MARK_PAID, "post", answer)["error"]["message"]
    assert s.get(f"/v1/payments/{pending}").json()["payment"]["status"] == "pending"  # nothing changed


@pytest.mark.parametrize(
    ("api", "method", "path", "status"),
    [
        ("flexportal", "GET", "/v1/nothing-here", 404),
        ("flexportal", "DELETE", "/v1/payments", 405),
        ("zuora", "PUT", "/v1/payments", 405),
        ("exsited", "GET", "/api/v3/payments/PMT-000000-0000", 404),
        ("flexportal", "GET", "/v1/payments/pay_unknown", 404),
    ],
)
def test_unknown_routes_and_ids_answer_in_the_vendor_shape(
    api: str,
    method: str,
    path: str,
    status: int,
    sessions: dict[str, Session],
    specs: dict[str, ApiSpec],
) -> None:
    answer = sessions[api].transport.request(method, f"/{api}{path}", headers=sessions[api].headers)
    assert answer.status == status
    # The body has the same shape as the API's documented errors.
    documented_path = "/v1/payments" if api != "exsited" else "/api/v3/payments"
    fake = type(answer)(400 if api != "exsited" else 404, answer.headers, answer.body)
    if api == "exsited":
        assert_documented(specs[api], "/api/v3/payments/{payment_id}", "get", fake)
    else:
        assert_documented(specs[api], documented_path, "get", fake)


GARBAGE = [
    "'",
    "%00",
    "\u2603",
    "9" * 40,
    "-1e309",
    "true",
    "[]",
    "{}",
    "null",
    "../../etc",
    "a" * 2000,
]


@pytest.mark.parametrize("api", ["flexportal", "exsited", "notify", "zuora"])
def test_no_input_produces_a_server_error(api: str, sessions: dict[str, Session], specs: dict[str, ApiSpec]) -> None:
    s = sessions[api]
    path = {
        "flexportal": "/v1/payments",
        "exsited": "/api/v3/payments",
        "notify": "/v2/payments",
        "zuora": "/v1/payments",
    }[api]
    names = [p["name"] for p in specs[api].document["paths"][path]["get"].get("parameters", []) if "name" in p]
    names += [
        p.rsplit("/", 1)[-1]
        for p in (r.get("$ref", "") for r in specs[api].document["paths"][path]["get"].get("parameters", []))
        if p
    ]
    for name in names:
        for value in GARBAGE:
            answer = s.get(path, params={name: value})
            assert answer.status < 500, (name, value, answer.body)
            json.loads(answer.body)  # always a JSON body, whatever the status


def _first(body: Any, key: str) -> Any:
    return body[key][0]
