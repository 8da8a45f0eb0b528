"""Exceptions of the mock server: one root, load-time errors and request-time errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class MockServerError(Exception):
    """Root of every error raised by :mod:`mock_server`."""


class SpecError(MockServerError):
    """A document or its ``x-paymock`` block is invalid. Raised at load time, never per request.

    Args:
        where: ``file: dotted.path`` of the offending node.
        message: What is wrong and what is allowed.
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def reject_unknown_keys(node: Any, allowed: set[str], where: str) -> None:
    """Refuse an ``x-paymock`` mapping with keys outside ``allowed``, naming the allowed ones."""
    unknown = set(node) - allowed
    if unknown:
        raise SpecError(where, f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}")


class StoreError(MockServerError):
    """The data file cannot be used (wrong schema version, written by another seed, ...)."""


class DataFileError(StoreError):
    """A data file paymock will not use as it is (or not replace); the message says what to do."""


class StoreUnavailableError(StoreError):
    """The store's database cannot be reached (or was lost): a fault of the moment, not of the request."""


#: The kinds of request errors. Every document maps each one to a status and a vendor code.
ERROR_KINDS = (
    "invalid_parameter",
    "missing_parameter",
    "invalid_body",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "unsupported_media_type",
    "internal",
    # Answered only on demand (fault rules, `Prefer: code=...`): the vendor's throttling and outages.
    "rate_limited",
    "bad_gateway",
    "service_unavailable",
    "gateway_timeout",
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request, in the terms FastAPI-style bodies need.

    Attributes:
        message: Human-readable, naming the parameter, the value and what is allowed.
        type: A pydantic-style problem type (``int_parsing``, ``missing``, ...).
        loc: Where the problem is, e.g. ``("query", "limit")``.
    """

    message: str
    type: str = "value_error"
    loc: tuple[str | int, ...] = ()


@dataclass(slots=True)
class ApiError(MockServerError):
    """A request the API refuses; rendered in the vendor's own error format.

    Attributes:
        kind: One of :data:`ERROR_KINDS`.
        problems: At least one :class:`Problem`.
        headers: Extra response headers (``WWW-Authenticate``, ``Allow``).
    """

    kind: str
    problems: list[Problem]
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind}: " + "; ".join(p.message for p in self.problems)

    @classmethod
    def of(cls, kind: str, message: str, type_: str | None = None, loc: tuple[Any, ...] = ()) -> ApiError:
        """Build an error with a single problem."""
        return cls(kind, [Problem(message, type_ or kind, loc)])


def wire_text(value: str) -> str:
    """A header value as the client wrote it, for messages and checks.

    WSGI hands header bytes over decoded as latin-1, so UTF-8 text (what clients send) arrives
    garbled (``cafÃ©``); re-decode it where the bytes are valid UTF-8, and keep anything else as is.
    """
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value
