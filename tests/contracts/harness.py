"""Deliberately broken implementations: a WSGI wrapper in front of paymock's mock that rewrites
requests and answers, one fault at a time.

The faults know only what a client knows: the documents' paths, parameter names and JSON
shapes, and the sandbox credentials the mock publishes. They never reach into the mock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from werkzeug.test import Client

from contracts.testing import MockServer, WSGIApp


@dataclass
class Req:
    """The request as a fault sees it (changes are sent on)."""

    environ: dict[str, Any]

    @property
    def method(self) -> str:
        return str(self.environ["REQUEST_METHOD"])

    @property
    def path(self) -> str:
        return str(self.environ.get("PATH_INFO", ""))

    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.environ.get("QUERY_STRING", ""), keep_blank_values=True))

    def set_query(self, values: dict[str, str]) -> None:
        self.environ["QUERY_STRING"] = urlencode(values)

    def header(self, name: str) -> str | None:
        value = self.environ.get("HTTP_" + name.upper().replace("-", "_"))
        return None if value is None else str(value)

    def set_header(self, name: str, value: str) -> None:
        self.environ["HTTP_" + name.upper().replace("-", "_")] = value

    def url(self, query: dict[str, str]) -> str:
        return f"http://{self.environ['HTTP_HOST']}{self.path}?{urlencode(query)}"


@dataclass
class Resp:
    """The answer as a fault sees it (changes are sent back)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json(self, data: Any) -> None:
        self.body = json.dumps(data).encode()

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def set_header(self, name: str, value: str | None) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        if value is not None:
            self.headers.append((name, value))


def items_in(body: Any) -> list[Any] | None:
    """The record list of a list answer: the body itself, or the first list of objects inside it."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                return value
            found = items_in(value) if isinstance(value, dict) else None
            if found is not None:
                return found
    return None


class Fault:
    """One deliberate defect. Subclasses rewrite requests, answers, or both.

    Attributes:
        api: The API the fault breaks.
        breaks: The check names a correct kit must report.
    """

    api: ClassVar[str]
    breaks: ClassVar[tuple[str, ...]]

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.inner = Client(app)
        self._credentials: dict[str, Any] | None = None

    def credentials(self, tenant: int) -> dict[str, Any]:
        if self._credentials is None:
            self._credentials = self.inner.get("/__paymock/credentials").get_json()
        assert self._credentials is not None
        entry: dict[str, Any] = self._credentials[self.api]["tenants"][tenant]
        return entry

    def on_request(self, req: Req) -> None:
        """Change the request before the mock sees it."""

    def on_response(self, req: Req, resp: Resp) -> None:
        """Change the answer before the client sees it."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ = dict(environ)
        environ.pop("HTTP_ACCEPT_ENCODING", None)  # plain bodies, so they can be rewritten
        req = Req(environ)
        self.on_request(req)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, list(headers)
            return lambda data: None

        chunks = self.app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        resp = Resp(int(captured["status"].split()[0]), captured["headers"], body)
        if self.api == "*" or req.path.startswith(f"/{self.api}/"):
            self.on_response(req, resp)
        resp.set_header("Content-Length", str(len(resp.body)))
        start_response(f"{resp.status} {HTTPStatus(resp.status).phrase}", resp.headers)
        return [resp.body]


def _list(resp: Resp) -> tuple[Any, list[Any]] | None:
    body = resp.json()
    items = items_in(body) if resp.status == 200 else None
    return (body, items) if items is not None else None


# -- the faults the issue names ---------------------------------------------------------------


class DropAtPageBoundary(Fault):
    """The first item of every page after the first goes missing."""

    api, breaks = "flexportal", ("pagination_covers_exactly_once",)

    def on_response(self, req: Req, resp: Resp) -> None:
        found = _list(resp)
        if req.path == "/flexportal/v1/payments" and "startAfter" in req.query() and found and found[1]:
            del found[1][0]
            resp.set_json(found[0])


