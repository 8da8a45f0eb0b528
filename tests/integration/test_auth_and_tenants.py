"""Credentials as each vendor does them, and tenants kept apart."""

from __future__ import annotations

import pytest
from documented import assert_documented
from live import LiveServer
from vendors import LISTS, Answer, Session, walk

from mock_server.spec import ApiSpec

APIS = ("flexportal", "exsited", "notify", "zuora", "zutax")
ZUTAX = "/api/v1/tenants/{tenant_id}/workspaces/{workspace_id}/invoices/{invoice_id}/payments"


@pytest.fixture(scope="module")
def ones(server: LiveServer) -> dict[str, Session]:
    return {api: Session(server.url, api, tenant=0) for api in APIS}


@pytest.fixture(scope="module")
def twos(server: LiveServer) -> dict[str, Session]:
    return {api: Session(server.url, api, tenant=1) for api in APIS}


def _list_path(api: str, s: Session) -> tuple[str, str]:
    """(request path, documented path) of the API's main list."""
    if api == "zutax":
        samples = s.transport.request("GET", "/__paymock/samples").json()
        invoice = samples["zutax"]["tenants"][0]["invoice_payments"]["invoice"][0]
        return s.zutax_path(invoice), ZUTAX
    return LISTS[api][0], LISTS[api][0]


def _without_auth(api: str, s: Session) -> dict[str, str]:
    return {k: v for k, v in s.headers.items() if k not in ("Authorization", "X-API-Key")}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    "credential",
    ["missing", "wrong scheme", "malformed", "unknown"],
)
def test_bad_credentials_get_the_vendor_401(
    api: str, credential: str, ones: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    s = ones[api]
    path, documented = _list_path(api, s)
    headers = _without_auth(api, s)
    header = "X-API-Key" if api == "zutax" else "Authorization"
    good = s.headers[header]
    if credential == "wrong scheme" and api != "zutax":
        headers[header] = "Basic " + good.split(" ", 1)[1]
    elif credential == "malformed":
        headers[header] = ("Bearer " if api != "zutax" else "") + "short"
    elif credential == "unknown":
        # Well-formed, but not a key or token the sandbox issued.
        value = good.split(" ", 1)[1] if api != "zutax" else good
        # Case-insensitively different: an OAuth token is hex, where 'a' and 'A' are the same digit.
        flipped = value[:-1] + ("0" if value[-1].lower() != "0" else "1")
        headers[header] = ("Bearer " if api != "zutax" else "") + flipped
    elif credential == "wrong scheme":
        headers[header] = "Bearer " + good
    answer = s.raw("GET", path, headers=headers)
    assert answer.status == 401, (credential, answer.body)
    assert_documented(specs[api], documented, "get", answer)


@pytest.mark.parametrize("api", ["exsited", "zuora"])
def test_token_endpoint_refuses_wrong_client_secret(api: str, ones: dict[str, Session]) -> None:
    s = ones[api]
    cred = s.cred
    if api == "zuora":
        answer = s.raw(
            "POST",
            "/oauth/token",
            data={
                "client_id": cred["client_id"],
                "client_secret": "nope",
                "grant_type": "client_credentials",
            },
        )
    else:
        answer = s.raw(
            "POST",
            "/api/v1/oauth2/token",
            json={
                "grant_type": "client_credentials",
                "client_id": cred["client_id"],
                "client_secret": "nope",
                "redirect_uri": "https://x.example",
            },
        )
    assert answer.status == 401


def test_exsited_refresh_token_grant(ones: dict[str, Session]) -> None:
    s = ones["exsited"]
    cred = s.cred
    first = s.raw(
        "POST",
        "/api/v1/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": cred["client_id"],
            "client_secret": cred["client_secret"],
            "redirect_uri": "https://x.example",
        },
    ).json()
    again = s.raw(
        "POST",
        "/api/v1/oauth2/token",
        json={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": cred["client_id"],
            "client_secret": cred["client_secret"],
            "redirect_uri": "https://x.example",
        },
    )
    assert again.status == 200
    token = again.json()["access_token"]
    assert s.raw("GET", "/api/v3/payments", headers={"Authorization": f"Bearer {token}"}).status == 200
    # A refresh token is not an access token.
    assert s.raw("GET", "/api/v3/payments", headers={"Authorization": f"Bearer {first['refresh_token']}"}).status == 401


