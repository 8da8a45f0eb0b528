"""Credentials: given on the command line, read from a file, or found on paymock's own mock.

Every request the kit sends carries one tenant's credentials and tenant selectors (a
``Tenant-ID`` header, zutax's ``tenant_id`` path parameter). For an OAuth API the client ID and
secret are first exchanged for a token at the document's ``issue-token`` operation. A second
tenant, when one is known, lets ``tenant_isolation`` try to read the first tenant's data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import requests

from contracts.client import Client
from contracts.declarations import ApiContract, Operation, lookup
from contracts.errors import TargetError, UsageError


def parse_header(text: str) -> tuple[str, str]:
    """Split ``'Name: value'``.

    Raises:
        UsageError: No colon, or an empty name.
    """
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"--header {text!r} is not 'Name: value' (e.g. --header 'Authorization: Bearer test_...')")
    return name.strip(), value.strip()


def parse_param(text: str) -> tuple[str, str]:
    """Split ``'name=value'``.

    Raises:
        UsageError: No ``=``, or an empty name.
    """
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--param {text!r} is not 'name=value' (e.g. --param invoice_id=0b6e...)")
    return name.strip(), value


@dataclass(frozen=True, slots=True)
class TenantCredentials:
    """One tenant's credentials as given or found, before any token is fetched.

    Attributes:
        label: How reports name the tenant (its slug, or ``given``).
        headers: Headers to send with every request (credentials and any extra ones).
        selectors: Tenant selector name -> value (header or path parameter, per the document).
        client_id: OAuth client ID, for APIs with a token endpoint.
        client_secret: OAuth client secret.
        params: Known values of path parameters (``invoice_id``) the kit cannot discover.
    """

    label: str
    headers: Mapping[str, str] = field(default_factory=dict)
    selectors: Mapping[str, str] = field(default_factory=dict)
    client_id: str | None = None
    client_secret: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any], index: int) -> TenantCredentials:
        """Read one tenant entry of ``/__paymock/credentials`` (or a file in that shape)."""
        headers = {}
        if entry.get("header") and entry.get("value") is not None:
            headers[str(entry["header"])] = str(entry["value"])
        headers.update({str(k): str(v) for k, v in (entry.get("headers") or {}).items()})
        return cls(
            label=str(entry.get("tenant") or f"tenant {index}"),
            headers=headers,
            selectors={str(k): str(v) for k, v in (entry.get("selectors") or {}).items()},
            client_id=entry.get("client_id"),
            client_secret=entry.get("client_secret"),
            params={str(k): str(v) for k, v in (entry.get("params") or entry.get("examples") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class MockInfo:
    """paymock's own mock, found behind the URL under test.

    Attributes:
        root: The server root (where ``/__paymock/`` lives).
        tenants: The API's sandbox tenants, as the mock publishes them.
    """

    root: str
    tenants: tuple[TenantCredentials, ...]


def find_mock(url: str, api: str, session: requests.Session, timeout: float = 5.0) -> MockInfo | None:
    """Ask whether ``url`` is served by paymock's mock, and if so for its sandbox credentials.

    The API may sit under ``/<api>`` (``http://host:8080/zuora``) or at the root (``--root``).

    Raises:
        TargetError: Nothing answers at ``url`` at all.
    """
    base = url.rstrip("/")
    roots = [base[: -len(api) - 1]] if base.endswith("/" + api) else []
    roots.append(base)
    answered = False
    for root in roots:
        try:
            r = session.get(f"{root}/__paymock/credentials", timeout=timeout)
        except requests.RequestException:
            continue
        answered = True
        try:
            data = r.json() if r.status_code == 200 else None
        except ValueError:
            continue
        if isinstance(data, Mapping) and isinstance(data.get(api), Mapping):
            entries = data[api].get("tenants") or []
            return MockInfo(root, tuple(TenantCredentials.from_entry(e, i) for i, e in enumerate(entries, 1)))
    if not answered:
        raise TargetError(f"nothing answers at {url}: check --url (is the server running?)")
    return None


def read_credentials_file(path: str | Path, api: str) -> tuple[TenantCredentials, ...]:
    """Tenants from a JSON file shaped like ``/__paymock/credentials`` (whole, one API, or a list).

    Raises:
        UsageError: The file is missing, not JSON, or holds no tenants for ``api``.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--credentials {str(path)!r} cannot be read as JSON: {exc}") from None
    if isinstance(data, Mapping) and isinstance(data.get(api), Mapping):
        data = data[api]
    if isinstance(data, Mapping):
        data = data.get("tenants")
    if not isinstance(data, list) or not all(isinstance(e, Mapping) for e in data) or not data:
        raise UsageError(
            f"--credentials {str(path)!r} holds no tenants for {api!r}: expected a list of tenant objects, "
            f'{{"tenants": [...]}} or {{"{api}": {{"tenants": [...]}}}}'
        )
    return tuple(TenantCredentials.from_entry(e, i) for i, e in enumerate(data, 1))


def choose(
    tenants: Sequence[TenantCredentials], tenant: str | None
) -> tuple[TenantCredentials | None, TenantCredentials | None]:
    """The primary tenant (``--tenant``: a label or a 1-based number) and another one.

    Raises:
        UsageError: ``--tenant`` names no known tenant; the message lists them.
    """
    if not tenants:
        if tenant is not None:
            raise UsageError(
                f"--tenant {tenant!r}: no tenants are known; give --credentials FILE or point --url at paymock's mock"
            )
        return None, None
    index = 0
    if tenant is not None:
        labels = [t.label for t in tenants]
        if tenant in labels:
            index = labels.index(tenant)
        elif tenant.isdigit() and 1 <= int(tenant) <= len(tenants):
            index = int(tenant) - 1
        else:
            raise UsageError(
                f"--tenant {tenant!r} is not a known tenant; known: {', '.join(labels)} (or 1..{len(tenants)})"
            )
    primary = tenants[index]
    other = next((t for i, t in enumerate(tenants) if i != index), None)
    return primary, other


def override(
    base: TenantCredentials | None,
    contract: ApiContract,
    headers: Sequence[tuple[str, str]],
    client_id: str | None,
    client_secret: str | None,
    params: Sequence[tuple[str, str]],
) -> TenantCredentials | None:
    """Apply ``--header``, ``--client-id``/``--client-secret`` and ``--param`` to the primary tenant.

    A header or parameter named like one of the document's tenant selectors (``Tenant-ID``,
    ``tenant_id``) sets that selector.
    """
    if base is None and not (headers or client_id or client_secret or params):
        return None
    creds = base or TenantCredentials("given")
    selector_names = {s.name.lower(): s.name for s in contract.selectors}
    new_headers, new_selectors = dict(creds.headers), dict(creds.selectors)
    for name, value in headers:
        if name.lower() in selector_names:
            new_selectors[selector_names[name.lower()]] = value
        else:
            new_headers = {k: v for k, v in new_headers.items() if k.lower() != name.lower()}
            new_headers[name] = value
    new_params = dict(creds.params)
    for name, value in params:
        if name.lower() in selector_names:
            new_selectors[selector_names[name.lower()]] = value  # zutax's tenant_id: a path selector
        else:
            new_params[name] = value
    given_auth = any(n.lower() in {h.lower() for h in contract.auth_headers} for n, _ in headers)
    return replace(
        creds,
        headers=new_headers,
        selectors=new_selectors,
        # Credentials given as a header win over a client that came with discovered ones.
        client_id=client_id or (None if given_auth else creds.client_id),
        client_secret=client_secret or (None if given_auth else creds.client_secret),
        params=new_params,
    )


@dataclass(frozen=True, slots=True)
class Access:
    """What to send to act as one tenant.

    Attributes:
        label: The tenant's label.
        headers: Credential headers and extra headers.
        header_selectors: Tenant selector headers.
        path_selectors: Tenant selector path parameters.
        params: Known path parameter values.
        token_request: The body that obtained the tenant's token (a valid request to the token
            operation), when the credentials are an OAuth client.
    """

    label: str
    headers: Mapping[str, str]
    header_selectors: Mapping[str, str]
    path_selectors: Mapping[str, str]
    params: Mapping[str, str]
    token_request: Mapping[str, Any] | None = None

    def headers_for(self, op: Operation) -> dict[str, str]:
        """Headers for a request to ``op``: credentials and selectors only where it is secured."""
        if not op.secured:
            return {}
        return {**self.headers, **self.header_selectors}

    def path_for(self, op: Operation) -> dict[str, str]:
        """Tenant path parameters of ``op`` (zutax's ``tenant_id`` and ``workspace_id``)."""
        names = set(op.path_parameters())
        return {k: v for k, v in self.path_selectors.items() if k in names}


def authenticate(contract: ApiContract, client: Client, creds: TenantCredentials) -> Access:
    """Fetch a token when the credentials are an OAuth client, and sort selectors by location.

    Raises:
        TargetError: The token endpoint refused the client, or the API has none.
    """
    headers = dict(creds.headers)
    token_request = None
    if creds.client_id is not None or creds.client_secret is not None:
        if not (creds.client_id and creds.client_secret):
            raise UsageError("--client-id and --client-secret go together; give both")
        headers["Authorization"] = f"Bearer {fetch_token(contract, client, creds.client_id, creds.client_secret)}"
        token_request = token_body(contract, creds.client_id, creds.client_secret)
    locations = {s.name: s.location for s in contract.selectors}
    return Access(
        label=creds.label,
        headers=headers,
        header_selectors={k: v for k, v in creds.selectors.items() if locations.get(k, "header") == "header"},
        path_selectors={k: v for k, v in creds.selectors.items() if locations.get(k) == "path"},
        params=dict(creds.params),
        token_request=token_request,
    )


def token_body(contract: ApiContract, client_id: str, client_secret: str) -> dict[str, Any]:
    """The request body that exchanges client credentials for a token (empty without a token operation)."""
    token = contract.token
    if token is None:
        return {}
    fields = token.fields
    return {
        **token.extra,
        fields["client_id"]: client_id,
        fields["client_secret"]: client_secret,
        fields["grant_type"]: "client_credentials",
    }


def fetch_token(contract: ApiContract, client: Client, client_id: str, client_secret: str) -> str:
    """Exchange client credentials for an access token at the document's token operation.

    Raises:
        TargetError: No token operation, or the answer carries no token.
    """
    token = contract.token
    if token is None:
        raise UsageError(
            f"{contract.name} has no token operation (x-paymock action issue-token); pass credentials with --header"
        )
    body = token_body(contract, client_id, client_secret)
    if token.media_type == "application/x-www-form-urlencoded":
        answer = client.request("POST", token.op.path, form={k: str(v) for k, v in body.items()})
    else:
        answer = client.request("POST", token.op.path, json_body=body)
    value = lookup(answer.json(), token.token_path)
    if answer.status != 200 or not isinstance(value, str) or not value:
        raise TargetError(
            f"the token operation {token.op.label} did not issue a token for client {client_id!r}: "
            f"{answer.describe()}; check --client-id/--client-secret"
        )
    return value
