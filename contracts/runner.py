"""Schema-level checks, run by schemathesis over generated requests.

For every operation: schemathesis' coverage cases (boundaries, wrong types, bad enums, missing
required parameters, malformed bodies), then hypothesis-generated positive and negative
requests, each answer validated by schemathesis' own checks. Every request carries the
tenant's credentials and selectors, except where a case is about that very parameter. When a
check fails during generation, hypothesis shrinks the request before it is reported. Finally the
OpenAPI links the document declares are followed from a real answer.
"""

from __future__ import annotations

import copy
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from contracts.client import curl
from contracts.declarations import Operation
from contracts.errors import TargetError
from contracts.known import known_path_values, value_sets
from contracts.links import LINKS, SUMMARY, follow_links, links_of
from contracts.registry import CHECKS, Check
from contracts.report import Failure, Outcome

if TYPE_CHECKING:
    from schemathesis import APIOperation, Case, Response
    from schemathesis.checks import CheckFunction
    from schemathesis.specs.openapi.schemas import OpenApiSchema

    from contracts.promises.context import PromiseContext

    ApiOp = APIOperation[Any, Any, Any, Any]
    AnyCase = Case[Any]

#: Schema-level checks: schemathesis' own, by their schemathesis names.
SCHEMA_CHECKS: dict[str, tuple[str, str]] = {
    "not_a_server_error": ("Every request gets an answer, and none is a 5xx.", "an answer below 500"),
    "status_code_conformance": (
        "Every status code is documented for its operation.",
        "a status code the operation documents",
    ),
    "content_type_conformance": ("Every Content-Type is documented for its answer.", "a documented Content-Type"),
    "response_schema_conformance": (
        "Every body matches its documented schema (types, required fields, enums, formats).",
        "a body that matches the documented schema",
    ),
    "response_headers_conformance": (
        "Documented response headers are present when required and match their schemas.",
        "documented headers that match their schemas",
    ),
    "negative_data_rejection": (
        "Invalid input (wrong types, out-of-range limits, bad enums, malformed IDs and cursors) is refused with a 4xx.",
        "a 4xx refusing the invalid input",
    ),
    "missing_required_header": ("A request missing a required header is refused with a 4xx.", "a 4xx"),
    "ignored_auth": ("A request without credentials, or with invalid ones, is refused (401/403).", "401 or 403"),
}

for _name, (_summary, _) in SCHEMA_CHECKS.items():
    CHECKS.add(_name, Check(_name, "schema", _summary))
CHECKS.add(LINKS, Check(LINKS, "schema", SUMMARY))

#: Checks that judge successful answers: on an operation that never answered 2xx they saw
#: nothing, and report "not exercised" instead of passing.
NEEDS_SUCCESS = frozenset(
    {"response_schema_conformance", "response_headers_conformance", "content_type_conformance", "ignored_auth"}
)

#: Requests hypothesis may spend shrinking one failure, beyond the generated examples.
SHRINK_BUDGET = 120
#: Successful answers per operation on which ignored_auth re-sends the request without credentials.
AUTH_PROBES = 3


class _Found(Exception):
    """A targeted check failed: lets hypothesis shrink the request."""


@dataclass(slots=True)
class OperationResult:
    """What the checks found on one operation: first failure per check, negatives sent, skips, 2xx answers."""

    failures: dict[str, Failure] = field(default_factory=dict)
    negatives: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    successes: int = 0