def test_tokens_are_accepted_by_every_worker(ones: dict[str, Session], server: LiveServer) -> None:
    # Given two workers behind one port, a token issued by one must work on the other: many fresh connections.
    token = ones["zuora"].token()
    for _ in range(20):
        fresh = Session(server.url, "zuora")
        assert fresh.raw("GET", "/v1/payments", headers={"Authorization": f"Bearer {token}"}).status == 200


@pytest.mark.parametrize("api", ["flexportal", "exsited", "notify", "zuora"])
def test_tenants_never_see_each_other(api: str, ones: dict[str, Session], twos: dict[str, Session]) -> None:
    mine = {i.get("id", i.get("paymentId")) for i in walk(ones[api], api, {}, 40)}
    theirs = {i.get("id", i.get("paymentId")) for i in walk(twos[api], api, {}, 40)}
    assert mine and theirs and not (mine & theirs)


def test_other_tenants_payment_is_not_found(ones: dict[str, Session], twos: dict[str, Session]) -> None:
    theirs = twos["flexportal"].get("/v1/payments", params={"limit": 1}).json()["payments"][0]["paymentId"]
    assert ones["flexportal"].get(f"/v1/payments/{theirs}").status == 404
    assert ones["flexportal"].post(f"/v1/payments/{theirs}/cancel").status == 404
    theirs_ex = twos["exsited"].get("/api/v3/payments", params={"limit": 1}).json()["payments"][0]["id"]
    assert ones["exsited"].get(f"/api/v3/payments/{theirs_ex}").status == 404
    # A cursor from another tenant's list is not a cursor of mine.
    assert ones["flexportal"].get("/v1/payments", params={"startAfter": theirs}).status == 400


