"""Fault rules: what a rule matches, the effect it applies and when, validated as a whole.

A rule is written (in a faults file or posted to ``/__paymock/faults``) as::

    id: page-3-fails            # optional; [A-Za-z0-9_.-], unique
    api: acmepay                # optional: any served API
    tenant: <tenant slug>       # optional: as listed by /__paymock/credentials
    operation: listCharges      # optional: operationId, or "GET /v1/payments"
    query: {page: 3}            # optional: each named query value must be present and equal
    effect: {fault: status, status: 429, retry-after: 2}
    schedule: {when: once}      # optional, default always
    seed: 7                     # optional, default the server's --seed (probability, delays)

Every mistake is a :class:`RuleError` naming the file or field and what is allowed, and a list
of rules is checked whole before any of it is applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mock_server.control.faults import Effect, load_effect
from mock_server.control.schedules import Schedule, load_schedule
from mock_server.errors import SpecError, reject_unknown_keys

RULE_KEYS = {"id", "api", "tenant", "operation", "query", "effect", "schedule", "seed"}
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class RuleError(SpecError):
    """A fault rule or faults file is invalid; nothing of it was applied."""


@dataclass(frozen=True, slots=True)
class ApiCatalog:
    """What rules may name in one API: its operations and its tenants."""

    operations: Mapping[str, tuple[str, str]]  # operationId -> (method, path template)
    tenants: Sequence[str]  # slugs, tenant 1 first


Catalog = Mapping[str, ApiCatalog]


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled fault rule.

    Attributes:
        id: Unique name.
        api: API it is limited to, or None for every API.
        tenant: Tenant slug it is limited to, or None.
        operations: operationIds it is limited to, or None for every operation.
        query: Query values that must all be present and equal.
        effect: What happens.
        schedule: When it happens.
        seed: Seed of its draws.
        source: The rule as written, normalised (what is stored and listed).
    """

    id: str
    api: str | None
    tenant: str | None
    operations: frozenset[str] | None
    query: tuple[tuple[str, str], ...]
    effect: Effect
    schedule: Schedule
    seed: int
    source: dict[str, Any]

    def matches(self, api: str, tenant: str | None, operation: str, query: Mapping[str, str]) -> bool:
        """Whether a request falls under this rule."""
        if self.api is not None and self.api != api:
            return False
        if self.tenant is not None and self.tenant != tenant:
            return False
        if self.operations is not None and operation not in self.operations:
            return False
        return all(query.get(k) == v for k, v in self.query)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _operations(catalog: Catalog, api: str | None, written: object, where: str) -> frozenset[str]:
    if not isinstance(written, str) or not written.strip():
        raise RuleError(where, f"must be an operationId or 'METHOD /path/template', got {written!r}")
    apis = [api] if api is not None else list(catalog)
    found: set[str] = set()
    method, _, path = written.partition(" ")
    for name in apis:
        for op_id, (op_method, op_path) in catalog[name].operations.items():
            if op_id == written or (path and op_method == method.upper() and op_path == path.strip()):
                found.add(op_id)
    if not found:
        listed = sorted(f"{op_id} ({m} {p})" for name in apis for op_id, (m, p) in catalog[name].operations.items())
        scope = f"of {api}" if api is not None else "in any served API"
        raise RuleError(where, f"unknown operation {written!r} {scope}; available: {', '.join(listed)}")
    return frozenset(found)


