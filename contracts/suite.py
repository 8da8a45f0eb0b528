"""One run of the kit against one API: credentials, schema-level checks, promises, report.

Order matters where state changes: everything that only reads runs first (schema level, then
the read-only promises), then the operations that write, then the promises that write. Against
paymock's own mock, the sandbox is reset at the end; against any other URL nothing is written
unless writes are allowed explicitly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from contracts.client import Client
from contracts.credentials import (
    Access,
    MockInfo,
    authenticate,
    choose,
    find_mock,
    override,
    parse_header,
    parse_param,
    read_credentials_file,
)
from contracts.declarations import ApiContract, load_contract
from contracts.errors import ContractError, TargetError
from contracts.progress import Progress, Silent
from contracts.promises.context import Options, PromiseContext
from contracts.registry import CHECKS
from contracts.report import Outcome, Report


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """Options of a run; the command line maps one to one onto these.

    Attributes:
        headers: ``'Name: value'`` headers sent with every request (credentials, selectors, extras).
        client_id: OAuth client ID, exchanged for a token at the document's token operation.
        client_secret: OAuth client secret.
        credentials: A JSON file of tenants, shaped like ``/__paymock/credentials``.
        tenant: Which known tenant to act as (label or 1-based number).
        params: ``'name=value'``: known values of path parameters the kit cannot discover.
        max_examples: Generated requests per operation and mode (promises draw a fifth as many).
        seed: Seed of the run (random when ``None``; the report prints it).
        checks: Check names to run (all when empty).
        exclude_checks: Check names to leave out.
        allow_writes: Whether state may be changed; ``None``: only on paymock's own mock.
        timeout: Seconds to wait for each answer.
        max_pages: Most pages one walk follows.
        reset: Reset paymock's sandbox after a run that wrote to it.
    """

    headers: Sequence[str] = ()
    client_id: str | None = None
    client_secret: str | None = None
    credentials: str | Path | None = None
    tenant: str | None = None
    params: Sequence[str] = ()
    max_examples: int = 25
    seed: int | None = None
    checks: Sequence[str] = ()
    exclude_checks: Sequence[str] = ()
    allow_writes: bool | None = None
    timeout: float = 30.0
    max_pages: int = 100
    reset: bool = True


@dataclass(slots=True)
class _Target:
    contract: ApiContract
    client: Client
    mock: MockInfo | None
    access: Access
    other: Access | None
    notes: list[str] = field(default_factory=list)


def _load_checks() -> list[str]:
    # Importing registers the checks; the run order is schema level first, then RUN_ORDER.
    import contracts.runner  # noqa: F401
    from contracts.promises import RUN_ORDER

    schema = [n for n in CHECKS.names() if CHECKS.get(n).level == "schema"]
    rest = [n for n in CHECKS.names() if n not in schema and n not in RUN_ORDER]
    return [*schema, *RUN_ORDER, *rest]


def check_names() -> list[str]:
    """Every check name, in run order."""
    return _load_checks()


def _target(api: str | Path, url: str, options: CheckOptions, session: requests.Session) -> _Target:
    contract = load_contract(api)
    headers = [parse_header(h) for h in options.headers]
    params = [parse_param(p) for p in options.params]
    mock = find_mock(url, contract.name, session, timeout=min(5.0, options.timeout))
    known = (
        read_credentials_file(options.credentials, contract.name)
        if options.credentials
        else mock.tenants
        if mock
        else ()
    )
    primary, other = choose(known, options.tenant)
    primary = override(primary, contract, headers, options.client_id, options.client_secret, params)
    if primary is None:
        raise TargetError(
            f"no credentials for {contract.name} at {url}: pass --header 'Name: value' "
            "(or --client-id/--client-secret where the API has a token endpoint), or --credentials FILE"
        )
    # paymock's sandbox keys are public; anyone else's are masked in curl lines.
    redact = () if mock is not None else (*contract.auth_headers, "Authorization")
    client = Client(url, timeout=options.timeout, redact=redact, session=session)
    access = authenticate(contract, client, primary)
    notes = []
    other_access = None
    if other is not None:
        try:
            other_access = authenticate(contract, client, other)
        except ContractError as exc:
            notes.append(f"the second tenant {other.label!r} could not sign in ({exc}); tenant_isolation is skipped")
    return _Target(contract, client, mock, access, other_access, notes)


def check_api(
    api: str | Path, url: str, options: CheckOptions | None = None, progress: Progress | None = None
) -> Report:
    """Check one implementation of an API against its document.

    Args:
        api: A bundled API name (``zuora``) or the path of an ``x-paymock`` document.
        url: The implementation's base URL (``http://127.0.0.1:8080/zuora``).
        options: Credentials, effort, selection (defaults: see :class:`CheckOptions`).
        progress: Receives each check's start and end (default: silent).

    Returns:
        The report; ``report.ok`` says whether every check passed.

    Raises:
        UsageError: An unknown API or check name, or a malformed option.
        TargetError: The URL does not answer, or the credentials are refused.
    """
    options = options or CheckOptions()
    progress = progress or Silent()
    order = _load_checks()
    chosen = set(CHECKS.select(options.checks, options.exclude_checks))
    names = [n for n in order if n in chosen]
    started = time.perf_counter()
    with requests.Session() as session:
        target = _target(api, url, options, session)
        report = _run(target, url, names, options, progress)
    progress.close()
    report.seconds = time.perf_counter() - started
    return report


def _run(target: _Target, url: str, names: list[str], options: CheckOptions, progress: Progress) -> Report:
    allow_writes = options.allow_writes if options.allow_writes is not None else target.mock is not None
    run_seed = options.seed if options.seed is not None else random.randrange(1, 2**31)
    ctx = PromiseContext(
        target.contract,
        target.client,
        target.access,
        target.other,
        Options(options.max_examples, run_seed, options.max_pages, allow_writes),
        progress,
    )
    report = Report(target.contract.name, url, run_seed, notes=target.notes)
    schema_names = [n for n in names if CHECKS.get(n).level == "schema"]
    promises = [CHECKS.get(n) for n in names if CHECKS.get(n).level == "promise"]
    runner = None
    if schema_names:
        from contracts.runner import SchemaRunner

        runner = SchemaRunner(ctx, schema_names)
        runner.run_reads()
    for check in [c for c in promises if not c.writes]:
        ctx.check = check.name
        assert check.run is not None
        check.run(ctx)
    if runner is not None:
        runner.run_writes()
    for check in [c for c in promises if c.writes]:
        if not allow_writes:
            outcome = Outcome(check.name, "*", "skipped", reason="changes state: run with --allow-writes to include it")
            ctx.outcomes.append(outcome)
            progress.finish(outcome)
            continue
        ctx.check = check.name
        assert check.run is not None
        check.run(ctx)
    report.outcomes = ctx.outcomes
    report.requests = target.client.sent + (runner.sent if runner is not None else 0)
    if not allow_writes and target.contract.transitions:
        report.notes.append("state-changing checks were skipped: run with --allow-writes to include them")
    if target.mock is not None and options.reset and allow_writes and target.contract.transitions:
        try:
            target.client.session.post(f"{target.mock.root}/__paymock/reset", timeout=options.timeout)
            report.notes.append(f"paymock's sandbox at {target.mock.root} was reset to its seeded state")
        except requests.RequestException as exc:
            report.notes.append(f"could not reset paymock's sandbox: {exc}")
    return report
