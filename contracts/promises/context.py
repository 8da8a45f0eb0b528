"""What a promise works with: HTTP as a tenant, sample data, walks, and a place to put results.

A promise runs over the operations it applies to; :meth:`PromiseContext.on` opens one outcome
per operation, and everything the promise finds there lands in it. Hypothesis drives the
choices (page sizes, filter values, sort keys) through :meth:`PromiseContext.explore`, with the
run's seed, so a failing run repeats exactly.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from contracts.client import Client, Exchange
from contracts.credentials import Access
from contracts.declarations import ApiContract, ListDecl, Operation
from contracts.errors import TargetError
from contracts.progress import Progress
from contracts.promises.walk import Walker
from contracts.report import Failure, Outcome

T = TypeVar("T")


class Stop(Exception):
    """Ends an exploration early (a failure was recorded); never escapes the kit."""


@dataclass(frozen=True, slots=True)
class Options:
    """How hard a run tries.

    Attributes:
        max_examples: Generated requests per operation and mode at schema level.
        seed: The run's seed.
        max_pages: Most pages one walk follows before it gives up.
        allow_writes: Whether state-changing requests may be sent.
    """

    max_examples: int = 25
    seed: int = 0
    max_pages: int = 100
    allow_writes: bool = False

    @property
    def promise_examples(self) -> int:
        """Drawn examples per promise and operation (explicit examples come on top)."""
        return max(2, -(-self.max_examples // 5))


@dataclass(slots=True)
class OperationRun:
    """The outcome being built for one check on one operation."""

    outcome: Outcome
    started: float = field(default_factory=time.perf_counter)

    @property
    def failed(self) -> bool:
        """Whether a failure was recorded."""
        return bool(self.outcome.failures)

    def fail(
        self, message: str, expected: str, got: str, exchange: Exchange | None = None, details: Sequence[str] = ()
    ) -> None:
        """Record a broken promise, with the request that shows it."""
        self.outcome.failures.append(
            Failure(
                check=self.outcome.check,
                operation=self.outcome.operation,
                message=message,
                expected=expected,
                got=got,
                curl=exchange.curl if exchange is not None else None,
                details=tuple(details),
            )
        )
        self.outcome.status = "failed"

    def skip(self, reason: str) -> None:
        """Mark the check as not applicable here (unless something already failed)."""
        if not self.failed:
            self.outcome.status = "skipped"
            self.outcome.reason = reason

    def note(self, text: str) -> None:
        """Say what was covered (shown next to a passed check)."""
        self.outcome.reason = text


def fill_path(template: str, values: Mapping[str, str]) -> str:
    """``/v1/payments/{paymentId}`` with its parameters filled in (percent-encoded)."""
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


class PromiseContext:
    """Shared state of the promise checks of one run.

    Args:
        contract: The document's declarations.
        client: HTTP below the base URL.
        access: The primary tenant's credentials.
        other: A second tenant's credentials, when known.
        options: Examples, seed, page budget, writes.
        progress: Where to report each operation's start and end.
    """

    def __init__(
        self,
        contract: ApiContract,
        client: Client,
        access: Access,
        other: Access | None,
        options: Options,
        progress: Progress,
    ) -> None:
        self.contract = contract
        self.client = client
        self.access = access
        self.other = other
        self.options = options
        self.progress = progress
        self.outcomes: list[Outcome] = []
        self.check = ""
        #: IDs of records the kit has tried to change: never chosen again as a known state.
        self.touched: set[str] = set()
        self._samples: dict[tuple[str, str, tuple[tuple[str, str], ...]], Exchange] = {}
        self.walker = Walker(self)

    # -- outcomes ------------------------------------------------------------------------

    @contextmanager
    def on(self, operation: str) -> Iterator[OperationRun]:
        """Open the outcome of the current check on ``operation``; failures recorded inside land there."""
        run = OperationRun(Outcome(self.check, operation))
        self.progress.start(self.check, operation)
        try:
            yield run
        except Stop:
            pass
        except TargetError as exc:
            run.fail("the implementation stopped answering", "an answer", str(exc))
        except Exception as exc:  # a bug in the kit must be visible, not blamed on the implementation
            run.outcome.status = "error"
            run.outcome.reason = f"the contract kit crashed: {type(exc).__name__}: {exc}"
        run.outcome.seconds = time.perf_counter() - run.started
        self.outcomes.append(run.outcome)
        self.progress.finish(run.outcome)

    def not_applicable(self, reason: str) -> None:
        """Record that the current check applies to no operation of this API."""
        outcome = Outcome(self.check, "*", "skipped", reason=reason)
        self.outcomes.append(outcome)
        self.progress.finish(outcome)

    # -- hypothesis ----------------------------------------------------------------------

    def explore(
        self,
        run: OperationRun,
        strategy: st.SearchStrategy[T],
        test: Callable[[T], None],
        *,
        explicit: Sequence[T] = (),
        examples: int | None = None,
        salt: str = "",
    ) -> None:
        """Run ``test`` on each explicit example, then on drawn ones, until one records a failure.

        Args:
            run: The outcome failures go to.
            strategy: What to draw.
            test: Checks one drawn value; records failures on ``run``.
            explicit: Values always tried first.
            examples: How many values to draw (default: the run's promise examples).
            salt: Separates the random streams of explorations on the same operation.
        """

        def body(value: T) -> None:
            if run.failed:
                raise Stop
            test(value)
            if run.failed:
                raise Stop

        wrapped: Any = given(strategy)(body)
        for value in reversed(list(explicit)):
            wrapped = example(value)(wrapped)
        wrapped = settings(
            max_examples=self.options.promise_examples if examples is None else examples,
            deadline=None,
            database=None,
            derandomize=False,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
            print_blob=False,
        )(wrapped)
        wrapped = seed(self.derived_seed(run.outcome.operation, salt))(wrapped)
        try:
            wrapped()
        except Stop:
            pass
        except HypothesisException:
            # Nothing could be drawn (an empty choice); the explicit examples already ran.
            pass
        except BaseExceptionGroup as group:
            _, rest = group.split(Stop)
            if rest is not None:
                raise rest from None

    def derived_seed(self, *parts: str) -> int:
        """A seed for one exploration, stable for the run's seed."""
        return zlib.crc32("|".join((str(self.options.seed), self.check, *parts)).encode())

    # -- HTTP ----------------------------------------------------------------------------

    def call(
        self,
        op: Operation,
        access: Access | None,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Exchange:
        """Send one request to ``op`` as ``access`` (``None``: without credentials or selectors)."""
        values = {**(access.path_for(op) if access else {}), **(path or {})}
        sent = {**(access.headers_for(op) if access else {}), **(headers or {})}
        return self.client.request(
            op.method, fill_path(op.path, values), params=params, headers=sent, json_body=json_body
        )

    def first_page(self, lst: ListDecl, access: Access, path: Mapping[str, str] | None = None) -> Exchange:
        """The first page of a list at its largest page size (cached per tenant and path)."""
        key = (lst.op.label, access.label, tuple(sorted((path or {}).items())))
        if key not in self._samples:
            params = {}
            if lst.paging.size_param and (lst.paging.maximum or lst.paging.default):
                params[lst.paging.size_param] = lst.paging.maximum or lst.paging.default
            self._samples[key] = self.call(lst.op, access, path=path, params=params)
        return self._samples[key]

    def items_of(self, lst: ListDecl, exchange: Exchange) -> list[Any] | None:
        """The items of a list answer, or ``None`` when the body is not the declared envelope."""
        items = lst.envelope.get(exchange.json(), "items") if exchange.status == 200 else None
        return items if isinstance(items, list) else None

    def sample_items(self, lst: ListDecl, access: Access | None = None) -> list[Any]:
        """Records from the first page of an unscoped list (empty when it cannot be read)."""
        access = access or self.access
        if lst.scopes:
            path = self.scope_path(lst)
            if path is None:
                return []
            return self.items_of(lst, self.first_page(lst, access, path)) or []
        return self.items_of(lst, self.first_page(lst, access)) or []

    def ids(self, lst: ListDecl, access: Access | None = None) -> list[str]:
        """IDs of the sample records of a list."""
        id_field = lst.collection.id_field
        return [str(i[id_field]) for i in self.sample_items(lst, access) if isinstance(i, Mapping) and i.get(id_field)]

    def known_ids(self, collection_name: str, access: Access | None = None) -> list[str]:
        """IDs of records of a collection, read from its unscoped list."""
        for lst in self.contract.lists:
            if lst.collection.name == collection_name and not lst.scopes:
                return self.ids(lst, access)
        return []

    def scope_values(self, lst: ListDecl, param: str) -> list[str]:
        """Known values of a scope path parameter: given with ``--param``, or read from the top-level list."""
        values: list[str] = []
        if param in self.access.params:
            values.append(self.access.params[param])
        scope = next(s for s in lst.scopes if s.param == param)
        top = self.contract.top_list_for(lst.collection)
        if top is not None:
            for item in self.sample_items(top):
                value = scope.field.raw(item)
                if value is not None and str(value) not in values:
                    values.append(str(value))
        return values

    def scope_path(self, lst: ListDecl) -> dict[str, str] | None:
        """One known value for every scope parameter of a list, or ``None`` when one is unknown."""
        path = {}
        for scope in lst.scopes:
            values = self.scope_values(lst, scope.param)
            if not values:
                return None
            path[scope.param] = values[0]
        return path
