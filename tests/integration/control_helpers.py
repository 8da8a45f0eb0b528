"""Helpers of the control-plane tests: each API's list operation as a client calls it, and a clean control state."""

from __future__ import annotations

from typing import Any

import requests
from live import LiveServer
from vendors import Session

#: Each API's list operation: operationId and document path.
LIST_OPS = {
    "flexportal": ("listPayments", "/v1/payments"),
    "exsited": ("listPayments", "/api/v3/payments"),
    "notify": ("listPayments", "/v2/payments"),
    "zuora": ("GET_RetrieveAllPayments", "/v1/payments"),
    "zutax": (
        "list_invoice_payments_api_v1_tenants__tenant_id__workspaces__workspace_id__invoices__invoice_id__payments_get",
        "/api/v1/tenants/{tenant_id}/workspaces/{workspace_id}/invoices/{invoice_id}/payments",
    ),
}
APIS = tuple(LIST_OPS)


class Lister:
    """Calls one API's list operation as its first tenant."""

    def __init__(self, url: str, api: str) -> None:
        self.api = api
        self.session = Session(url, api)
        self.operation, self.template = LIST_OPS[api]
        self.path = self.template
        if api == "zutax":
            self.path = self.session.zutax_path(self.session.cred["params"]["invoice_id"])
        self.url = f"{url}/{api}{self.path}"

    def get(self, params: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
        """A fresh connection each time (so requests spread over the server's workers)."""
        headers = {**self.session.headers, "Connection": "close", **kwargs.pop("headers", {})}
        return requests.get(self.url, params=params, headers=headers, timeout=30, **kwargs)


def clean(server: LiveServer) -> None:
    """No rules, an empty journal, seeded data."""
    requests.delete(f"{server.url}/__paymock/faults", timeout=30).raise_for_status()
    requests.delete(f"{server.url}/__paymock/requests", timeout=30).raise_for_status()
    requests.post(f"{server.url}/__paymock/reset", timeout=30).raise_for_status()


def add_rule(server: LiveServer, **rule: Any) -> dict[str, Any]:
    """Post one rule; it must be accepted."""
    response = requests.post(f"{server.url}/__paymock/faults", json=rule, timeout=30)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["rules"][0]
    return created


def journal(server: LiveServer, **filters: Any) -> list[dict[str, Any]]:
    """Journal entries, newest first."""
    response = requests.get(f"{server.url}/__paymock/requests", params={"limit": 1000, **filters}, timeout=30)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["requests"]
    return entries
