"""The control plane's shared state: fault rules with their match counters, and the request journal.

One state serves every worker of a server (and, on PostgreSQL, every replica): a rule
posted to one worker applies in all, its counter counts every worker's matches, and the journal
holds every worker's requests. :class:`ControlState` is the interface; the SQLite implementation
(:mod:`mock_server.store.sqlite.control`, a file per machine) and the PostgreSQL one
(:mod:`mock_server.store.postgresql.control`, the store's database) are the only code that speaks SQL for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from mock_server.control.journal import Pending


@dataclass(frozen=True, slots=True)
class StoredRule:
    """A rule as stored: its normalised source and how many requests it matched so far."""

    id: str
    source: dict[str, Any]
    matched: int


@dataclass(frozen=True, slots=True)
class JournalQuery:
    """A filter and a page of the journal; None means any.

    Attributes:
        api: API name.
        tenant: Tenant slug.
        operation: operationId.
        method: HTTP method (upper case).
        path: Path below the API's root.
        status: Response status.
        since: Unix time; entries at or after it.
        limit: Page size.
        offset: Entries to skip (newest first).
    """

    api: str | None = None
    tenant: str | None = None
    operation: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    since: float | None = None
    limit: int = 50
    offset: int = 0


class DuplicateRuleError(Exception):
    """A rule id is already stored (raised by :meth:`ControlState.add_rules`; nothing was added)."""

    def __init__(self, rule_id: str) -> None:
        super().__init__(rule_id)
        self.rule_id = rule_id


class ControlState(Protocol):
    """Rules, their counters and the journal, shared by every worker."""

    def observing(self) -> AbstractContextManager[object]:
        """The scope of one request that reads the store before :meth:`generation` is asked.

        A state may have the store's statements in the block read the generation with the
        answer (PostgreSQL: one round trip a request, not two); leaving the block forgets it, so
        no other request ever sees it.
        """
        ...

    def generation(self) -> int:
        """A number that changes whenever the set of rules changes (cheap: read per request).

        Never older than the request: read now, or by a statement of this request's
        :meth:`observing` block.
        """
        ...

    def rules(self) -> tuple[int, list[StoredRule]]:
        """The generation and every rule, oldest first."""
        ...

    def add_rules(self, rules: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Store rules ``(id, source)`` all at once, or none (:class:`DuplicateRuleError`)."""
        ...

    def delete_rule(self, rule_id: str) -> bool:
        """Delete one rule; False if there was none with that id."""
        ...

    def clear_rules(self) -> int:
        """Delete every rule; returns how many there were."""
        ...

    def count_match(self, rule_id: str) -> int:
        """Count one more request matched by the rule, atomically; returns the new count (0: rule gone)."""
        ...

    def record(self, entry: Pending) -> None:
        """Add one request to the journal (dropping the oldest beyond capacity).

        ``entry`` makes the entry when called: a state calls it off the request's path.
        """
        ...

    def requests(self, query: JournalQuery) -> tuple[list[dict[str, Any]], int]:
        """A page of journal entries, newest first, and how many match the filter in all."""
        ...

    def clear_requests(self) -> int:
        """Empty the journal; returns how many entries there were."""
        ...

    def close(self) -> None:
        """Close this process's connections (before gunicorn forks; they reopen on next use)."""
        ...
