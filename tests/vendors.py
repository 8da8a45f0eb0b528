"""Per-API request helpers for tests: authenticated headers from the credentials the mock
publishes (tests never hard-code a key), over HTTP or through the Flask test client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import requests
from flask.testing import FlaskClient


@dataclass
class Answer:
    """A response, whichever transport produced it."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return orjson.loads(self.body)


class Transport:
    """Sends requests to a server root: a live URL, or a Flask test client."""

    def __init__(self, target: str | FlaskClient) -> None:
        self.target = target
        self.http = requests.Session() if isinstance(target, str) else None

    def request(self, method: str, path: str, **kwargs: Any) -> Answer:
        """One request; ``path`` starts at the server root."""
        if isinstance(self.target, str):
            assert self.http is not None
            r = self.http.request(method, self.target + path, timeout=30, **kwargs)
            return Answer(r.status_code, dict(r.headers), r.content)
        if "params" in kwargs:
            kwargs["query_string"] = kwargs.pop("params")
        r2 = self.target.open(path, method=method, **kwargs)
        return Answer(r2.status_code, dict(r2.headers), r2.get_data())


class Session:
    """Authenticated access to one API as one tenant."""

    def __init__(self, target: str | FlaskClient, api: str, tenant: int = 0, prefix: str | None = None) -> None:
        self.transport = Transport(target)
        self.api = api
        self.prefix = f"/{api}" if prefix is None else prefix
        all_creds = self.transport.request("GET", "/__paymock/credentials").json()
        self.cred: dict[str, Any] = all_creds[api]["tenants"][tenant]
        self.headers = self._headers()

    def _headers(self) -> dict[str, str]:
        cred = self.cred
        headers: dict[str, str] = {}
        if "header" in cred:
            headers[cred["header"]] = cred["value"]
        else:
            headers["Authorization"] = f"Bearer {self.token()}"
        for name, value in cred.get("selectors", {}).items():
            if name[0].isupper():  # header selectors; path selectors are lower-case path parameters
                headers[name] = value
        return headers

    def token(self) -> str:
        """An access token from the API's token endpoint."""
        cred = self.cred
        if self.api == "zuora":
            r = self.transport.request(
                "POST",
                f"{self.prefix}/oauth/token",
                data={
                    "client_id": cred["client_id"],
                    "client_secret": cred["client_secret"],
                    "grant_type": "client_credentials",
                },
            )
        else:
            r = self.transport.request(
                "POST",
                f"{self.prefix}/api/v1/oauth2/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": cred["client_id"],
                    "client_secret": cred["client_secret"],
                    "redirect_uri": "https://example.com/cb",
                },
            )
        assert r.status == 200, r.body
        return str(r.json()["access_token"])

    def get(self, path: str, params: Any = None, headers: dict[str, str] | None = None) -> Answer:
        """GET below the API's prefix, with credentials (``headers`` override them)."""
        return self.transport.request(
            "GET", self.prefix + path, params=params, headers={**self.headers, **(headers or {})}
        )

    def post(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Answer:
        """POST below the API's prefix, with credentials."""
        return self.transport.request("POST", self.prefix + path, headers={**self.headers, **(headers or {})}, **kwargs)

    def raw(self, method: str, path: str, **kwargs: Any) -> Answer:
        """A request below the prefix with exactly the headers given (no credentials added)."""
        return self.transport.request(method, self.prefix + path, **kwargs)

    def zutax_path(self, invoice: str) -> str:
        """The zutax invoice-payments path for this tenant's workspace."""
        sel = self.cred["selectors"]
        return f"/api/v1/tenants/{sel['tenant_id']}/workspaces/{sel['workspace_id']}/invoices/{invoice}/payments"


#: Where each API's list lives and how its envelope names the items.
LISTS = {
    "flexportal": ("/v1/payments", "payments"),
    "exsited": ("/api/v3/payments", "payments"),
    "notify": ("/v2/payments", "payments"),
    "zuora": ("/v1/payments", "payments"),
}


def walk(session: Session, api: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Follow an API's own pagination to the end, the way its documentation says to."""
    path, key = LISTS[api]
    items: list[dict[str, Any]] = []
    params = dict(params)
    for _ in range(10_000):
        if api == "flexportal":
            body = session.get(path, params={**params, "limit": limit}).json()
            items += body[key]
            if not body["hasMore"]:
                assert body["nextCursor"] is None
                return items
            params["startAfter"] = body["nextCursor"]
        elif api == "exsited":
            body = session.get(path, params={**params, "limit": limit}).json()
            items += body[key]
            nxt = body["pagination"]["next_page"]
            if not nxt:
                return items
            params["offset"] = int(nxt.split("offset=")[1].split("&")[0])
        elif api == "notify":
            body = session.get(path, params={**params, "limit": limit}).json()
            items += body[key]
            nxt = body["links"]["next"]
            if nxt is None:
                return items
            params["from"] = nxt["href"].split("from=")[1].split("&")[0]
        else:
            page = params.get("page", 1)
            body = session.get(path, params={**params, "pageSize": limit, "page": page}).json()
            items += body[key]
            if "nextPage" not in body:
                return items
            params["page"] = page + 1
    raise AssertionError("pagination did not terminate")
