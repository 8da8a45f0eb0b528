"""Who may talk to the server: loopback Host names only (unless allowed), and an admin API only its owner can use.

A web page the developer visits must not be able to drive the admin API: a cross-site request
to a state-changing admin route is refused by its ``Origin`` (or ``Sec-Fetch-Site``), and the
content types a browser may send cross-site without asking first (``text/plain``, forms) are
refused outright. A foreign ``Host`` (DNS rebinding) is refused on every route, since paymock
echoes the Host into links. Beyond loopback, an admin token is required.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Request, Response, jsonify

#: Content types a browser sends cross-site without a CORS preflight.
SIMPLE_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_HEADER = "X-Paymock-Admin-Token"


def is_loopback_name(host: str) -> bool:
    """Whether a host name (without port) can only mean this machine."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8080`` -> ``[::1]``)."""
    if header.startswith("["):
        return header[: header.find("]") + 1]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@functools.lru_cache(maxsize=256)
def _loopback_host(host: str) -> bool:
    """Whether a ``Host`` header's value names this machine (remembered: every request asks, mostly with one value)."""
    return is_loopback_name(host_name(host.lower()))


def _refuse(status: int, error: str, message: str) -> Response:
    response = jsonify({"error": error, "message": message})
    response.status_code = status
    return response


@dataclass(frozen=True, slots=True)
class Guard:
    """The server's access rules.

    Args:
        allowed_hosts: Host names accepted besides loopback ones (``*`` accepts any).
        token: Admin token every admin route but ``health`` requires, or None.
    """

    allowed_hosts: frozenset[str] = frozenset()
    token: str | None = None

    @classmethod
    def of(cls, hosts: Iterable[str], token: str | None) -> Guard:
        """Normalise host names (lower case, no port)."""
        return cls(frozenset(host_name(h.lower()) for h in hosts), token or None)

    def admits(self, host: str) -> bool:
        """Whether a ``Host`` header's value is loopback or allowed."""
        return "*" in self.allowed_hosts or _loopback_host(host) or host_name(host.lower()) in self.allowed_hosts

    def host(self, request: Request) -> Response | None:
        """Refuse a Host that is neither loopback nor allowed."""
        if self.admits(request.host):
            return None
        name = host_name(request.host.lower())
        return _refuse(
            403,
            "forbidden_host",
            f"Host {request.host!r} is not a loopback name; paymock answers it only when started with"
            f" --allow-host {name} (allowed now: localhost, 127.0.0.1, ::1"
            + "".join(f", {h}" for h in sorted(self.allowed_hosts))
            + ")",
        )

    def admin(self, request: Request, *, health: bool) -> Response | None:
        """Refuse an admin request without the token, or a cross-site one that changes state."""
        if self.token is not None and not health:
            given = request.headers.get(TOKEN_HEADER) or ""
            auth = request.headers.get("Authorization") or ""
            if auth.lower().startswith("bearer "):
                given = given or auth[7:].strip()
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return _refuse(
                    401,
                    "unauthorized",
                    f"The admin API needs its token: send '{TOKEN_HEADER}: <token>' or 'Authorization: Bearer <token>'"
                    " (set by --admin-token or PAYMOCK_ADMIN_TOKEN)",
                )
        if request.method not in STATE_CHANGING:
            return None
        origin = request.headers.get("Origin")
        own = f"{request.scheme}://{request.host}"
        if origin is not None and origin != own:
            message = f"Origin {origin!r} is not this server ({own!r}); the admin API refuses cross-site requests"
            return _refuse(403, "cross_site", message)
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            return _refuse(403, "cross_site", f"Sec-Fetch-Site is {site!r}; the admin API refuses cross-site requests")
        kind = (request.mimetype or "").lower()
        if kind in SIMPLE_TYPES:
            return _refuse(
                415,
                "unsupported_media_type",
                f"Content-Type {kind!r} is refused on admin routes (a browser could send it cross-site);"
                " send application/json, or no body",
            )
        return None
