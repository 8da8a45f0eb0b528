"""The sandbox clock: every API tenant's own "now", and moving its records through their lifecycle.

Each tenant's clock starts at the world's as-of moment and only moves forward. Moving it to a
moment walks every record whose status some declared move leaves (``lifecycle`` in the
document, :mod:`mock_server.lifecycle.schedule`): while the record's next move is due at or
before the moment, it is taken, at the moment it was due (not at the moment the clock reached).
The moment and the outcome of a move are drawn from a generator keyed by the seed, the record
and the move, so a record ends the same whether the clock got there in one step or in ten.

A moved record is rendered again from its facts (:func:`~mock_server.lifecycle.transitions.rebuild`),
so every field, column and list order follows; each collection of a tenant changes in one store
transaction (:meth:`~mock_server.store.BaseStore.revise`), and the clock is written last: a move
interrupted halfway is finished by the next.

Records also appear (``appear`` in the lifecycle, :mod:`mock_server.lifecycle.appear`): the
instalments whose creation moments fall between the clock's reading and its target are made
(:mod:`mock_server.world.instalments`), rendered, and inserted by the same transaction, before
the moves, which then take them like any record.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson

from mock_server.errors import MockServerError
from mock_server.lifecycle.schedule import REVISION, TAKEN, Lifecycle, Move
from mock_server.lifecycle.transitions import invoices_of, renderer
from mock_server.spec import ApiSpec, CollectionSpec
from mock_server.store.base import RECORD_ID, Added, BaseStore, Condition, Spread, TableSpec
from mock_server.tables import table_spec
from mock_server.world import INVOICE_OUTSTANDING, Facts, cents, money, tenant_facts
from mock_server.world.instalments import Instalments

#: Record IDs an advance names per step it counts (to follow one, as a demo does).
EXAMPLES = 3
#: The longest one move may span where records appear (five years of 366 days). New records are
#: made one by one, so a move to the year 9999 would make hundreds of thousands of instalments
#: per weekly subscription and hold the clock's lock for hours; a longer span is reached in steps.
APPEAR_SPAN_DAYS = 5 * 366
#: Seconds after the as-of moment over which moves already due then are spread.
OVERDUE_SPREAD = 6 * 3600
#: Most moves one record takes in one advance: a lifecycle whose moves loop without time passing stops here.
MOST_MOVES = 64


class ClockError(MockServerError):
    """A clock move that cannot be made (an unknown API or tenant); the message says why."""


class BackwardsError(ClockError):
    """A clock asked to move backwards (restore a snapshot instead)."""


def clock_key(api: str, tenant: int) -> str:
    """The metadata key of a tenant's clock."""
    return f"clock:{api}:{tenant}"


def reading(store: BaseStore, api: str, tenant: int) -> int:
    """Epoch seconds a tenant's clock shows, read from the store: what a request's state change is stamped with.

    A clock never moved shows the world's as-of moment (the store's ``as_of`` metadata); a store
    holding no world yet shows the machine's time.
    """
    stored = store.meta(clock_key(api, tenant)) or store.meta("as_of")
    return int(time.time()) if stored is None else int(stored)


