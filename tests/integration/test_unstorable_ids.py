"""IDs holding bytes a database cannot hold as text (a NUL, bytes that are not UTF-8) are unknown
IDs like any other, on every store: every detail route and action answers the vendor's own
404 (or its validation error), never a 500. PostgreSQL refuses NUL in text outright, so its store
must not send one.
"""

from __future__ import annotations

from typing import Any

import pytest
from live import LiveServer
from vendors import Session

#: Path segments that decode to text no store holds: a NUL inside, a NUL alone, bytes that are not UTF-8.
UNSTORABLE = ("P-1%00x", "%00", "%FF%FE", "%ED%A0%80")


def _answers(s: Session, method: str, path: str) -> list[tuple[int, Any]]:
    answers = []
    for segment in UNSTORABLE:
        answer = s.transport.request(method, s.prefix + path.format(segment), headers=s.headers)
        answers.append((answer.status, answer.json()))
    return answers


@pytest.mark.parametrize(
    ("api", "method", "path", "status", "error"),
    [
        ("flexportal", "GET", "/v1/payments/{}", 404, lambda body: body["error"]["code"] == "NOT_FOUND"),
        ("flexportal", "POST", "/v1/payments/{}/mark-paid", 404, lambda body: body["error"]["code"] == "NOT_FOUND"),
        ("flexportal", "POST", "/v1/payments/{}/cancel", 404, lambda body: body["error"]["code"] == "NOT_FOUND"),
        ("exsited", "GET", "/api/v3/payments/{}", 404, lambda body: "errors" in body),
        ("exsited", "GET", "/api/v3/invoices/{}/payments", 404, lambda body: "errors" in body),
    ],
)
def test_unstorable_ids_are_unknown_ids(
    live: LiveServer, api: str, method: str, path: str, status: int, error: Any
) -> None:
    for got, body in _answers(Session(live.url, api), method, path):
        assert got == status, body
        assert error(body), body


def test_unstorable_ids_in_a_zutax_path_are_refused_as_fastapi_refuses_them(live: LiveServer) -> None:
    s = Session(live.url, "zutax")
    for got, body in _answers(s, "GET", s.zutax_path("{}").replace(s.prefix, "", 1)):
        assert got == 422 and body["detail"][0]["loc"] == ["path", "invoice_id"], body


@pytest.mark.parametrize(
    ("api", "path", "name"),
    [("flexportal", "/v1/payments", "startAfter"), ("notify", "/v2/payments", "from")],
)
def test_unstorable_cursors_are_refused_not_failed(live: LiveServer, api: str, path: str, name: str) -> None:
    s = Session(live.url, api)
    for value in ("P-1\x00x", "\x00"):
        answer = s.get(path, params={name: value})
        assert 400 <= answer.status < 500, answer.body
        assert answer.json()