class RepeatAcrossPages(Fault):
    """Every page after the first starts with the last item of the page before."""

    api, breaks = "notify", ("pagination_covers_exactly_once",)
    last: Any = None

    def on_response(self, req: Req, resp: Resp) -> None:
        found = _list(resp)
        if req.path != "/notify/v2/payments" or not found or not found[1]:
            return
        body, items = found
        previous, self.last = self.last, items[-1]
        if "from" in req.query() and previous is not None:
            items.insert(0, previous)
            resp.set_json(body)


class FilterIgnored(Fault):
    """The status filter is dropped on its way to the implementation."""

    api, breaks = "flexportal", ("filters_hold",)

    def on_request(self, req: Req) -> None:
        query = req.query()
        if req.path == "/flexportal/v1/payments" and "status" in query:
            del query["status"]
            req.set_query(query)


class SortReversed(Fault):
    """Every page of payments comes in the opposite order."""

    api, breaks = "zuora", ("sort_order",)

    def on_response(self, req: Req, resp: Resp) -> None:
        found = _list(resp)
        if req.path == "/zuora/v1/payments" and found:
            found[1].reverse()
            resp.set_json(found[0])


class WrongFieldType(Fault):
    """``amount`` is sent as a string where the document says number."""

    api, breaks = "flexportal", ("response_schema_conformance",)

    def on_response(self, req: Req, resp: Resp) -> None:
        found = _list(resp)
        if found:
            for item in found[1]:
                item["amount"] = str(item.get("amount"))
            resp.set_json(found[0])


class RequiredFieldMissing(Fault):
    """``status`` is left out of every payment."""

    api, breaks = "exsited", ("response_schema_conformance",)

    def on_response(self, req: Req, resp: Resp) -> None:
        body, found = resp.json(), _list(resp)
        detail = body.get("payment") if isinstance(body, dict) else None
        records = found[1] if found else [detail] if isinstance(detail, dict) else []
        for item in records:
            item.pop("status", None)
        if records:
            resp.set_json(found[0] if found else body)


class NoCredentialsAccepted(Fault):
    """A request without credentials is served as if it came from the first tenant."""

    api, breaks = "flexportal", ("auth_required", "ignored_auth")

    def on_request(self, req: Req) -> None:
        if req.path.startswith("/flexportal/") and req.header("Authorization") is None:
            cred = self.credentials(0)
            req.set_header("Authorization", cred["value"])


class BadInputAnswered200(Fault):
    """Invalid input is answered 200 instead of refused."""

    api, breaks = "exsited", ("negative_data_rejection",)

    def on_response(self, req: Req, resp: Resp) -> None:
        if resp.status == 400:
            resp.status = 200


class BadInputAnswered500(Fault):
    """Invalid input crashes the implementation."""

    api, breaks = "zutax", ("not_a_server_error",)

    def on_response(self, req: Req, resp: Resp) -> None:
        if resp.status == 422:
            resp.status = 500
            resp.set_json({"detail": "Internal Server Error"})


class StaleStatusAfterMarkPaid(Fault):
    """After mark-paid, reading the payment still shows its old status."""

    api, breaks = "flexportal", ("state_changes_visible",)
    marked: set[str]

    def __init__(self, app: WSGIApp) -> None:
        super().__init__(app)
        self.marked = set()

    def on_response(self, req: Req, resp: Resp) -> None:
        parts = req.path.split("/")
        if req.method == "POST" and req.path.endswith("/mark-paid") and resp.status == 200:
            self.marked.add(parts[-2])
        elif req.method == "GET" and len(parts) == 5 and parts[-1] in self.marked and resp.status == 200:
            body = resp.json()
            body["payment"].update(status="pending", paidAt=None)
            resp.set_json(body)