def iso(moment: int) -> str:
    """An instant as ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def draw(*key: object) -> float:
    """A uniform number in [0, 1) that depends only on ``key``."""
    digest = hashlib.blake2b(":".join(map(str, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class Moved:
    """What one advance changed.

    Attributes:
        moves: ``"<from> -> <to>"`` -> how many times a record took that step, per API and tenant.
        records: Records that changed, per API and tenant.
        examples: The IDs of the first :data:`EXAMPLES` records that took each step, per API and tenant.
        appeared: Collection -> how many new records appeared in it, per API and tenant.
        appeared_examples: Collection -> the IDs of its first :data:`EXAMPLES` new records, per API and tenant.
    """

    moves: dict[str, dict[int, Counter[str]]] = field(default_factory=dict)
    records: dict[str, dict[int, int]] = field(default_factory=dict)
    examples: dict[str, dict[int, dict[str, list[str]]]] = field(default_factory=dict)
    appeared: dict[str, dict[int, Counter[str]]] = field(default_factory=dict)
    appeared_examples: dict[str, dict[int, dict[str, list[str]]]] = field(default_factory=dict)


class SandboxClock:
    """The clocks of every tenant of some APIs, kept in the store (so every worker and replica shares them).

    Args:
        specs: The served documents.
        store: Their store.
        seed: The world's seed (part of every draw).
        as_of: Epoch seconds of the world's as-of moment: where every clock starts.
        tenants: API -> its tenant count.
    """

    def __init__(
        self, specs: Sequence[ApiSpec], store: BaseStore, seed: int, as_of: int, tenants: Mapping[str, int]
    ) -> None:
        self.specs = {s.name: s for s in specs}
        self.store = store
        self.seed = seed
        self.as_of = as_of
        self.tenants = dict(tenants)
        self._infos: dict[tuple[str, int], Facts] = {}
        self._instalments: dict[str, Instalments] = {}

    @staticmethod
    def key(api: str, tenant: int) -> str:
        """The metadata key of a tenant's clock."""
        return clock_key(api, tenant)

    def now(self, api: str, tenant: int) -> int:
        """Epoch seconds a tenant's clock shows."""
        stored = self.store.meta(self.key(api, tenant))
        return self.as_of if stored is None else int(stored)

    def readings(self) -> dict[str, dict[int, int]]:
        """Every tenant's clock, per API."""
        return {api: {t: self.now(api, t) for t in range(1, n + 1)} for api, n in self.tenants.items()}

    def select(self, api: str | None, tenant: int | None) -> list[tuple[str, int]]:
        """The ``(api, tenant)`` pairs one API (or all) and one tenant (or all) name.

        Raises:
            ClockError: No such API, or no such tenant of it.
        """
        if api is not None and api not in self.tenants:
            raise ClockError(f"unknown api {api!r}; served: {', '.join(self.tenants)}")
        pairs = [(a, t) for a, n in self.tenants.items() if api in (None, a) for t in range(1, n + 1)]
        if tenant is not None:
            pairs = [(a, t) for a, t in pairs if t == tenant]
            if not pairs:
                most = max(self.tenants[a] for a in ([api] if api else self.tenants))
                raise ClockError(f"unknown tenant {tenant!r}; tenants are numbered 1 to {most}")
        return pairs

    def exclusive(self) -> AbstractContextManager[None]:
        """The clocks' lock, across threads, processes and replicas.

        Held from reading a clock to its move's end (:func:`targets_of` then :meth:`advance`), so
        that two moves at once (a running clock's tick and an admin request) take turns instead of
        both reading one clock and both adding the same records.
        """
        return self.store.exclusive("clock")

    def advance(self, targets: Mapping[tuple[str, int], int]) -> Moved:
        """Move each ``(api, tenant)`` clock to its target moment, moving its records on.

        Called under :meth:`exclusive` wherever other moves may run at once.

        Raises:
            BackwardsError: A target is before the clock's reading (nothing is moved then).
            ClockError: A move of more than :data:`APPEAR_SPAN_DAYS` for an API whose records
                appear (nothing is moved then).
        """
        starts = {pair: self.now(*pair) for pair in targets}
        for (api, tenant), target in targets.items():
            if target < starts[api, tenant]:
                raise BackwardsError(
                    f"the clock of {api} tenant {tenant} is at {iso(starts[api, tenant])}, after {iso(target)}: "
                    "a clock only moves forward; restore a snapshot (POST /__paymock/snapshots/<name>/restore) "
                    "to go back"
                )
        for (api, tenant), target in targets.items():
            days = (target - starts[api, tenant]) / 86_400
            if days > APPEAR_SPAN_DAYS and any(
                c.lifecycle and c.lifecycle.appear for c in self.specs[api].collections.values()
            ):
                raise ClockError(
                    f"the clock of {api} tenant {tenant} would move {days:,.0f} days at once; {api}'s records "
                    f"appear as its clock passes them, so one move may span at most {APPEAR_SPAN_DAYS} days: "
                    f"move in steps ('by': 'P{APPEAR_SPAN_DAYS}D' or less); nothing was moved"
                )
        moved = Moved()
        for (api, tenant), target in targets.items():
            moves: Counter[str] = Counter()
            examples: dict[str, list[str]] = {}
            appeared: Counter[str] = Counter()
            new: dict[str, list[str]] = {}
            records = 0
            for name, collection in self.specs[api].collections.items():
                lifecycle = collection.lifecycle
                if lifecycle is None or not (lifecycle.moves or lifecycle.appear):
                    continue
                render = renderer(self.store, self.specs[api], collection, tenant, self._info(api, tenant), bulk=True)
                added = self._appear(api, tenant, collection, lifecycle, starts[api, tenant], target, render)
                if added:
                    appeared[name] = len(added)
                    new[name] = [id_ for id_, *_ in added[:EXAMPLES]]
                records += self._move(api, tenant, collection, lifecycle, target, moves, examples, render, added)
            self.store.set_meta({self.key(api, tenant): str(target)})
            moved.moves.setdefault(api, {})[tenant] = moves
            moved.records.setdefault(api, {})[tenant] = records
            moved.examples.setdefault(api, {})[tenant] = examples
            moved.appeared.setdefault(api, {})[tenant] = appeared
            moved.appeared_examples.setdefault(api, {})[tenant] = new
        return moved

    def reset(self) -> None:
        """Every clock back at the as-of moment (with the records, by a reset)."""
        self.store.set_meta({self.key(a, t): str(self.as_of) for a, t in self.select(None, None)})

    def meta(self) -> dict[str, str]:
        """Every clock as metadata: what a snapshot saves."""
        return {self.key(a, t): str(self.now(a, t)) for a, t in self.select(None, None)}

    def _info(self, api: str, tenant: int) -> Facts:
        info = self._infos.get((api, tenant))
        if info is None:
            info = self._infos[api, tenant] = tenant_facts(self.seed, api, tenant)
        return info

    def _move(
        self,
        api: str,
        tenant: int,
        collection: CollectionSpec,
        lifecycle: Lifecycle,
        target: int,
        moves: Counter[str],
        examples: dict[str, list[str]],
        render: Callable[[Facts], tuple[bytes, list[Any]]],
        added: Sequence[Added],
    ) -> int:
        assert lifecycle.column is not None  # a lifecycle with moves names its column (checked at load)
        # No conditions would read every record: a lifecycle whose records only appear reads the new ones' statuses.
        statuses = lifecycle.sources or tuple(dict.fromkeys(a.status for a in lifecycle.appear))
        where = [Condition(lifecycle.column, "eq", (s,)) for s in statuses]
        table = table_spec(collection)
        balances = _Balances(self.store, self.specs[api], tenant, table, lifecycle.invoice_column, render)

        def change(facts: dict[str, Any]) -> tuple[dict[str, Any], bytes, list[Any]] | None:
            applied = facts.get("invoice_applied")
            steps = self.walk(api, tenant, collection, lifecycle, facts, target)
            if not steps:
                return None
            doc, columns = render(facts)
            balances.moved(facts, applied, columns)
            for before, after in steps:
                step = f"{before} -> {after}"
                moves[step] += 1
                named = examples.setdefault(step, [])
                if len(named) < EXAMPLES:
                    named.append(str(orjson.loads(doc)[collection.id_field]))
            return facts, doc, columns

        return self.store.revise(table, tenant, where, change, balances.spread, added)

    def _appear(
        self,
        api: str,
        tenant: int,
        collection: CollectionSpec,
        lifecycle: Lifecycle,
        start: int,
        target: int,
        render: Callable[[Facts], tuple[bytes, list[Any]]],
    ) -> list[Added]:
        """The records that appear in ``(start, target]``, in creation order, rendered (none: ``[]``).

        Ordered by (moment, declaration, source, number), so that records appearing over several
        advances are added in the order one advance would add them; numbered after every record
        the tenant has (seeded and appeared), which is the same however the moves were cut.
        """
        if not lifecycle.appear or target <= start:
            return []
        due: list[tuple[int, int, int, int]] = []
        subscriptions = self._entities(api, tenant, "subscription")
        for rank, appear in enumerate(lifecycle.appear):
            for seq, subscription in subscriptions.items():
                if subscription.get("status") in appear.sources:
                    due.extend((moment, rank, seq, n) for n, moment in appear.due(subscription, start, target))
        if not due:
            return []
        due.sort()
        customers = self._entities(api, tenant, "customer")
        users = len(self._entities(api, tenant, "user"))
        made = self._instalments.get(api)
        if made is None:
            made = self._instalments[api] = Instalments(self.specs[api].world)
        table = table_spec(collection).name
        first = self.store.count(table, tenant, []) + 1
        seed_key = f"{self.seed}:{api}:{tenant}"
        added: list[Added] = []
        for moment, rank, seq, n in due:
            appear = lifecycle.appear[rank]
            status = appear.status
            subscription = subscriptions[seq]
            facts = made.facts(
                seed_key,
                subscription,
                customers[int(subscription["customer"])],
                users,
                n,
                moment,
                first + len(added),
                status,
                collection.statuses[status][1],
            )
            for fact in appear.moments:
                facts[fact] = facts["created_at"]
            doc, columns = render(facts)
            id_ = str(orjson.loads(doc)[collection.id_field])
            # An advance interrupted after this collection's transaction and before its clock was
            # written added the window's first records already (all of one transaction, in order):
            # they are counted in ``first``, and skipped here.
            if not added and self.store.exists(table, tenant, RECORD_ID, id_):
                continue
            added.append((id_, facts, doc, columns))
        return added

    def _entities(self, api: str, tenant: int, kind: str) -> dict[int, Facts]:
        """A tenant's entities of one kind, by ``seq`` (read whole: an advance looks at every subscription)."""
        return {seq: orjson.loads(blob) for seq, blob in self.store.entities(api, tenant, kind).items()}

    def walk(
        self,
        api: str,
        tenant: int,
        collection: CollectionSpec,
        lifecycle: Lifecycle,
        facts: dict[str, Any],
        target: int,
    ) -> list[tuple[str, str]]:
        """Take every move of one record due at or before ``target``, changing ``facts``; the steps taken."""
        steps: list[tuple[str, str]] = []
        taken: dict[str, int] = dict(facts.get(TAKEN) or {})
        for _ in range(MOST_MOVES):
            best: tuple[int, Move, int] | None = None
            for move in lifecycle.leaving(facts["status"]):
                count = taken.get(move.name, 0)
                if (move.retries is not None and count >= move.retries) or not move.applies(facts):
                    continue
                key = (self.seed, api, tenant, facts["hex"], move.name, count)
                when = move.schedule(facts, partial(draw, *key, "when"))
                if when is None:
                    continue
                if when < self.as_of:
                    if move.overdue == "skip":
                        continue
                    # Overdue at the first moment: taken within its first hours, not all at once.
                    late = draw(self.seed, api, tenant, facts["hex"], move.name, count, "late")
                    when = self.as_of + int(late * OVERDUE_SPREAD)
                if when <= target and (best is None or when < best[0]):
                    best = (when, move, count)
            if best is None:
                break
            when, move, count = best
            # One outcome needs no draw (most moves of most records).
            single = len(move.outcomes) == 1
            outcome = (
                move.outcomes[0]
                if single
                else move.pick(draw(self.seed, api, tenant, facts["hex"], move.name, count, "outcome"))
            )
            steps.append((facts["status"], outcome.status))
            facts["status"] = outcome.status
            facts["phase"] = collection.statuses[outcome.status][1]
            for fact in outcome.moments:
                facts[fact] = when
            facts.update(outcome.values)
            for fact, source in outcome.copies.items():
                facts[fact] = facts[source]
            for fact, template in outcome.derived.items():
                facts[fact] = template.format_map(facts)
            for fact, mapping in outcome.remapped.items():
                facts[fact] = mapping.get(facts.get(fact), facts.get(fact))
            taken[move.name] = count + 1
            facts[TAKEN] = dict(taken)
            facts[REVISION] = (facts.get(REVISION) or 0) + 1
        return steps


