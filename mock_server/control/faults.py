"""Fault effects, keyed by the name a client would give what it sees (as WireMock names its faults).

``latency`` waits, ``status`` answers 429/500/502/503/504 with the vendor's own error body,
``malformed-json`` sends a body that does not parse, and three effects act on the wire:
``connection-reset`` (no byte, then a TCP reset), ``truncated-body`` (headers promise the whole
body, part of it comes, then the connection closes) and ``slow-body`` (the body drips). Every
effect takes an optional ``delay`` before it answers.

Nothing here knows Flask: wire effects hand the web adapter a :class:`Delivery` that turns the
body into the chunks to send, given the connection's socket when the server exposes it.
"""

from __future__ import annotations

import errno
import functools
import random
import socket
import struct
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mock_server.control.delays import Delay, load_delay
from mock_server.errors import ApiError, SpecError, reject_unknown_keys
from mock_server.registry import Registry

if TYPE_CHECKING:
    from mock_server.handling import Reply

#: Status -> the error kind each vendor document maps to it (see openapi/README.md, `errors`).
STATUS_KINDS = {
    429: "rate_limited",
    500: "internal",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}
MESSAGES = {
    429: "Too many requests: retry after {retry_after} second(s)",
    500: "Internal error",
    502: "Bad gateway: an upstream service did not answer properly",
    503: "Service unavailable: retry later",
    504: "Gateway timeout: an upstream service did not answer in time",
}


@dataclass(slots=True)
class Exchange:
    """What an effect may do with the request it was chosen for.

    Attributes:
        run: Answers the request normally (runs the action).
        error: Renders an :class:`ApiError` in the vendor's format.
        rng: This request's generator (rule seed and match count): delays draw from it.
    """

    run: Callable[[], Reply]
    error: Callable[[ApiError], Reply]
    rng: random.Random


class Delivery(Protocol):
    """How a reply's bytes go on the wire when a fault changes that."""

    def chunks(self, body: bytes, sock: socket.socket | None) -> Iterator[bytes]:
        """The body's chunks, in order; may sleep, or raise :class:`OSError` to drop the connection."""
        ...


class Effect(Protocol):
    """One fault effect, compiled."""

    @property
    def delay(self) -> Delay | None:
        """The wait before the effect answers, if any."""
        ...

    def answer(self, exchange: Exchange) -> Reply:
        """The reply the client gets (after the delay, which the caller waits)."""
        ...

    def describe(self) -> dict[str, Any]:
        """The effect as written."""
        ...


class EffectKind(Protocol):
    """An effect class: compiles its block."""

    def load(self, block: Mapping[str, Any], where: str) -> Effect:
        """Compile ``block`` (at ``where``, for errors)."""
        ...


FAULTS: Registry[EffectKind] = Registry("fault")


def _delay(block: Mapping[str, Any], where: str) -> Delay | None:
    return load_delay(block["delay"], f"{where}.delay") if "delay" in block else None


def _described(name: str, delay: Delay | None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"fault": name, **extra}
    if delay is not None:
        out["delay"] = delay.describe()
    return out


def _number(block: Mapping[str, Any], key: str, where: str, low: float, high: float, default: float) -> float:
    value = block.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise SpecError(f"{where}.{key}", f"must be a number between {low:g} and {high:g}, got {value!r}")
    return float(value)


@FAULTS.register("latency")
@dataclass(frozen=True, slots=True)
class Latency:
    """Wait, then answer normally: ``{fault: latency, delay: {distribution: lognormal, median: 80, sigma: 0.4}}``."""

    delay: Delay | None

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> Latency:
        """A delay is required."""
        reject_unknown_keys(block, {"fault", "delay"}, where)
        if "delay" not in block:
            raise SpecError(f"{where}.delay", "latency needs a delay: milliseconds or {distribution: ...}")
        return cls(_delay(block, where))

    def answer(self, exchange: Exchange) -> Reply:
        """The normal answer."""
        return exchange.run()

    def describe(self) -> dict[str, Any]:
        """As written."""
        return _described("latency", self.delay)


@FAULTS.register("status")
@dataclass(frozen=True, slots=True)
class Status:
    """Answer 429/500/502/503/504 in the vendor's own error format, without running the action.

    ``{fault: status, status: 429, retry-after: 2}``: ``Retry-After`` goes with every 429 (default
    1 second) and with a 503 that gives one.
    """

    status: int
    retry_after: int | None
    delay: Delay | None

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> Status:
        """Read ``status`` and ``retry-after``."""
        reject_unknown_keys(block, {"fault", "status", "retry-after", "delay"}, where)
        status = block.get("status")
        if status not in STATUS_KINDS or isinstance(status, bool):
            raise SpecError(f"{where}.status", f"must be one of {', '.join(map(str, STATUS_KINDS))}, got {status!r}")
        retry = block.get("retry-after", 1 if status == 429 else None)
        if retry is not None and (isinstance(retry, bool) or not isinstance(retry, int) or not 0 <= retry <= 3600):
            raise SpecError(f"{where}.retry-after", f"must be whole seconds between 0 and 3600, got {retry!r}")
        if retry is not None and status not in (429, 503):
            raise SpecError(f"{where}.retry-after", f"goes only with 429 and 503, not {status}")
        return cls(int(status), retry, _delay(block, where))

    def answer(self, exchange: Exchange) -> Reply:
        """The vendor's error body for the status."""
        error = ApiError.of(
            STATUS_KINDS[self.status], MESSAGES[self.status].format(retry_after=self.retry_after), "fault"
        )
        if self.retry_after is not None:
            error.headers["Retry-After"] = str(self.retry_after)
        return exchange.error(error)

    def describe(self) -> dict[str, Any]:
        """As written."""
        extra = {} if self.retry_after is None else {"retry-after": self.retry_after}
        return _described("status", self.delay, status=self.status, **extra)


