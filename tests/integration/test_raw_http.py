"""Raw HTTP a client library would never send, answered in the vendor's own format (issue 19, section 3).

Bytes go over a socket to the live gunicorn server, so what is tested is what a client sees,
framing included: no HTML page from Flask, no redirect, an ``Allow`` that agrees with ``405``.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from live import LiveServer
from vendors import Session

from mock_server.errors import ApiError
from mock_server.spec import ApiSpec


@dataclass
class Raw:
    """A response read off the socket."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def exchange(url: str, request: bytes) -> Raw:
    """Send ``request`` as it is and read one response."""
    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock, method="HEAD" if request.startswith(b"HEAD ") else "GET")
        response.begin()
        return Raw(response.status, response.headers, response.read())


def _request(method: str, path: str, headers: dict[str, str] | None = None, tail: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8") + b"\r\n" + tail


def _routes(specs: dict[str, ApiSpec]) -> list[tuple[str, str, str]]:
    """(api, method, a concrete path) for every operation of every API."""
    out = []
    for api, spec in sorted(specs.items()):
        for op in spec.operations:
            out.append((api, op.method, f"/{api}" + re.sub(r"\{[^}]+\}", "abc", op.path)))
    return out


def _allowed(spec: ApiSpec, path: str) -> set[str]:
    """What the document serves at ``path`` (a template), as an ``Allow`` header lists it."""
    methods = {op.method for op in spec.operations if op.path == path}
    return methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())


def _assert_vendor_error(spec: ApiSpec, answer: Raw, kind: str) -> dict[str, object]:
    """The answer is the API's error of ``kind``: its status, content type and body shape."""
    status, reference = spec.errors.render(ApiError.of(kind, "reference"))
    assert answer.status == status, answer.body
    assert answer.headers["Content-Type"].split(";")[0] == spec.errors.media_type
    assert b"<html" not in answer.body.lower()
    body = answer.json()
    assert isinstance(body, dict) and set(body) == set(json.loads(reference)), body
    return body


@pytest.fixture(scope="module")
def every_route(specs: dict[str, ApiSpec]) -> list[tuple[str, str, str]]:
    return _routes(specs)


def test_a_malformed_chunked_body_is_the_vendors_body_error_on_every_route(
    server: LiveServer, specs: dict[str, ApiSpec], every_route: list[tuple[str, str, str]]
) -> None:
    assert len(every_route) >= 10
    for api, method, path in every_route:
        spec = specs[api]
        request = _request(method, path, {"Transfer-Encoding": "chunked"}, b"zz\r\nabc\r\n0\r\n\r\n")
        answer = exchange(server.url, request)
        # The API's own error for a body it cannot take: 400, or the 422 of Notify and ZuTax.
        body = _assert_vendor_error(spec, answer, "invalid_body")
        assert "chunk" in json.dumps(body), (api, method, path, body)


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "BREW", "DELETE"])
def test_unknown_methods_are_the_vendors_405_with_allow(
    method: str, server: LiveServer, specs: dict[str, ApiSpec]
) -> None:
    for api, spec in sorted(specs.items()):
        for template in sorted({op.path for op in spec.operations}):
            allowed = _allowed(spec, template)
            if method in allowed:
                continue
            path = f"/{api}" + re.sub(r"\{[^}]+\}", "abc", template)
            answer = exchange(server.url, _request(method, path))
            body = _assert_vendor_error(spec, answer, "method_not_allowed")
            assert set(answer.headers["Allow"].split(", ")) == allowed, (api, template)
            # Where the API's 405 carries a message (not Starlette's fixed one), it names the method.
            assert method in json.dumps(body) or body == {"detail": "Method Not Allowed"}


def test_options_lists_exactly_what_the_route_serves(server: LiveServer, specs: dict[str, ApiSpec]) -> None:
    for api, spec in sorted(specs.items()):
        for template in sorted({op.path for op in spec.operations}):
            path = f"/{api}" + re.sub(r"\{[^}]+\}", "abc", template)
            answer = exchange(server.url, _request("OPTIONS", path))
            assert answer.status == 200
            allowed = set(answer.headers["Allow"].split(", "))
            assert allowed == _allowed(spec, template), (api, template)
            # Every method outside Allow is refused, every one inside is not a 405.
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                refused = exchange(server.url, _request(method, path)).status == 405
                assert refused == (method not in allowed), (api, template, method)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/flexportal//v1/payments/pay_x/mark-paid"),
        ("GET", "/flexportal/v1//payments"),
        ("GET", "/zuora//v1/payments"),
        ("POST", "/zuora//oauth/token"),
        ("GET", "/exsited/api/v3/payments//"),
        ("GET", "/notify//v2/payments"),
    ],
)
def test_a_double_slash_is_the_vendors_404_not_a_redirect(
    method: str, path: str, server: LiveServer, specs: dict[str, ApiSpec]
) -> None:
    api = path.split("/")[1]
    answer = exchange(server.url, _request(method, path, {"Content-Length": "0"}))
    assert "Location" not in answer.headers
    body = _assert_vendor_error(specs[api], answer, "not_found")
    assert path in json.dumps(body)


def test_non_ascii_header_values_read_as_sent(server: LiveServer) -> None:
    s = Session(server.url, "flexportal")
    headers = {**s.headers, "Tenant-ID": "café-über"}
    answer = exchange(server.url, _request("GET", "/flexportal/v1/payments", headers))
    assert answer.status == 403
    message = answer.json()["error"]["message"]  # type: ignore[index]
    assert "'café-über'" in message, message


def test_a_non_ascii_echoed_header_comes_back_byte_for_byte(server: LiveServer) -> None:
    s = Session(server.url, "zuora")
    request = _request("GET", "/zuora/v1/payments?pageSize=1", {**s.headers, "Zuora-Track-Id": "tëst"})
    answer = exchange(server.url, request)
    assert answer.status in (200, 400)
    # http.client decodes header bytes as latin-1: the same bytes the client sent.
    assert answer.headers["Zuora-Track-Id"] == "tëst".encode().decode("latin-1")