class _Balances:
    """What one revision's moves owe each invoice, and every record of those invoices shown again.

    A move that changes what a record applies to its invoice (``invoice_applied``) changes that
    invoice's outstanding amount, which every record of the invoice shows (in an embedded
    invoice block, say). The amount is kept in each of those records' facts
    (:data:`~mock_server.world.INVOICE_OUTSTANDING`), all of them written in the revision's one
    transaction: the new amount is the one shown before the advance less what its moves applied,
    whatever order they were taken in, so one long advance still gives what many short ones give.

    Args:
        store: The store.
        api: The records' document.
        tenant: Tenant number.
        table: The collection's table.
        column: The lifecycle's ``invoice-column`` (``None``: the records show no invoice balance).
        render: Renders a record from its facts.
    """

    def __init__(
        self,
        store: BaseStore,
        api: ApiSpec,
        tenant: int,
        table: TableSpec,
        column: str | None,
        render: Callable[[Facts], tuple[bytes, list[Any]]],
    ) -> None:
        names = [name for name, _ in table.columns]
        self._index = None if column is None else names.index(column)
        self._column = column
        world = store.meta(f"world:{api.name}") or ""
        self._invoices = invoices_of(store, api, tenant, world, bulk=True) if column is not None else None
        self._render = render
        self._shown: dict[int, int] = {}  # invoice seq -> outstanding before the advance
        self._owed: dict[int, int] = {}  # invoice seq -> applied to it by this advance
        self._values: set[Any] = set()

    def moved(self, facts: dict[str, Any], applied: Any, columns: Sequence[Any]) -> None:
        """Count what a moved record (``applied`` to its invoice before) applies to its invoice now."""
        if self._index is None or self._invoices is None or facts.get("invoice_applied") == applied:
            return
        seq = int(facts["invoice"])
        if seq not in self._shown:
            before = facts.get(INVOICE_OUTSTANDING) or self._invoices[seq - 1]["outstanding"]
            self._shown[seq] = cents(before)
        self._owed[seq] = self._owed.get(seq, 0) + cents(facts["invoice_applied"]) - cents(applied or "0")
        self._values.add(columns[self._index])

    def spread(self) -> Spread | None:
        """Every record of an invoice some move paid on, shown again (``None``: none was)."""
        if self._column is None or not self._values:
            return None
        owing = {seq: money(self._shown[seq] - owed) for seq, owed in self._owed.items()}

        def change(facts: dict[str, Any]) -> tuple[dict[str, Any], bytes, list[Any]] | None:
            outstanding = owing.get(int(facts["invoice"]))
            if outstanding is None:
                return None  # another invoice showing the same column value (none does today)
            facts[INVOICE_OUTSTANDING] = outstanding
            doc, columns = self._render(facts)
            return facts, doc, columns

        return Spread(self._column, frozenset(self._values), change)