@FAULTS.register("malformed-json")
@dataclass(frozen=True, slots=True)
class MalformedJson:
    """The normal answer, its body cut at two thirds: complete on the wire, but not JSON."""

    delay: Delay | None

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> MalformedJson:
        """Only a delay."""
        reject_unknown_keys(block, {"fault", "delay"}, where)
        return cls(_delay(block, where))

    def answer(self, exchange: Exchange) -> Reply:
        """Cut the body where it cannot parse (an unclosed document always fails)."""
        reply = exchange.run()
        reply.body = reply.body[: max(1, len(reply.body) * 2 // 3)]
        return reply

    def describe(self) -> dict[str, Any]:
        """As written."""
        return _described("malformed-json", self.delay)


@dataclass(frozen=True, slots=True)
class _Reset:
    def chunks(self, body: bytes, sock: socket.socket | None) -> Iterator[bytes]:
        # An iterator that raises on its first item: the reset happens when the server starts sending.
        return iter(functools.partial(self._drop, sock), b"")

    @staticmethod
    def _drop(sock: socket.socket | None) -> bytes:
        if sock is not None:
            # Linger 0, then close: the peer gets a TCP RST, "connection reset by peer". Left to
            # the server, the close would be graceful (a FIN first: "closed without response").
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        # ECONNRESET: gunicorn then closes the connection without logging an error.
        raise ConnectionResetError(errno.ECONNRESET, "paymock fault: connection-reset")


@FAULTS.register("connection-reset")
@dataclass(frozen=True, slots=True)
class ConnectionReset:
    """No byte of a response, then a TCP reset. The action does not run."""

    delay: Delay | None

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> ConnectionReset:
        """Only a delay."""
        reject_unknown_keys(block, {"fault", "delay"}, where)
        return cls(_delay(block, where))

    def answer(self, exchange: Exchange) -> Reply:
        """An empty reply whose delivery resets the connection."""
        reply = exchange.error(ApiError.of("internal", "connection reset by paymock fault", "fault"))
        reply.delivery = _Reset()
        return reply

    def describe(self) -> dict[str, Any]:
        """As written."""
        return _described("connection-reset", self.delay)


@dataclass(frozen=True, slots=True)
class _Truncate:
    keep: float

    def chunks(self, body: bytes, sock: socket.socket | None) -> Iterator[bytes]:
        yield body[: int(len(body) * self.keep)]
        # EPIPE: the server closes the connection quietly (a FIN) after the bytes it sent.
        raise BrokenPipeError(errno.EPIPE, "paymock fault: truncated-body")


@FAULTS.register("truncated-body")
@dataclass(frozen=True, slots=True)
class TruncatedBody:
    """Headers promise the whole body; a part (``keep``, default 0.5) comes; the connection closes."""

    keep: float
    delay: Delay | None

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> TruncatedBody:
        """Read ``keep``."""
        reject_unknown_keys(block, {"fault", "keep", "delay"}, where)
        return cls(_number(block, "keep", where, 0, 0.99, 0.5), _delay(block, where))

    def answer(self, exchange: Exchange) -> Reply:
        """The normal answer, cut on the wire."""
        reply = exchange.run()
        reply.delivery = _Truncate(self.keep)
        return reply

    def describe(self) -> dict[str, Any]:
        """As written."""
        return _described("truncated-body", self.delay, keep=self.keep)


@dataclass(frozen=True, slots=True)
class _Drip:
    chunk: int
    interval: float

    def chunks(self, body: bytes, sock: socket.socket | None) -> Iterator[bytes]:
        for start in range(0, len(body), self.chunk):
            if start:
                time.sleep(self.interval)
            yield body[start : start + self.chunk]


@FAULTS.register("slow-body")
@dataclass(frozen=True, slots=True)
class SlowBody:
    """The normal answer, dripped: ``chunk`` bytes (default 256) every ``interval`` ms (default 50)."""

    chunk: int
    interval_ms: float
    delay: Delay | None

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> SlowBody:
        """Read ``chunk`` and ``interval``."""
        reject_unknown_keys(block, {"fault", "chunk", "interval", "delay"}, where)
        chunk = _number(block, "chunk", where, 1, 1 << 20, 256)
        return cls(int(chunk), _number(block, "interval", where, 0, 10_000, 50), _delay(block, where))

    def answer(self, exchange: Exchange) -> Reply:
        """The normal answer, dripped on the wire."""
        reply = exchange.run()
        reply.delivery = _Drip(self.chunk, self.interval_ms / 1000)
        return reply

    def describe(self) -> dict[str, Any]:
        """As written."""
        return _described("slow-body", self.delay, chunk=self.chunk, interval=self.interval_ms)


def load_effect(block: object, where: str) -> Effect:
    """Compile an effect ``{fault: <name>, ...}``.

    Raises:
        SpecError: naming the field and the faults available.
    """
    if isinstance(block, str):
        block = {"fault": block}
    if not isinstance(block, Mapping):
        raise SpecError(where, f"must be {{fault: <name>, ...}} with one of {', '.join(FAULTS.names())}")
    return FAULTS.get(block.get("fault"), f"{where}.fault").load(block, where)
