"""The control plane of a server: which fault a request gets, and the journal of what was answered.

:class:`ControlPlane` is what :meth:`mock_server.handling.ApiRuntime.handle` consults once per
request. It keeps the compiled rules of the shared state and reads only their generation per
request (one indexed row), compiling again when another worker changed them. A request that
changes nothing is answered first and its fault chosen after (:meth:`ControlPlane.observing`), so
a state may read that generation with the answer's own statement.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from mock_server.control.delays import Fixed
from mock_server.control.faults import FAULTS, STATUS_KINDS, Effect, Exchange, Status
from mock_server.control.journal import BODY_LIMIT, entry
from mock_server.control.rules import ApiCatalog, Catalog, Rule, RuleError, compile_rule, compile_rules
from mock_server.control.schedules import draw
from mock_server.control.state import ControlState, DuplicateRuleError, JournalQuery, StoredRule
from mock_server.control.verification import Pattern, Verdict, verify
from mock_server.errors import ApiError, SpecError

if TYPE_CHECKING:
    from mock_server.handling import ApiRuntime, Call, Reply

log = logging.getLogger("paymock")
PREFER = "prefer-header"


@dataclass(frozen=True, slots=True)
class Injection:
    """A fault chosen for one request: the effect, what chose it, and the request's generator."""

    effect: Effect
    rule: str
    rng: random.Random

    @property
    def fault(self) -> str:
        """The fault's name."""
        return str(self.effect.describe()["fault"])

    def answer(self, exchange: Exchange) -> Reply:
        """Wait the effect's delay, then answer as the effect says."""
        if self.effect.delay is not None:
            time.sleep(self.effect.delay.seconds(self.rng))
        return self.effect.answer(exchange)


def catalog(runtimes: Mapping[str, ApiRuntime]) -> Catalog:
    """What rules may name: every served API's operations and tenant slugs."""
    return {
        name: ApiCatalog(
            {op.operation_id: (op.method, op.path) for op in rt.spec.operations},
            [str(t["slug"]) for t in rt.tenants],
        )
        for name, rt in runtimes.items()
    }


