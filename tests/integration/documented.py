"""Check an answer against what the document promises for that operation and status."""

from __future__ import annotations

from typing import Any

from openapi_schema_validator import OAS30Validator
from vendors import Answer

from mock_server.spec import ApiSpec, Resolver


def response_schema(spec: ApiSpec, path: str, method: str, status: int) -> tuple[str, dict[str, Any]]:
    """Media type and resolved schema the document gives for this status (exact, then 4XX)."""
    op = spec.document["paths"][path][method]
    responses = op["responses"]
    key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
    assert key in responses, f"{spec.name} {method.upper()} {path} documents no {status} response"
    resolver = Resolver(spec.document, spec.name)
    response = resolver.resolve(responses[key])
    (media, content), *_ = response["content"].items()
    return media, content["schema"]


def assert_documented(spec: ApiSpec, path: str, method: str, answer: Answer) -> Any:
    """The status is documented and the body and content type match its schema."""
    media, schema = response_schema(spec, path, method, answer.status)
    assert answer.headers["Content-Type"].split(";")[0] == media
    body = answer.json()
    errors = [e.message for e in OAS30Validator(schema).iter_errors(body)]
    assert errors == [], (answer.status, body)
    return body
