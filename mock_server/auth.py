"""Authentication schemes, keyed by ``x-paymock.auth.scheme``.

A scheme is parsed when the document loads and bound to a seed when the app is created: binding
derives every tenant's credentials, so the same seed always issues the same sandbox keys.
OAuth tokens are signed rather than stored, so any worker process accepts a token that another
issued, and a token stays valid across a restart on the same data file.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

from mock_server.errors import ApiError, SpecError, reject_unknown_keys
from mock_server.registry import Registry
from mock_server.world import Facts, stable_hex

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
ACCESS, REFRESH = 1, 2


def credential_facts(seed: int, api: str, tenant: Facts) -> dict[str, Any]:
    """Template variables for credentials: the tenant's facts plus derived secrets."""
    digest = hashlib.sha512(f"{seed}:{api}:credentials:{tenant['seq']}".encode()).digest()
    secret = "".join(_ALNUM[b % len(_ALNUM)] for b in digest)[:64]
    client = stable_hex(seed, api, "client", tenant["seq"])
    facts = {
        **tenant,
        "secret": secret,
        "secret_hex": stable_hex(seed, api, "secret-hex", tenant["seq"]),
        "client_uuid": f"{client[:8]}-{client[8:12]}-4{client[13:16]}-8{client[17:20]}-{client[20:32]}",
        "client_hex": client,
    }
    # Templates may say "{secret}" or "{tenant.slug}": offer both spellings.
    return {**facts, "tenant": SimpleNamespace(**facts)}


def _render(template: str, facts: Mapping[str, Any], where: str) -> str:
    try:
        return template.format_map(facts)
    except (KeyError, ValueError, IndexError, AttributeError) as exc:
        raise SpecError(where, f"cannot render {template!r}: {exc}; variables: {', '.join(sorted(facts))}") from None


def _unauthorized(message: str, challenge: str) -> ApiError:
    error = ApiError.of("unauthorized", message, "unauthorized", ("header", "Authorization"))
    error.headers["WWW-Authenticate"] = challenge
    return error


class Headers(Protocol):
    """Case-insensitive request headers (Werkzeug's, or any mapping with ``get``)."""

    def get(self, key: str, /) -> str | None:
        """The header's value, or None."""

    def items(self) -> Iterable[tuple[str, str]]:
        """Every header (the journal records them)."""


class Authenticator(Protocol):
    """A scheme bound to one seed and its tenants."""

    def authenticate(self, headers: Headers) -> int:
        """Return the tenant (1-based) the request's credentials belong to, or raise ``unauthorized``."""

    def credentials(self, tenant: int) -> dict[str, Any]:
        """The sandbox credentials of a tenant, as ``/__paymock/credentials`` shows them."""


class AuthScheme(Protocol):
    """A parsed ``auth`` block."""

    def bind(self, seed: int, api: str, tenants: Sequence[Facts]) -> Authenticator:
        """Derive every tenant's credentials for this seed."""


AuthFactory = Callable[[Mapping[str, Any], str], AuthScheme]
AUTH_SCHEMES: Registry[AuthFactory] = Registry("auth scheme")


@dataclass(frozen=True, slots=True)
class ApiKeyScheme:
    """A static key per tenant in a header, optionally behind a prefix such as ``Bearer ``."""

    header: str
    prefix: str
    key: str
    pattern: re.Pattern[str] | None
    where: str

    def bind(self, seed: int, api: str, tenants: Sequence[Facts]) -> Authenticator:
        """Derive each tenant's key."""
        keys = [_render(self.key, credential_facts(seed, api, t), f"{self.where}.key") for t in tenants]
        for k in keys:
            if self.pattern is not None and not self.pattern.match(k):
                raise SpecError(
                    f"{self.where}.key",
                    f"renders {k!r}, which does not match format {self.pattern.pattern!r}",
                )
        return ApiKeyAuthenticator(self, {k: i for i, k in enumerate(keys, start=1)}, keys)


@dataclass(frozen=True, slots=True)
class ApiKeyAuthenticator:
    """Checks a static key."""

    scheme: ApiKeyScheme
    tenants_by_key: Mapping[str, int]
    keys: Sequence[str]

    def authenticate(self, headers: Headers) -> int:
        """Tenant of the key in the configured header."""
        s = self.scheme
        value = headers.get(s.header) or ""
        prefixed = not s.prefix or value.lower().startswith(s.prefix.lower())
        key = value[len(s.prefix) :].strip()
        tenant = self.tenants_by_key.get(key) if value and prefixed else None
        if tenant is not None:
            # A known key passes every check below (each matches the scheme's pattern, checked at
            # load): the messages are written only for a refusal.
            return tenant
        hint = f"send '{s.header}: {s.prefix}<api key>'"
        challenge = 'Bearer realm="paymock"' if s.prefix.strip().lower() == "bearer" else f'ApiKey header="{s.header}"'
        if not value:
            raise _unauthorized(f"Missing API key: {hint}", challenge)
        if not prefixed:
            raise _unauthorized(
                f"Malformed {s.header} header: expected the {s.prefix.strip()!r} scheme; {hint}",
                challenge,
            )
        if s.pattern is not None and not s.pattern.match(key):
            raise _unauthorized(f"Malformed API key: it must match {s.pattern.pattern}", challenge)
        raise _unauthorized("Invalid API key: no account has this key", challenge)

    def credentials(self, tenant: int) -> dict[str, Any]:
        """The tenant's key and the header to send it in."""
        s = self.scheme
        return {
            "header": s.header,
            "value": f"{s.prefix}{self.keys[tenant - 1]}",
            "api_key": self.keys[tenant - 1],
        }