def targets_of(
    clock: SandboxClock, pairs: Iterable[tuple[str, int]], by: int | None, to: int | None
) -> dict[tuple[str, int], int]:
    """Each clock's target: its reading plus ``by`` seconds, or the moment ``to``."""
    return {pair: (clock.now(*pair) + by) if by is not None else int(to or 0) for pair in pairs}


class ClockTicker(threading.Thread):
    """Moves every tenant's clock ``rate`` sandbox seconds per real second, in whole seconds, until stopped.

    One ticker runs per store (in the serving process that owns it): the moves are relative, so
    a second one would double the rate. A move made through the admin API meanwhile is kept; the
    ticker moves on from it.

    Args:
        clock: The clocks to move.
        rate: Sandbox seconds per real second.
        interval: Real seconds between moves.
    """

    def __init__(self, clock: SandboxClock, rate: float, interval: float = 1.0) -> None:
        super().__init__(name="paymock-clock", daemon=True)
        self.clock, self.rate, self.interval = clock, rate, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        """Move the clocks every ``interval`` until :meth:`stop`; a failed move is logged and tried again."""
        last, owed = time.monotonic(), 0.0
        while not self.stopped.wait(self.interval):
            now = time.monotonic()
            owed += (now - last) * self.rate
            last = now
            step = int(owed)
            if step < 1:
                continue
            try:
                with self.clock.exclusive():
                    self.clock.advance(targets_of(self.clock, self.clock.select(None, None), step, None))
            except MockServerError as exc:  # the store is away: the next tick catches up
                logging.getLogger("paymock").warning("the sandbox clock could not move: %s", exc)
                continue
            owed -= step

    def stop(self) -> None:
        """Stop moving the clocks (after the move under way)."""
        self.stopped.set()
