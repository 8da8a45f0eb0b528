"""Journal entries: what a request to a vendor API was and how it was answered, credentials masked.

An entry holds the time, API, tenant, operation, method, path, query, request headers and body
(bounded), status, response headers and size, duration, the fault applied and its rule, and the
worker that answered. Anything that looks like a credential is masked before it is stored: the
API's own credential header, ``Authorization``, cookies, and header, query or form/JSON fields
whose names say key, secret, token, password or session.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from mock_server.process import pid

#: Request bodies are kept up to this many bytes (the rest is dropped, and the entry says so).
BODY_LIMIT = 4096
ALWAYS_SECRET = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_NAME = re.compile(r"(key|secret|token|password|passwd|session|signature|credential)", re.IGNORECASE)
_SCHEME = re.compile(r"^(Bearer|Basic|Token|ApiKey|Digest)\s+", re.IGNORECASE)
log = logging.getLogger("paymock")


@functools.lru_cache(maxsize=4096)
def secret_name(name: str, extra: frozenset[str] = frozenset()) -> bool:
    """Whether a header, query or body field of this name carries a credential (names repeat: cached)."""
    lowered = name.lower()
    return lowered in ALWAYS_SECRET or lowered in extra or _SECRET_NAME.search(lowered) is not None


def mask(value: str) -> str:
    """Hide a credential, keeping its scheme word and last four characters (enough to tell keys apart)."""
    scheme = _SCHEME.match(value)
    prefix = scheme.group(0) if scheme else ""
    secret = value[len(prefix) :]
    tail = secret[-4:] if len(secret) >= 16 else ""
    return f"{prefix}****{tail}"


def masked_pairs(pairs: Iterable[tuple[str, str]], extra: frozenset[str] = frozenset()) -> list[list[str]]:
    """Name/value pairs with credential values masked."""
    return [[k, mask(v) if secret_name(k, extra) else v] for k, v in pairs]


def masked_body(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    """The body as text, bounded, with credential fields of a form or JSON object masked."""
    if not body:
        return None, False
    kind = (content_type or "").split(";")[0].strip().lower()
    cut = len(body) > BODY_LIMIT
    if kind == "application/x-www-form-urlencoded" and not cut:
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        return urlencode([(k, mask(v) if secret_name(k) else v) for k, v in pairs]), False
    if kind.endswith("json") and not cut:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            shown = {k: mask(str(v)) if secret_name(k) and isinstance(v, str) else v for k, v in data.items()}
            return orjson.dumps(shown).decode(), False
    return body[:BODY_LIMIT].decode("utf-8", "replace"), cut


def entry(
    *,
    api: str,
    tenant: str | None,
    operation: str | None,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Iterable[tuple[str, str]],
    body: bytes,
    content_type: str | None,
    status: int,
    response_headers: Mapping[str, str],
    response_size: int,
    at: float,
    duration_ms: float,
    fault: str | None,
    rule: str | None,
    secret_headers: frozenset[str],
) -> dict[str, Any]:
    """One journal entry (a JSON-ready dict).

    Args:
        api: API name.
        tenant: Tenant slug, when the request authenticated.
        operation: operationId, None for a path the API does not have.
        method: HTTP method.
        path: Path below the API's root.
        query: Query pairs in order.
        headers: Request headers.
        body: Raw request body.
        content_type: Request content type.
        status: Response status.
        response_headers: Response headers (content type included).
        response_size: Response body size in bytes, as sent (compressed if it was).
        at: ``time.time()`` when the request was answered.
        duration_ms: Milliseconds from the request's arrival to its answer.
        fault: Name of the fault applied, if any.
        rule: Id of the rule (or ``Prefer`` header) that applied it.
        secret_headers: Lower-case names of this API's own credential headers.
    """
    text, cut = masked_body(body, content_type)
    return {
        "time": at,
        "api": api,
        "tenant": tenant,
        "operation": operation,
        "method": method,
        "path": path,
        "query": masked_pairs(query),
        "headers": {k: mask(v) if secret_name(k, secret_headers) else v for k, v in headers},
        "body": text,
        "body_truncated": cut,
        "status": status,
        "response_headers": dict(response_headers),
        "response_size": response_size,
        "duration_ms": duration_ms,
        "fault": fault,
        "rule": rule,
        "worker": pid(),
    }


#: A request's entry, still to be made: what the request left is kept as it is, and the entry
#: (masking, copying, encoding) is made by the journal's writer, off the request's path.
Pending = Callable[[], dict[str, Any]]


def made(pending: Iterable[Pending]) -> Iterator[dict[str, Any]]:
    """The entries of pending requests; one that cannot be made is logged and left out, not the rest."""
    for make in pending:
        try:
            yield make()
        except Exception:  # the journal's writer must go on: one bad entry costs only itself
            log.exception("making a request journal entry")
