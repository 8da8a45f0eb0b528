"""Following the OpenAPI links a document declares, from real answers.

A link says how an answer of one operation feeds the next request (flexportal's ``MarkPaid``:
the ``paymentId`` of a fetched payment). The kit fetches a real record, evaluates each link's
runtime expressions with schemathesis, sends the linked request and validates its answer with the
schema-level checks. A link to an operation that changes state is followed only when writes are
allowed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from contracts.declarations import ApiContract, Operation
from contracts.report import Failure, Outcome

if TYPE_CHECKING:
    from contracts.runner import ApiOp, SchemaRunner

LINKS = "openapi_links"
SUMMARY = "Following the OpenAPI links the document declares leads to answers that conform to it."


def links_of(contract: ApiContract, op: Operation) -> dict[str, tuple[int, Mapping[str, Any]]]:
    """The links of an operation's answers: name -> (status of the answer, link object)."""
    out: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for status, answer in contract.responses(op).items():
        for name, link in (answer.get("links") or {}).items():
            if str(status).isdigit():
                out[name] = (int(status), link)
    return out


def follow_links(runner: SchemaRunner, api_op: ApiOp, op: Operation) -> Outcome:
    """Follow every link of ``op`` once; the outcome of ``openapi_links`` on ``op``."""
    started = time.perf_counter()
    runner.ctx.progress.start(LINKS, op.label)
    outcome = Outcome(LINKS, op.label)
    try:
        _follow(runner, api_op, op, outcome)
    finally:
        outcome.seconds = time.perf_counter() - started
    return outcome


def _follow(runner: SchemaRunner, api_op: ApiOp, op: Operation, outcome: Outcome) -> None:
    from schemathesis.core.transforms import Unresolvable
    from schemathesis.generation.stateful.state_machine import StepOutput
    from schemathesis.specs.openapi.expressions import evaluate

    from contracts.runner import OperationResult

    ctx = runner.ctx

    headers, path = runner.fixed(op)
    known = runner.known_path_values(op)
    case = runner.schema.make_case(
        operation=api_op, path_parameters={**path, **(known[0] if known else {})}, headers=headers
    )
    response = case.call(base_url=runner.base, session=ctx.client.session, timeout=ctx.client.timeout)
    runner.sent += 1
    followed = 0
    for name, (status, link) in links_of(ctx.contract, op).items():
        if response.status_code != status:
            outcome.status, outcome.reason = "skipped", f"no {status} answer to follow link {name!r} from"
            continue
        target_id = link.get("operationId")
        target = next((o for o in ctx.contract.operations if o.spec.operation_id == target_id), None)
        if target is None:
            continue
        if runner.writes(target) and not ctx.options.allow_writes:
            outcome.status, outcome.reason = "skipped", f"link {name!r} leads to a write: run with --allow-writes"
            continue
        t_headers, t_path = runner.fixed(target)
        values: dict[str, dict[str, Any]] = {"path": dict(t_path), "query": {}, "header": dict(t_headers)}
        for param, expr in (link.get("parameters") or {}).items():
            where, _, pname = param.rpartition(".")
            value = evaluate(expr, StepOutput(response, case))
            location = where or str(target.parameters.get(pname, {}).get("in", "query"))
            if isinstance(value, Unresolvable) or value is None:
                outcome.status = "failed"
                outcome.failures.append(
                    runner.failure(LINKS, op, response, f"link {name!r}: {expr} resolves to nothing in the answer", "")
                )
                return
            values.setdefault(location, {})[pname] = value
        t_api_op = runner.schema.find_operation_by_id(str(target_id))
        t_case = runner.schema.make_case(
            operation=t_api_op, path_parameters=values["path"], query=values["query"], headers=values["header"]
        )
        found = runner.exercise(t_case, target, OperationResult())
        followed += 1
        if found:
            check, failure = next(iter(found.items()))
            outcome.status = "failed"
            outcome.failures.append(
                Failure(
                    LINKS,
                    op.label,
                    f"following link {name!r} to {target.label}: {failure.message} ({check})",
                    failure.expected,
                    failure.got,
                    failure.curl,
                    failure.details,
                )
            )
            return
    if followed:
        outcome.status, outcome.reason = "passed", f"{followed} link(s) followed"