def compile_rule(block: object, where: str, catalog: Catalog, default_seed: int, fallback_id: str) -> Rule:
    """Validate and compile one rule.

    Args:
        block: The rule as written.
        where: Its location (``faults.yaml: rules[2]``), for errors.
        catalog: The served APIs' operations and tenants.
        default_seed: Seed of a rule that names none.
        fallback_id: Id of a rule that names none.

    Raises:
        RuleError: naming the field and what is allowed.
    """
    if not isinstance(block, Mapping):
        raise RuleError(where, f"a rule must be a mapping with keys {', '.join(sorted(RULE_KEYS))}")
    try:
        reject_unknown_keys(block, RULE_KEYS, where)
    except SpecError as exc:
        raise RuleError(exc.where, exc.message) from None
    rule_id = block.get("id", fallback_id)
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise RuleError(f"{where}.id", f"must be 1-64 letters, digits, '_', '.' or '-', got {rule_id!r}")
    api = block.get("api")
    if api is not None and api not in catalog:
        raise RuleError(f"{where}.api", f"unknown API {api!r}; served: {', '.join(sorted(catalog))}")
    tenant = block.get("tenant")
    if tenant is not None:
        known = sorted({t for name in ([api] if api else catalog) for t in catalog[name].tenants})
        if tenant not in known:
            raise RuleError(f"{where}.tenant", f"unknown tenant {tenant!r}; tenants: {', '.join(known)}")
    operations = None
    if block.get("operation") is not None:
        operations = _operations(catalog, api, block["operation"], f"{where}.operation")
    query = block.get("query") or {}
    if not isinstance(query, Mapping) or not all(
        isinstance(v, str | int | float | bool) and not isinstance(v, dict) for v in query.values()
    ):
        raise RuleError(f"{where}.query", f"must map query parameter names to single values, got {query!r}")
    seed = block.get("seed", default_seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise RuleError(f"{where}.seed", f"must be an integer, got {seed!r}")
    if "effect" not in block:
        raise RuleError(f"{where}.effect", "missing: say what happens, e.g. {fault: status, status: 503}")
    try:
        effect = load_effect(block["effect"], f"{where}.effect")
        schedule = load_schedule(block.get("schedule"), f"{where}.schedule")
    except RuleError:
        raise
    except SpecError as exc:
        raise RuleError(exc.where, exc.message) from None
    source: dict[str, Any] = {"id": rule_id}
    for key in ("api", "tenant", "operation"):
        if block.get(key) is not None:
            source[key] = block[key]
    if query:
        source["query"] = {str(k): _text(v) for k, v in query.items()}
    source["effect"] = effect.describe()
    source["schedule"] = schedule.describe()
    source["seed"] = seed
    return Rule(
        id=rule_id,
        api=api,
        tenant=tenant,
        operations=operations,
        query=tuple((str(k), _text(v)) for k, v in query.items()),
        effect=effect,
        schedule=schedule,
        seed=seed,
        source=source,
    )


def compile_rules(
    data: object, where: str, catalog: Catalog, default_seed: int, taken: Sequence[str] = (), start: int = 1
) -> list[Rule]:
    """Validate a list of rules (``[rule, ...]`` or ``{rules: [...]}``) as a whole.

    Args:
        data: The parsed file or request body.
        where: The file name or ``request body``.
        catalog: The served APIs' operations and tenants.
        default_seed: Seed of rules that name none.
        taken: Ids already in use.
        start: Number of the first generated id (``rule-<n>``).

    Raises:
        RuleError: for the first mistake; no rule of ``data`` is to be applied.
    """
    prefix = ""
    if isinstance(data, Mapping) and "rules" in data:
        try:
            reject_unknown_keys(data, {"rules"}, where)
        except SpecError as exc:
            raise RuleError(exc.where, exc.message) from None
        data, prefix = data["rules"], "rules"
    elif isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise RuleError(where, "must be a list of rules, or {rules: [...]}")
    seen = set(taken)
    rules = []
    number = start
    for i, block in enumerate(data):
        here = f"{where}: {prefix}[{i}]" if prefix or len(data) > 1 else where
        while f"rule-{number}" in seen:
            number += 1
        rule = compile_rule(block, here, catalog, default_seed, f"rule-{number}")
        if rule.id in seen:
            raise RuleError(f"{here}.id", f"{rule.id!r} is already in use; give each rule its own id")
        seen.add(rule.id)
        rules.append(rule)
    return rules