@AUTH_SCHEMES.register("api-key")
def _api_key(block: Mapping[str, Any], where: str) -> AuthScheme:
    reject_unknown_keys(block, {"scheme", "header", "prefix", "key", "format"}, where)
    fmt = block.get("format")
    try:
        pattern = re.compile(fmt) if fmt else None
    except re.error as exc:
        raise SpecError(f"{where}.format", f"not a valid regular expression: {exc}") from None
    if not isinstance(block.get("key"), str):
        raise SpecError(f"{where}.key", "must be a template string, e.g. 'test_{secret}'")
    return ApiKeyScheme(
        str(block.get("header", "Authorization")),
        str(block.get("prefix", "")),
        block["key"],
        pattern,
        where,
    )


@dataclass(frozen=True, slots=True)
class OAuth2Scheme:
    """Client credentials exchanged at a token endpoint for signed bearer tokens."""

    client_id: str
    client_secret: str
    expires_in: int
    refresh: bool
    where: str

    def bind(self, seed: int, api: str, tenants: Sequence[Facts]) -> Authenticator:
        """Derive each tenant's client id and secret, and the token signing key."""
        pairs = []
        for t in tenants:
            facts = credential_facts(seed, api, t)
            pairs.append(
                (
                    _render(self.client_id, facts, f"{self.where}.client-id"),
                    _render(self.client_secret, facts, f"{self.where}.client-secret"),
                )
            )
        key = hashlib.sha256(f"paymock:{seed}:{api}:token-key".encode()).digest()
        return OAuth2Authenticator(self, pairs, {cid: i for i, (cid, _) in enumerate(pairs, start=1)}, key)


@dataclass(frozen=True, slots=True)
class OAuth2Authenticator:
    """Issues and verifies signed tokens: ``hex(version, tenant, expiry, kind, nonce) + hex(mac)``."""

    scheme: OAuth2Scheme
    pairs: Sequence[tuple[str, str]]
    tenants_by_client: Mapping[str, int]
    key: bytes

    def authenticate(self, headers: Headers) -> int:
        """Tenant of a valid, unexpired bearer access token."""
        challenge = 'Bearer realm="paymock"'
        value = headers.get("Authorization")
        if not value:
            raise _unauthorized(
                "Missing credentials: send 'Authorization: Bearer <access token>' (get one from the token endpoint)",
                challenge,
            )
        if not value.lower().startswith("bearer "):
            raise _unauthorized("Malformed Authorization header: expected 'Bearer <access token>'", challenge)
        tenant = self.verify(value[7:].strip(), ACCESS)
        if tenant is None:
            raise _unauthorized(
                "Invalid or expired access token: request a new one from the token endpoint",
                challenge,
            )
        return tenant

    def client(self, client_id: str, client_secret: str) -> int | None:
        """Tenant of a client id and secret pair, or None."""
        tenant = self.tenants_by_client.get(client_id)
        if tenant is None or not hmac.compare_digest(self.pairs[tenant - 1][1], client_secret):
            return None
        return tenant

    def issue(self, tenant: int, kind: int = ACCESS, now: float | None = None) -> tuple[str, int]:
        """A new signed token and its lifetime in seconds."""
        lifetime = self.scheme.expires_in if kind == ACCESS else 30 * 86_400
        payload = struct.pack(">BHIB", 1, tenant, int(now or time.time()) + lifetime, kind) + secrets.token_bytes(3)
        mac = hmac.new(self.key, payload, hashlib.sha256).digest()[:16]
        return (payload + mac).hex(), lifetime

    def verify(self, token: str, kind: int, now: float | None = None) -> int | None:
        """Tenant of a valid token of ``kind``, or None."""
        try:
            raw = bytes.fromhex(token)
        except ValueError:
            return None
        if len(raw) != 27:
            return None
        payload, mac = raw[:11], raw[11:]
        if not hmac.compare_digest(hmac.new(self.key, payload, hashlib.sha256).digest()[:16], mac):
            return None
        version, tenant, expiry, token_kind = struct.unpack(">BHIB", payload[:8])
        if version != 1 or token_kind != kind or expiry < (now or time.time()) or not 1 <= tenant <= len(self.pairs):
            return None
        return int(tenant)

    def credentials(self, tenant: int) -> dict[str, Any]:
        """The tenant's client id and secret."""
        cid, secret = self.pairs[tenant - 1]
        return {"client_id": cid, "client_secret": secret}


@AUTH_SCHEMES.register("oauth2")
def _oauth2(block: Mapping[str, Any], where: str) -> AuthScheme:
    reject_unknown_keys(block, {"scheme", "client-id", "client-secret", "expires-in", "refresh"}, where)
    for key in ("client-id", "client-secret"):
        if not isinstance(block.get(key), str):
            raise SpecError(f"{where}.{key}", "must be a template string, e.g. '{client_uuid}'")
    return OAuth2Scheme(
        block["client-id"],
        block["client-secret"],
        int(block.get("expires-in", 3600)),
        bool(block.get("refresh", False)),
        where,
    )