class ControlPlane:
    """Fault rules and the journal of one server, over a shared :class:`ControlState`.

    Args:
        state: The shared state.
        runtimes: The served APIs.
        seed: Default seed of rules that name none (the server's ``--seed``).
        journal: Whether requests are journaled (capacity above 0).
    """

    def __init__(self, state: ControlState, runtimes: Mapping[str, ApiRuntime], seed: int, journal: bool) -> None:
        self.state = state
        self.catalog = catalog(runtimes)
        self.seed = seed
        self.journal = journal
        self._generation: int | None = None
        self._rules: dict[str, list[Rule]] = {}

    # -- rules -------------------------------------------------------------------------------

    def _compile(self, stored: Sequence[StoredRule]) -> list[Rule]:
        rules = []
        for s in stored:
            try:
                rules.append(compile_rule(s.source, f"stored rule {s.id!r}", self.catalog, self.seed, s.id))
            except SpecError as exc:  # written by a server with other APIs on the same data file
                log.warning("ignoring a stored fault rule: %s", exc)
        return rules

    def _current(self, api: str) -> list[Rule]:
        generation = self.state.generation()
        if generation != self._generation:
            # Cached under the generation read before loading: a change that lands meanwhile
            # shows a newer one on the next request, which loads again.
            _, stored = self.state.rules()
            rules = self._compile(stored)
            # Replaced whole, so a thread reading the old mapping is never confused.
            self._rules = {name: [r for r in rules if r.api in (None, name)] for name in self.catalog}
            self._generation = generation
        return self._rules.get(api, [])

    def add(self, data: object, where: str) -> list[Rule]:
        """Validate rules as a whole and store them all, or raise :class:`RuleError` and store none."""
        _, stored = self.state.rules()
        rules = compile_rules(data, where, self.catalog, self.seed, [s.id for s in stored], len(stored) + 1)
        try:
            self.state.add_rules([(r.id, r.source) for r in rules])
        except DuplicateRuleError as exc:
            raise RuleError(where, f"rule id {exc.rule_id!r} is already in use; nothing was added") from None
        return rules

    def listing(self) -> list[dict[str, Any]]:
        """Every rule as stored, with how many requests it matched."""
        return [{**s.source, "matched": s.matched} for s in self.state.rules()[1]]

    # -- per request -------------------------------------------------------------------------

    def choose(self, api: str, tenant: str | None, operation: str, call: Call) -> Injection | None:
        """The fault this request gets: a ``Prefer`` header's, else the first rule whose schedule fires.

        Every matching rule counts the request, so "the first 2" of each rule means its own matches.
        """
        return self.requested(call) or self.matched(api, tenant, operation, call)

    def requested(self, call: Call) -> Injection | None:
        """The fault the request's ``Prefer`` header asks for, if any (no state is read)."""
        prefer = call.headers.get("Prefer")
        if prefer:
            requested = requested_effect(prefer)
            if requested is not None:
                return Injection(requested, PREFER, draw(self.seed, 0))
        return None

    def observing(self) -> AbstractContextManager[object]:
        """The scope of a request answered before :meth:`matched` (see :meth:`ControlState.observing`)."""
        return self.state.observing()

    def matched(self, api: str, tenant: str | None, operation: str, call: Call) -> Injection | None:
        """The fault of the first stored rule whose schedule fires for this request, counting every match.

        Inside :meth:`observing`, after the answer, the rules are those of the generation the
        answer's own statement read (never older than the request).
        """
        chosen = None
        rules = self._current(api)
        if rules:
            query: dict[str, str] = {}
            for k, v in call.query:
                query.setdefault(k, v)
            for rule in rules:
                if rule.matches(api, tenant, operation, query):
                    n = self.state.count_match(rule.id)
                    if chosen is None and n and rule.schedule.fires(n, rule.seed):
                        chosen = Injection(rule.effect, rule.id, draw(rule.seed, n))
        return chosen

    def record(
        self,
        runtime: ApiRuntime,
        operation: str | None,
        call: Call,
        tenant: str | None,
        reply: Reply,
        started: float,
        injection: Injection | None,
    ) -> None:
        """Journal one answered request (nothing if the journal is off).

        Only what is cheap is taken here; the state makes the entry (masking, copying, encoding)
        when it chooses (SQLite at once, PostgreSQL in its writer thread), from the request's own
        headers and query, which do not change once it is answered. Neither body is kept whole.
        """
        if not self.journal:
            return
        self.state.record(
            partial(
                entry,
                api=runtime.spec.name,
                tenant=tenant,
                operation=operation,
                method=call.method,
                path=call.path,
                query=call.query,
                headers=call.headers.items(),  # a generator: the writer lists the headers
                body=call.body[: BODY_LIMIT + 1],
                content_type=call.content_type,
                status=reply.status,
                response_headers={"Content-Type": reply.content_type, **reply.headers},
                response_size=len(reply.body),
                at=time.time(),
                duration_ms=(time.perf_counter() - started) * 1000,
                fault=injection.fault if injection else None,
                rule=injection.rule if injection else None,
                secret_headers=runtime.secret_headers,
            )
        )

    # -- journal -----------------------------------------------------------------------------

    def requests(self, query: JournalQuery) -> tuple[list[dict[str, Any]], int]:
        """A page of the journal, newest first, and the filtered total."""
        return self.state.requests(query)

    def verify(self, pattern: Pattern) -> Verdict:
        """Count the journaled requests matching ``pattern``, with the near misses."""
        entries, _ = self.state.requests(JournalQuery(limit=1 << 30))
        return verify(pattern, entries)


def requested_effect(header: str) -> Effect | None:
    """The fault a ``Prefer`` header asks for (Prism's convention), or None if it asks for none.

    ``code=429`` (any of 429, 500, 502, 503, 504) answers that status in the vendor's format;
    ``fault=<name>`` applies a fault with its defaults; ``delay=<ms>`` waits first (alone, it is
    latency). Other preferences (``return=minimal``) are left alone.

    Raises:
        ApiError: a value paymock cannot honour, naming the allowed ones (vendor format, 400).
    """
    wanted: dict[str, str] = {}
    for part in header.replace(";", ",").split(","):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip().lower() in ("code", "delay", "fault"):
            wanted[key.strip().lower()] = value.strip().strip('"')
    if not wanted:
        return None
    block: dict[str, Any] = {}
    try:
        if "delay" in wanted:
            block["delay"] = Fixed.load({"ms": _number(wanted["delay"])}, "Prefer: delay").describe()
        if "code" in wanted:
            if "fault" in wanted and wanted["fault"] != "status":
                raise SpecError("Prefer", "give either code=<status> or fault=<name>, not both")
            block.update(fault="status", status=_number(wanted["code"]))
        else:
            block["fault"] = wanted.get("fault", "latency")
        return FAULTS.get(block["fault"], "Prefer: fault").load(block, "Prefer")
    except SpecError as exc:
        codes = ", ".join(map(str, STATUS_KINDS))
        raise ApiError.of(
            "invalid_parameter",
            f"Cannot honour the Prefer header {header!r}: {exc.message}"
            f" (paymock honours code={{{codes}}}, fault={{{', '.join(FAULTS.names())}}}, delay=<ms>)",
            "value_error",
            ("header", "Prefer"),
        ) from None


def _number(text: str) -> float | int | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


__all__ = ["ControlPlane", "Injection", "Status", "catalog", "requested_effect"]