class TenantRowLeaked(Fault):
    """The second tenant's payment list carries one payment of the first tenant."""

    api, breaks = "flexportal", ("tenant_isolation",)

    def on_response(self, req: Req, resp: Resp) -> None:
        second = self.credentials(1)["selectors"]["Tenant-ID"]
        found = _list(resp)
        if req.path != "/flexportal/v1/payments" or req.header("Tenant-ID") != second or not found:
            return
        first = self.credentials(0)
        theirs = self.inner.get(
            "/flexportal/v1/payments?limit=1",
            headers={"Authorization": first["value"], "Tenant-ID": first["selectors"]["Tenant-ID"]},
        ).get_json()
        found[1].append(theirs["payments"][0])
        resp.set_json(found[0])


class EchoedHeaderDropped(Fault):
    """``Zuora-Track-Id`` is not echoed."""

    api, breaks = "zuora", ("echoed_headers",)

    def on_response(self, req: Req, resp: Resp) -> None:
        resp.set_header("Zuora-Track-Id", None)


class NextLinkOnLastPage(Fault):
    """The last page of payments still links to a next page."""

    api, breaks = "zuora", ("last_page_has_no_next",)

    def on_response(self, req: Req, resp: Resp) -> None:
        body = resp.json()
        if req.path == "/zuora/v1/payments" and resp.status == 200 and "nextPage" not in body:
            query = req.query()
            query["page"] = str(int(query.get("page", "1")) + 1)
            body["nextPage"] = req.url(query)
            resp.set_json(body)


# -- one more fault for every other promise ----------------------------------------------------


class TotalOffByOne(Fault):
    """The reported total counts one record too many."""

    api, breaks = "exsited", ("counts_agree",)

    def on_response(self, req: Req, resp: Resp) -> None:
        body = resp.json()
        if req.path == "/exsited/api/v3/payments" and resp.status == 200:
            body["pagination"]["records"] += 1
            resp.set_json(body)


class PageLargerThanAsked(Fault):
    """Every page holds one item more than requested."""

    api, breaks = "flexportal", ("page_size_within_limit",)

    def on_request(self, req: Req) -> None:
        query = req.query()
        if req.path == "/flexportal/v1/payments" and query.get("limit", "").isdigit() and int(query["limit"]) < 100:
            query["limit"] = str(int(query["limit"]) + 1)
            req.set_query(query)


class DefaultPageSizeIgnored(Fault):
    """Without ``limit``, pages hold 10 items instead of the documented 50."""

    api, breaks = "notify", ("limits_and_defaults",)

    def on_request(self, req: Req) -> None:
        query = req.query()
        if req.path == "/notify/v2/payments" and "limit" not in query:
            query["limit"] = "10"
            req.set_query(query)


class DetailDiffersFromList(Fault):
    """Fetched by ID, a payment names another creator than in the list."""

    api, breaks = "exsited", ("list_detail_agree",)

    def on_response(self, req: Req, resp: Resp) -> None:
        body = resp.json()
        if req.path.startswith("/exsited/api/v3/payments/") and resp.status == 200:
            body["payment"]["created_by"] = "Somebody Else"
            resp.set_json(body)


class NestedListHoldsStranger(Fault):
    """An invoice's payment list also holds a payment of another invoice."""

    api, breaks = "exsited", ("nested_agrees_with_top_level",)

    def on_response(self, req: Req, resp: Resp) -> None:
        found = _list(resp)
        if not (req.path.startswith("/exsited/api/v3/invoices/") and found):
            return
        auth = req.header("Authorization") or ""
        top = self.inner.get("/exsited/api/v3/payments?limit=100", headers={"Authorization": auth}).get_json()
        invoice = req.path.split("/")[-2]
        stranger = next(p for p in top["payments"] if p["invoices"] and p["invoices"][0]["code"] != invoice)
        found[1].append(stranger)
        resp.set_json(found[0])