class SchemaRunner:
    """Runs the selected schema-level checks on every operation.

    Args:
        ctx: The run's shared context (HTTP session, credentials, options, progress).
        names: The schema-level check names to run.
    """

    def __init__(self, ctx: PromiseContext, names: list[str]) -> None:
        import schemathesis
        from schemathesis.checks import CHECKS as ST_CHECKS
        from schemathesis.checks import load_all_checks

        load_all_checks()
        self.ctx = ctx
        self.names = names
        self.functions: dict[str, CheckFunction] = {}
        for name in names:
            function = ST_CHECKS.get_one(name) if name in SCHEMA_CHECKS else None
            if callable(function) and not isinstance(function, type):
                self.functions[name] = function
        self.schema: OpenApiSchema = schemathesis.openapi.from_dict(
            copy.deepcopy(dict(ctx.contract.spec.document)), config=schemathesis.Config()
        )
        self.base = ctx.client.base_url
        self.sent = 0
        self._auth_probes: dict[str, int] = {}

    # -- the run -------------------------------------------------------------------------

    def _pairs(self) -> Iterator[tuple[ApiOp, Operation]]:
        by_key = {(op.method, op.path): op for op in self.ctx.contract.operations}
        from schemathesis.core.result import Ok

        for result in self.schema.get_all_operations():
            if not isinstance(result, Ok):
                continue
            api_op = result.ok()
            op = by_key.get((api_op.method.upper(), api_op.path))
            if op is not None:
                yield api_op, op

    def run_reads(self) -> None:
        """Check every operation that changes nothing (outcomes go to the context)."""
        for api_op, op in self._pairs():
            if not self.writes(op):
                self._operation(api_op, op)

    def run_writes(self) -> None:
        """Check the operations that change state, then follow the document's links."""
        linked = False
        for api_op, op in self._pairs():
            if self.writes(op):
                self._operation(api_op, op)
        for api_op, op in self._pairs():
            if LINKS in self.names and links_of(self.ctx.contract, op):
                linked = True
                self._emit(follow_links(self, api_op, op))
        if LINKS in self.names and not linked:
            self._emit(Outcome(LINKS, "*", "skipped", reason="the document declares no OpenAPI links"))

    def _emit(self, outcome: Outcome) -> None:
        self.ctx.outcomes.append(outcome)
        self.ctx.progress.finish(outcome)

    def _operation(self, api_op: ApiOp, op: Operation) -> None:
        names = [n for n in self.names if n in SCHEMA_CHECKS]
        if not names:
            return
        started = time.perf_counter()
        self.ctx.progress.start("schema checks", op.label)
        result = OperationResult()
        crash = ""
        if self.writes(op) and not self.ctx.options.allow_writes:
            result.skipped = dict.fromkeys(names, "changes state: run with --allow-writes to include it")
        else:
            try:
                self._check_operation(api_op, op, result)
            except TargetError as exc:
                result.failures.setdefault(
                    "not_a_server_error",
                    Failure(
                        "not_a_server_error", op.label, "the implementation stopped answering", "an answer", str(exc)
                    ),
                )
            except Exception as exc:  # a bug in the kit must be visible, not blamed on the implementation
                crash = f"the contract kit crashed: {type(exc).__name__}: {exc}"
        seconds = (time.perf_counter() - started) / len(names)
        for name in names:
            if crash and name not in result.failures:
                outcome = Outcome(name, op.label, "error", reason=crash, seconds=seconds)
            elif name in result.failures:
                outcome = Outcome(name, op.label, "failed", [result.failures[name]], seconds=seconds)
            elif name in result.skipped:
                outcome = Outcome(name, op.label, "skipped", reason=result.skipped[name], seconds=seconds)
            elif name in NEEDS_SUCCESS and not result.successes:
                outcome = Outcome(name, op.label, "unexercised", reason=self._unexercised(op), seconds=seconds)
            else:
                outcome = Outcome(name, op.label, seconds=seconds)
            self._emit(outcome)

    def _unexercised(self, op: Operation) -> str:
        unknown = [n for n in op.path_parameters() if n in op.roles and n not in self.ctx.access.params]
        hint = f" (a real {unknown[0]} can be given with --param {unknown[0]}=VALUE)" if unknown else ""
        return f"no request got a 2xx answer, so no successful answer was checked{hint}"

    def _check_operation(self, api_op: ApiOp, op: Operation, result: OperationResult) -> None:
        self._applicability(op, result)
        for case in self._coverage(api_op, op):
            for name, failure in self.exercise(case, op, result).items():
                if name not in result.failures:
                    result.failures[name] = self._minimize(case, op, name) or failure
        for case in self._real(api_op, op):
            for name, failure in self.exercise(case, op, result).items():
                result.failures.setdefault(name, failure)
        from schemathesis import GenerationMode

        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            self._fuzz(api_op, op, mode, result)
        if not result.negatives:
            for n in ("negative_data_rejection", "missing_required_header"):
                result.skipped.setdefault(n, "no invalid input can be expressed for this operation")

    def _applicability(self, op: Operation, result: OperationResult) -> None:
        if not op.secured:
            result.skipped["ignored_auth"] = "the operation is public"
        required = [p for p in op.parameters.values() if p.get("in") == "header" and p.get("required")]
        if not required:
            result.skipped["missing_required_header"] = "the operation has no required header"
        if not any(answer.get("headers") for answer in self.ctx.contract.responses(op).values()):
            result.skipped["response_headers_conformance"] = "no answer of this operation documents headers"

    @staticmethod
    def writes(op: Operation) -> bool:
        """Whether ``op`` changes state (a documented transition)."""
        return op.changes_state

    # -- requests ------------------------------------------------------------------------

    def fixed(self, op: Operation) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and path parameters every request to ``op`` carries: credentials and tenant selectors."""
        access = self.ctx.access
        return access.headers_for(op), access.path_for(op)

    def _coverage(self, api_op: ApiOp, op: Operation) -> Iterator[AnyCase]:
        from schemathesis import GenerationMode
        from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario

        headers, path = self.fixed(op)
        known = {name: value for values in reversed(self.known_path_values(op)) for name, value in values.items()}
        config = self.schema.config.generation_for(operation=api_op, phase="coverage")
        cases = self.schema.iter_coverage_cases(
            api_op, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], generation_config=config
        )
        for case in cases:
            data = case.meta.phase.data if case.meta is not None else None
            target: tuple[str, str] | None = None
            if isinstance(data, CoveragePhaseData):
                if data.scenario == CoverageScenario.UNSPECIFIED_HTTP_METHOD:
                    continue  # only the (unselected) unsupported_method check judges these
                if data.scenario == CoverageScenario.OBJECT_UNEXPECTED_PROPERTIES and data.location != "body":
                    continue  # an unknown query parameter or header is ignored by most APIs; no document forbids it
                if data.parameter is not None:
                    location = data.parameter_location.value if data.parameter_location is not None else data.location
                    target = (str(location or ""), data.parameter.lower())
            for name, value in headers.items():
                if target != ("header", name.lower()):
                    case.headers[name] = value
            positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
            # A valid case is about its query and headers: with real IDs it also shows real records.
            for name, value in {**path, **(known if positive else {})}.items():
                if target != ("path", name.lower()):
                    case.path_parameters[name] = value
            if isinstance(data, CoveragePhaseData) and data.scenario == CoverageScenario.MISSING_PARAMETER and target:
                self._otherwise_valid(case, op, target)
            case._record_starting_state()
            yield case

    def _otherwise_valid(self, case: AnyCase, op: Operation, target: tuple[str, str]) -> None:
        """Make a missing-parameter case valid in every other respect, so only the missing one can be refused.

        Coverage fills the other parameters with placeholder values (an unknown cursor, a random ID)
        that an implementation refuses for their own sake, which would hide whether it noticed the
        missing one.
        """
        required = {n.lower() for n, p in op.parameters.items() if p.get("in") == "query" and p.get("required")}
        case.query = {k: v for k, v in (case.query or {}).items() if k.lower() in required}
        known = self.known_path_values(op)
        for values in known[:1]:
            for name, value in values.items():
                if target != ("path", name.lower()):
                    case.path_parameters[name] = value

    def exercise(
        self, case: AnyCase, op: Operation, result: OperationResult, only: str | None = None
    ) -> dict[str, Failure]:
        """Send one case and validate the answer (with every check, or ``only`` one); failures by check name."""
        from schemathesis import GenerationMode
        from schemathesis.core.failures import FailureGroup

        if case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE:
            result.negatives += 1
        try:
            response = case.call(base_url=self.base, session=self.ctx.client.session, timeout=self.ctx.client.timeout)
        except requests.RequestException as exc:
            self.sent += 1
            return (
                {
                    "not_a_server_error": Failure(
                        "not_a_server_error",
                        op.label,
                        "the request got no answer",
                        "an answer",
                        f"{type(exc).__name__}: {exc}",
                        curl(
                            case.method,
                            self.base + case.formatted_path,
                            dict(case.headers or {}),
                            redact=self.ctx.client.redact,
                        ),
                    )
                }
                if "not_a_server_error" in self.functions
                else {}
            )
        self.sent += 1
        if 200 <= response.status_code < 300:
            result.successes += 1
        functions = dict(self.functions)
        if only is not None:
            functions = {only: functions[only]}
        else:
            probes = self._auth_probes.get(op.label, 0)
            if "ignored_auth" in functions and (probes >= AUTH_PROBES or not op.secured):
                functions.pop("ignored_auth")
            elif "ignored_auth" in functions and 200 <= response.status_code < 300:
                self._auth_probes[op.label] = probes + 1
        checks = [f for n, f in functions.items() if n not in result.skipped]
        headers = self.fixed(op)[0]
        kwargs: dict[str, Any] = {"base_url": self.base, "session": self.ctx.client.session}
        try:
            case.validate_response(response, checks=checks, headers=headers, transport_kwargs=kwargs)
        except FailureGroup:
            return self._attribute(case, response, op, checks, headers, kwargs)
        return {}

    def _minimize(self, case: AnyCase, op: Operation, name: str) -> Failure | None:
        """Drop query parameters and generated headers one at a time while check ``name`` still fails."""
        from requests.structures import CaseInsensitiveDict

        fixed = {h.lower() for h in self.fixed(op)[0]}
        best, failure = case, None
        for key in list(best.query or {}):
            trial = best.derive(query={k: v for k, v in best.query.items() if k != key})
            found = self.exercise(trial, op, OperationResult(), only=name)
            if name in found:
                best, failure = trial, found[name]
        for key in list(best.headers or {}):
            if key.lower() in fixed:
                continue
            headers = CaseInsensitiveDict({k: v for k, v in best.headers.items() if k != key})
            trial = best.derive(headers=headers)
            found = self.exercise(trial, op, OperationResult(), only=name)
            if name in found:
                best, failure = trial, found[name]
        return failure

    def _attribute(
        self,
        case: AnyCase,
        response: Response,
        op: Operation,
        checks: list[CheckFunction],
        headers: dict[str, str],
        kwargs: dict[str, Any],
    ) -> dict[str, Failure]:
        """Re-validate check by check, to know which check each failure belongs to."""
        from schemathesis.core.failures import FailureGroup

        found: dict[str, Failure] = {}
        for check in checks:
            try:
                case.validate_response(response, checks=[check], headers=headers, transport_kwargs=kwargs)
            except FailureGroup as group:
                name = check.__name__
                first = group.exceptions[0]
                found[name] = self.failure(name, op, response, first.title, str(first.message))
        return found

    def failure(self, name: str, op: Operation, response: Response, title: str, message: str) -> Failure:
        """A report failure from a schemathesis one, with the request as a curl line."""
        request = response.request
        body = request.body if isinstance(request.body, bytes | str) else None
        text = response.content.decode("utf-8", "replace") if response.content else ""
        got = f"{response.status_code} {text[:300]}{'...' if len(text) > 300 else ''}".strip()
        return Failure(
            check=name,
            operation=op.label,
            message=title,
            expected=SCHEMA_CHECKS.get(name, ("", "the documented behaviour"))[1],
            got=got,
            curl=curl(
                str(request.method), str(request.url), dict(request.headers), body, redact=self.ctx.client.redact
            ),
            details=tuple(line for line in message.splitlines() if line.strip())[:12],
        )

    # -- generated requests --------------------------------------------------------------

    def _strategy(self, api_op: ApiOp, op: Operation, mode: Any) -> st.SearchStrategy[AnyCase]:
        from schemathesis import GenerationMode

        headers, path = self.fixed(op)
        base = api_op.as_strategy(generation_mode=mode, headers=headers, path_parameters=path)
        if mode != GenerationMode.POSITIVE:
            return base
        # Known IDs make real records appear, so their answers are validated too.
        known = self.known_path_values(op)
        variants = [
            api_op.as_strategy(generation_mode=mode, headers=headers, path_parameters={**path, **v}) for v in known
        ]
        return st.one_of(base, *variants) if variants else base

    def _real(self, api_op: ApiOp, op: Operation) -> Iterator[AnyCase]:
        """Valid requests with real values: known IDs, and the real client at a token operation."""
        headers, path = self.fixed(op)
        sets = value_sets(self.known_path_values(op))
        token = self.ctx.contract.token
        if token is not None and token.op is op and self.ctx.access.token_request is not None:
            yield self.schema.make_case(
                operation=api_op, headers=headers, body=dict(self.ctx.access.token_request), media_type=token.media_type
            )
            return
        # A transition that requires a body takes an empty one (every field of it optional).
        body: dict[str, Any] = {"body": {}, "media_type": "application/json"} if op.body_required else {}
        for values in sets:
            yield self.schema.make_case(operation=api_op, path_parameters={**path, **values}, headers=headers, **body)

    def known_path_values(self, op: Operation) -> list[dict[str, str]]:
        """Path parameter values that name real records (see :func:`contracts.known.known_path_values`)."""
        return known_path_values(self.ctx, op)

    def _fuzz(self, api_op: ApiOp, op: Operation, mode: Any, result: OperationResult) -> None:
        """Generate requests; when one fails a check, let hypothesis shrink it, then look for the next check."""
        strategy = self._strategy(api_op, op, mode)
        budget = self.ctx.options.max_examples + SHRINK_BUDGET
        for round_ in range(len(self.functions)):
            remaining = [n for n in self.functions if n not in result.failures and n not in result.skipped]
            if not remaining:
                return
            state: dict[str, Any] = {"target": None, "best": None, "calls": 0}
            test = self._round(op, result, remaining, state, budget)
            run: Callable[[], None] = settings(
                max_examples=self.ctx.options.max_examples,
                deadline=None,
                database=None,
                derandomize=False,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
                report_multiple_bugs=False,
                print_blob=False,
            )(seed(self._seed(op, str(mode), str(round_)))(given(strategy)(test)))
            try:
                run()
            except (_Found, HypothesisException):
                pass  # a shrunk failure, nothing left to generate, or a failure that did not repeat: see `state`
            except BaseExceptionGroup as group:
                _, rest = group.split(_Found)
                if rest is not None:
                    raise rest from None
            if state["best"] is None:
                return
            result.failures.setdefault(state["target"], state["best"])

    def _round(
        self, op: Operation, result: OperationResult, remaining: list[str], state: dict[str, Any], budget: int
    ) -> Callable[[AnyCase], None]:
        """The test of one round of generation: the first check to fail becomes the round's target.

        A closure without default arguments: hypothesis refuses to apply ``@given`` to a function
        with defaults (and, before issue 20, that refusal was swallowed: nothing was generated).
        """

        def test(case: AnyCase) -> None:
            state["calls"] += 1
            if state["calls"] > budget:
                return
            found = self.exercise(case, op, result)
            if state["target"] is None:
                hit = [n for n in remaining if n in found]
                if not hit:
                    return
                state["target"] = hit[0]
            if state["target"] in found:
                state["best"] = found[state["target"]]
                raise _Found

        return test

    def _seed(self, op: Operation, *parts: str) -> int:
        return zlib.crc32("|".join((str(self.ctx.options.seed), op.label, *parts)).encode())

    # -- links ---------------------------------------------------------------------------
