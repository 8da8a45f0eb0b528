"""The APIs' operations answered without Flask's request machinery are answered as Flask answers them.

``create_app`` puts :class:`mock_server.app.DirectRoutes` in front of Flask: it routes a request
by the app's own URL map and calls the operation's view directly. The same requests, sent to it
and to the Flask app behind it (``DirectRoutes.flask``), must give the same status, headers and
bytes: successes, HEAD, repeated and ignored query names, refusals in the vendor's format.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from vendors import LISTS, Session
from werkzeug.test import EnvironBuilder, run_wsgi_app

from mock_server.app import DirectRoutes

_FRESH_ID = re.compile(rb'"(processId|requestId)": ?"[^"]*"')


def _answer(wsgi: Any, method: str, path: str, headers: dict[str, str], query: str = "") -> tuple[str, list, bytes]:
    environ = EnvironBuilder(path=path, method=method, headers=headers, query_string=query).get_environ()
    body, status, sent = run_wsgi_app(wsgi, environ, buffered=True)
    # Errors carry a fresh request ID each (hex, or a UUID): not what is compared.
    return status, list(sent.to_wsgi_list()), _FRESH_ID.sub(b"<id>", b"".join(body))


def _both(app: Flask, method: str, path: str, headers: dict[str, str], query: str = "") -> tuple[Any, Any]:
    direct = app.wsgi_app
    assert isinstance(direct, DirectRoutes)
    return _answer(direct, method, path, headers, query), _answer(direct.flask, method, path, headers, query)


@pytest.mark.parametrize("api", sorted(LISTS))
def test_a_list_is_answered_byte_for_byte_as_through_flask(app: Flask, api: str) -> None:
    session = Session(app.test_client(), api)
    path = f"/{api}{LISTS[api][0]}"
    # Given a plain page, an ignored name, a repeated one, a HEAD, a bad value and no credentials
    for method, query, headers in [
        ("GET", "", session.headers),
        ("GET", "nonsense=1&limit=2&nonsense=2&pageSize=3", session.headers),
        ("HEAD", "", session.headers),
        ("GET", "limit=-5&pageSize=-5&page=0", session.headers),
        ("GET", "", {}),
    ]:
        # When it is answered directly and through Flask, then both answers are the same
        direct, flask = _both(app, method, path, headers, query)
        assert direct == flask, (method, query)
        assert direct[0].split()[0] != "500"
    # And a HEAD answers the GET's headers without its body
    get, _ = _both(app, "GET", path, session.headers)
    head, _ = _both(app, "HEAD", path, session.headers)
    assert head[1] == get[1] and head[2] == b"" and get[2] != b""


def test_a_record_by_id_and_a_missing_one_are_answered_as_through_flask(app: Flask) -> None:
    session = Session(app.test_client(), "zutax")
    invoice = session.cred["params"]["invoice_id"]
    for path in (session.zutax_path(invoice), session.zutax_path("00000000-0000-4000-8000-000000000000")):
        direct, flask = _both(app, "GET", f"/zutax{path}", session.headers)
        assert direct == flask
    assert direct[0].startswith("404")


def test_requests_that_are_not_an_operations_go_to_flask(app: Flask) -> None:
    session = Session(app.test_client(), "flexportal")
    for method, path, headers in [
        ("GET", "/flexportal/v1/nowhere", session.headers),  # the API's fallback: its 404
        ("TRACE", "/flexportal/v1/payments", session.headers),  # its 405
        ("GET", "/__paymock/health", {}),  # the admin API
        ("GET", "/flexportal/v1/payments", {**session.headers, "Host": "evil.example"}),  # the guard's 403
    ]:
        direct, flask = _both(app, method, path, headers)
        assert direct == flask, (method, path)
    assert direct[0].startswith("403")