class SecondMarkPaidAccepted(Fault):
    """Marking a paid payment paid again is answered 200."""

    api, breaks = "flexportal", ("forbidden_transition_refused",)

    def on_response(self, req: Req, resp: Resp) -> None:
        if req.method == "POST" and resp.status == 409:
            resp.status = 200


class UndocumentedStatus(Fault):
    """An unknown payment ID is answered 204 (undocumented) instead of 404."""

    api, breaks = "flexportal", ("status_code_conformance",)

    def on_response(self, req: Req, resp: Resp) -> None:
        if req.method == "GET" and req.path.count("/") == 4 and resp.status == 404:
            resp.status, resp.body = 204, b""


class WrongContentType(Fault):
    """Answers are labelled text/plain."""

    api, breaks = "notify", ("content_type_conformance",)

    def on_response(self, req: Req, resp: Resp) -> None:
        resp.set_header("Content-Type", "text/plain")


class HeaderAgainstItsSchema(Fault):
    """The echoed ``Zuora-Track-Id`` grows past the documented 64 characters."""

    api, breaks = "zuora", ("response_headers_conformance",)

    def on_response(self, req: Req, resp: Resp) -> None:
        value = resp.header("Zuora-Track-Id")
        if value is not None:
            resp.set_header("Zuora-Track-Id", value + "x" * 70)


class MissingRequiredHeaderAccepted(Fault):
    """A request without the required ``Tenant-ID`` is served for the key's tenant."""

    api, breaks = "flexportal", ("missing_required_header",)

    def on_request(self, req: Req) -> None:
        if req.path.startswith("/flexportal/") and req.header("Tenant-ID") is None:
            for tenant in (0, 1):
                cred = self.credentials(tenant)
                if req.header("Authorization") == cred["value"]:
                    req.set_header("Tenant-ID", cred["selectors"]["Tenant-ID"])


class MarkPaidCrashes(Fault):
    """``mark-paid`` fails with a 502 (the link from a payment leads nowhere)."""

    api, breaks = "flexportal", ("openapi_links",)

    def on_response(self, req: Req, resp: Resp) -> None:
        if req.method == "POST" and req.path.endswith("/mark-paid"):
            resp.status = 502
            resp.set_json({"success": False, "error": {"code": "BAD_GATEWAY", "message": "upstream failed"}})


class HiddenAdmin(Fault):
    """Not a fault: hides ``/__paymock/``, so the mock looks like any vendor's server."""

    api, breaks = "*", ()

    def on_response(self, req: Req, resp: Resp) -> None:
        if req.path.startswith("/__paymock/"):
            resp.status = 404
            resp.set_json({"error": "not_found"})


FAULTS: list[type[Fault]] = [
    DropAtPageBoundary,
    RepeatAcrossPages,
    FilterIgnored,
    SortReversed,
    WrongFieldType,
    RequiredFieldMissing,
    NoCredentialsAccepted,
    BadInputAnswered200,
    BadInputAnswered500,
    StaleStatusAfterMarkPaid,
    TenantRowLeaked,
    EchoedHeaderDropped,
    NextLinkOnLastPage,
    TotalOffByOne,
    PageLargerThanAsked,
    DefaultPageSizeIgnored,
    DetailDiffersFromList,
    NestedListHoldsStranger,
    SecondMarkPaidAccepted,
    UndocumentedStatus,
    WrongContentType,
    HeaderAgainstItsSchema,
    MissingRequiredHeaderAccepted,
    MarkPaidCrashes,
]


def zutax_invoice(server: MockServer) -> str:
    """An invoice of zutax's first tenant that has payments, read from the seeded store.

    ZuTax offers no operation that lists invoices, so a real user would know one from elsewhere;
    the test plays that user.
    """
    spec = next(s for s in server.served.specs if s.name == "zutax")
    collection = spec.collections["invoice_payments"]
    values = server.served.store.sample(collection.table, 1, collection.columns["invoice"].key, 1)
    return str(values[0])
