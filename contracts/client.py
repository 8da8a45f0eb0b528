"""HTTP for the promises: one session per run, every exchange kept for its curl line.

A failure quotes the request that shows it. :func:`curl` renders any request as a command a
person can paste; credentials are masked unless the target is paymock's own sandbox, whose keys
are public anyway.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from contracts.errors import TargetError

#: Headers every client sends; a reproduction does not need them.
_NOISE = {"user-agent", "accept-encoding", "accept", "connection", "content-length", "x-schemathesis-testcaseid"}
MASK = "<redacted>"


def curl(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | str | None = None,
    *,
    redact: Collection[str] = (),
) -> str:
    """A curl command that sends this request.

    Args:
        method: HTTP method.
        url: Absolute URL, query included.
        headers: Request headers; common client headers are left out.
        body: Request body, if any.
        redact: Header names (any case) whose values are replaced by ``<redacted>``.
    """
    masked = {h.lower() for h in redact}
    parts = ["curl", "-sS"]
    if method.upper() != "GET" or body:
        parts += ["-X", method.upper()]
    for name, value in headers.items():
        if name.lower() in _NOISE:
            continue
        shown = MASK if name.lower() in masked else value
        parts += ["-H", f"{name}: {shown}"]
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        parts += ["--data-raw", text]
    parts.append(url)
    return " ".join(shlex.quote(p) for p in parts)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer.

    Attributes:
        method: HTTP method.
        url: Absolute URL as sent.
        request_headers: Headers as sent.
        request_body: Body as sent.
        status: Response status.
        headers: Response headers (lower-case names).
        body: Response body (decompressed).
    """

    method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: bytes | None
    status: int
    headers: Mapping[str, str]
    body: bytes
    redact: frozenset[str] = field(default=frozenset(), repr=False)

    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        """A response header, by name in any case."""
        return self.headers.get(name.lower())

    @property
    def curl(self) -> str:
        """The request as a curl command."""
        return curl(self.method, self.url, self.request_headers, self.request_body, redact=self.redact)

    def describe(self) -> str:
        """``404 {"detail": "..."}``, shortened, for failure messages."""
        text = self.body.decode("utf-8", "replace")
        if len(text) > 300:
            text = text[:300] + "..."
        return f"{self.status} {text}".strip()


class Client:
    """Sends requests below one base URL and remembers how many it sent.

    Args:
        base_url: The API's base URL (``http://127.0.0.1:8080/zuora``).
        timeout: Seconds to wait for an answer.
        redact: Header names whose values curl lines mask.
        session: A requests session to reuse.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        redact: Collection[str] = (),
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.redact = frozenset(h.lower() for h in redact)
        self.session = session or requests.Session()
        self.sent = 0

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """Absolute URL of ``path`` (relative to the base URL, or absolute) with a query."""
        url = path if urlsplit(path).scheme else self.base_url + path
        if params:
            url += ("&" if "?" in url else "?") + urlencode([(k, str(v)) for k, v in params.items()])
        return url

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` points below the base URL's scheme, host and port."""
        a, b = urlsplit(self.base_url), urlsplit(urljoin(self.base_url + "/", url))
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
    ) -> Exchange:
        """Send one request.

        Raises:
            TargetError: No answer at all (connection refused, timeout): the target is unusable.
        """
        url = self.url(path, params)
        try:
            r = self.session.request(
                method,
                url,
                headers=dict(headers or {}),
                json=json_body,
                data=form,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise TargetError(f"no answer from {method} {url}: {exc}") from None
        self.sent += 1
        body = r.request.body
        return Exchange(
            method=method.upper(),
            url=url,
            request_headers=dict(r.request.headers),
            request_body=body.encode() if isinstance(body, str) else body,
            status=r.status_code,
            headers={k.lower(): v for k, v in r.headers.items()},
            body=r.content,
            redact=self.redact,
        )

    def get(self, path: str, **kwargs: Any) -> Exchange:
        """``GET``; see :meth:`request`."""
        return self.request("GET", path, **kwargs)
