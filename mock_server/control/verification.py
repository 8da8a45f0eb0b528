"""Verification: count the journaled requests that match a pattern, and explain the near misses.

A pattern names any of ``api``, ``tenant``, ``operation``, ``method``, ``path``, ``status``,
``fault``, ``rule`` and ``query`` (values that must be present and equal). A near miss is a
journaled request that differs from the pattern in few fields; each comes with the reason for
every field that did not match, closest first, as ``responses`` and WireMock report them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FIELDS = ("api", "tenant", "operation", "method", "path", "status", "fault", "rule")
PATTERN_KEYS = frozenset({*FIELDS, "query"})
#: How many near misses a verification reports.
NEAR_MISSES = 5


class PatternError(ValueError):
    """A verification pattern is malformed: names the field and what is allowed."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """What the requests to count look like; None fields match anything."""

    fields: Mapping[str, Any]
    query: Mapping[str, str]

    @classmethod
    def load(cls, block: object) -> Pattern:
        """Read a pattern from a parsed JSON object.

        Raises:
            PatternError: an unknown key, or a value of the wrong type.
        """
        if not isinstance(block, Mapping):
            raise PatternError(f"the pattern must be an object with any of {', '.join(sorted(PATTERN_KEYS))}")
        unknown = set(block) - PATTERN_KEYS - {"count"}
        if unknown:
            raise PatternError(
                f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(PATTERN_KEYS | {'count'}))}"
            )
        fields: dict[str, Any] = {}
        for key in FIELDS:
            value = block.get(key)
            if value is None:
                continue
            if key == "status":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise PatternError(f"status must be an integer HTTP status, got {value!r}")
            elif not isinstance(value, str):
                raise PatternError(f"{key} must be a string, got {value!r}")
            fields[key] = value.upper() if isinstance(value, str) and key == "method" else value
        query = block.get("query") or {}
        if not isinstance(query, Mapping) or not all(isinstance(v, str | int | float) for v in query.values()):
            raise PatternError(f"query must map parameter names to single values, got {query!r}")
        return cls(fields, {str(k): str(v) for k, v in query.items()})

    def describe(self) -> str:
        """The pattern in one line, for messages."""
        parts = [f"{k}={v!r}" for k, v in self.fields.items()]
        parts += [f"query {k}={v!r}" for k, v in self.query.items()]
        return ", ".join(parts) or "any request"

    def reasons(self, entry: Mapping[str, Any]) -> list[str]:
        """Why a journaled request does not match (empty: it matches)."""
        found = []
        for key, expected in self.fields.items():
            actual = entry.get(key)
            if actual != expected:
                found.append(f"{key} is {actual!r}, expected {expected!r}")
        sent: dict[str, str] = {}
        for k, v in entry.get("query", ()):
            sent.setdefault(k, v)
        for key, expected in self.query.items():
            if key not in sent:
                found.append(f"query {key} is absent, expected {expected!r}")
            elif sent[key] != expected:
                found.append(f"query {key} is {sent[key]!r}, expected {expected!r}")
        return found


@dataclass(frozen=True, slots=True)
class Verdict:
    """How many requests matched, which, and the closest that did not."""

    count: int
    matched: list[int]
    near_misses: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        """The verdict as the admin API answers it."""
        return {"count": self.count, "matched": self.matched, "near_misses": self.near_misses}


def verify(pattern: Pattern, entries: Sequence[Mapping[str, Any]]) -> Verdict:
    """Match every entry (newest first) against the pattern."""
    matched: list[int] = []
    misses: list[tuple[int, int, dict[str, Any]]] = []
    for position, entry in enumerate(entries):
        reasons = pattern.reasons(entry)
        if not reasons:
            matched.append(int(entry["seq"]))
        else:
            misses.append((len(reasons), position, {"request": summary(entry), "reasons": reasons}))
    misses.sort(key=lambda m: (m[0], m[1]))
    return Verdict(len(matched), matched, [m[2] for m in misses[:NEAR_MISSES]])


def summary(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an entry a near miss shows."""
    keys = ("seq", "api", "tenant", "operation", "method", "path", "query", "status", "fault", "rule")
    return {k: entry.get(k) for k in keys}


def explain(pattern: Pattern, expected: int, verdict: Verdict) -> str:
    """An assertion message: what was expected, what was seen, and each near miss with its reasons."""
    lines = [f"expected {expected} request(s) matching {pattern.describe()}, got {verdict.count}"]
    if verdict.near_misses:
        lines.append("near misses (closest first):")
        for miss in verdict.near_misses:
            r = miss["request"]
            query = "&".join(f"{k}={v}" for k, v in r.get("query") or [])
            lines.append(
                f"  #{r['seq']} {r['method']} /{r['api']}{r['path']}{'?' + query if query else ''}"
                f" (tenant {r['tenant']}, status {r['status']}): " + "; ".join(miss["reasons"])
            )
    else:
        lines.append("the journal holds no other request")
    return "\n".join(lines)