def test_flexportal_tenant_header_must_match_the_key(
    ones: dict[str, Session], twos: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    answer = ones["flexportal"].get("/v1/payments", headers={"Tenant-ID": twos["flexportal"].headers["Tenant-ID"]})
    assert answer.status == 403
    assert_documented(specs["flexportal"], "/v1/payments", "get", answer)


def test_zutax_workspace_of_another_tenant(
    ones: dict[str, Session], twos: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    samples = ones["zutax"].transport.request("GET", "/__paymock/samples").json()["zutax"]["tenants"]
    their_invoice = samples[1]["invoice_payments"]["invoice"][0]
    # My key, their tenant and workspace in the path: refused.
    answer = ones["zutax"].get(twos["zutax"].zutax_path(their_invoice))
    assert answer.status == 403
    assert_documented(specs["zutax"], ZUTAX, "get", answer)
    # My key and path, their invoice: it does not exist for me.
    assert ones["zutax"].get(ones["zutax"].zutax_path(their_invoice)).status == 404
    # Header selectors must agree with the path too.
    mismatch = ones["zutax"].get(
        ones["zutax"].zutax_path(their_invoice),
        headers={"X-Tenant-ID": twos["zutax"].cred["selectors"]["X-Tenant-ID"]},
    )
    assert mismatch.status == 403


def test_zuora_entity_header_must_match_the_token(ones: dict[str, Session], twos: dict[str, Session]) -> None:
    other = twos["zuora"].cred["selectors"]["Zuora-Entity-Ids"]
    assert ones["zuora"].get("/v1/payments", headers={"Zuora-Entity-Ids": other}).status == 403
    assert ones["zuora"].get("/v1/payments").status == 200  # the header is optional


def _token_endpoints(specs: dict[str, ApiSpec]) -> list[tuple[str, str, str, str]]:
    """(api, path, request media type, grant) for every grant of every token endpoint."""
    out = []
    for api, spec in sorted(specs.items()):
        for op in spec.operations:
            grants = getattr(op.action, "grant_types", ())
            if grants:
                media = next(iter(spec.document["paths"][op.path]["post"]["requestBody"]["content"]))
                out += [(api, op.path, media, grant) for grant in grants]
    return out


TOKEN_ENDPOINTS = [
    ("exsited", "/api/v1/oauth2/token", "application/json", "client_credentials"),
    ("exsited", "/api/v1/oauth2/token", "application/json", "refresh_token"),
    ("zuora", "/oauth/token", "application/x-www-form-urlencoded", "client_credentials"),
]


def test_the_token_cases_cover_every_grant_of_every_token_endpoint(specs: dict[str, ApiSpec]) -> None:
    assert _token_endpoints(specs) == TOKEN_ENDPOINTS


def _token(s: Session, path: str, media: str, fields: dict[str, str]) -> Answer:
    if media == "application/json":
        return s.raw("POST", path, json={**fields, "redirect_uri": "https://x.example"})
    return s.raw("POST", path, data=fields)


# Who asks: (client_id, client_secret) from the first tenant (own), the second (other), or made up
# in the shape the API's credentials have (so that only authentication can refuse them).
CLIENTS = {
    "wrong secret": ("own", "nope"),
    "made-up client": ("made-up", "made-up"),
    "own id, other tenant's secret": ("own", "other"),
    "other tenant's id, own secret": ("other", "own"),
    "no client at all": (None, None),
}


def _made_up(like: str) -> str:
    """A value of the same length and alphabet as ``like`` that no tenant has."""
    return "".join("-" if c == "-" else "0" if c.isdigit() else "a" for c in like)


@pytest.mark.parametrize(("api", "path", "media", "grant"), TOKEN_ENDPOINTS)
@pytest.mark.parametrize("who", list(CLIENTS))
def test_every_grant_authenticates_the_client(
    api: str,
    path: str,
    media: str,
    grant: str,
    who: str,
    ones: dict[str, Session],
    twos: dict[str, Session],
    specs: dict[str, ApiSpec],
) -> None:
    own, other = ones[api].cred, twos[api].cred
    pick = {"own": own, "other": other}
    fields = {"grant_type": grant}
    for field, source in zip(("client_id", "client_secret"), CLIENTS[who], strict=True):
        if source in pick:
            fields[field] = pick[source][field]
        elif source == "made-up":
            fields[field] = _made_up(own[field])
        elif source is not None:
            fields[field] = source
    if grant == "refresh_token":
        # A genuine refresh token of the first tenant: only the client is wrong.
        first = _token(ones[api], path, media, {"grant_type": "client_credentials", **_pair(own)}).json()
        fields["refresh_token"] = first["refresh_token"]
    answer = _token(ones[api], path, media, fields)
    # Without client fields the body itself is refused (both documents require them); otherwise 401.
    assert answer.status == (400 if who == "no client at all" else 401), answer.body
    assert "access_token" not in answer.json()
    assert_documented(specs[api], path, "post", answer)


def _pair(cred: dict[str, str]) -> dict[str, str]:
    return {"client_id": cred["client_id"], "client_secret": cred["client_secret"]}


@pytest.mark.parametrize(
    "token",
    ["other tenant's", "made-up", "an access token", "none"],
)
def test_the_refresh_grant_takes_only_the_clients_own_refresh_token(
    token: str, ones: dict[str, Session], twos: dict[str, Session], specs: dict[str, ApiSpec]
) -> None:
    path, media = "/api/v1/oauth2/token", "application/json"
    s, own, other = ones["exsited"], ones["exsited"].cred, twos["exsited"].cred
    mine = _token(s, path, media, {"grant_type": "client_credentials", **_pair(own)}).json()
    theirs = _token(s, path, media, {"grant_type": "client_credentials", **_pair(other)}).json()
    refresh = {
        "other tenant's": theirs["refresh_token"],
        "made-up": "ab" * 27,
        "an access token": mine["access_token"],
        "none": "",
    }[token]
    answer = _token(s, path, media, {"grant_type": "refresh_token", "refresh_token": refresh, **_pair(own)})
    # OAuth 2's invalid_grant, which the official client answers with new client credentials.
    assert answer.status == 400, answer.body
    message = assert_documented(specs["exsited"], path, "post", answer)["errors"][0]["message"]
    assert "refresh token" in message
    # The genuine case still works, and the token it gives reads the client's own tenant.
    good = _token(s, path, media, {"grant_type": "refresh_token", "refresh_token": mine["refresh_token"], **_pair(own)})
    assert good.status == 200
    listed = s.raw("GET", "/api/v3/payments", headers={"Authorization": f"Bearer {good.json()['access_token']}"})
    assert listed.json()["payments"] == s.get("/api/v3/payments").json()["payments"]
