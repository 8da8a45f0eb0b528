"""``paymock check``: check an implementation of an API against its document.

Exit status: 0 when every check passes, 1 when any fails, 2 on a usage error (an unknown API or
check name, a malformed option, an unreachable URL or refused credentials), 3 when nothing
failed but some check was not exercised (an operation never answered 2xx, so the checks of
successful answers saw nothing: give real IDs with ``--param``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Exit status of a run in which nothing failed but some check was not exercised.
NOT_EXERCISED = 3


class _UsageFailure(click.ClickException):
    """A problem with how the command was called: exit status 2."""

    exit_code = 2


def _split(values: Sequence[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _list_checks() -> None:
    from contracts.registry import CHECKS
    from contracts.suite import check_names

    for name in check_names():
        check = CHECKS.get(name)
        writes = " (changes state)" if check.writes else ""
        click.echo(f"{name:<32} {check.level:<7} {check.summary}{writes}")


@click.command(context_settings=CONTEXT)
@click.argument("api", required=False)
@click.option("--url", metavar="BASE_URL", help="Base URL of the implementation, e.g. http://127.0.0.1:8080/zuora.")
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Header sent with every request (credentials, tenant selectors); repeatable.",
)
@click.option("--client-id", help="OAuth client ID, exchanged for a token at the document's token operation.")
@click.option("--client-secret", help="OAuth client secret (with --client-id).")
@click.option(
    "--credentials",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON file of tenants shaped like paymock's /__paymock/credentials "
    "(a second tenant enables tenant_isolation).",
)
@click.option("--tenant", help="Act as this known tenant (its name, or a number from 1).")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A known value of a path parameter the kit cannot discover (e.g. invoice_id); repeatable.",
)
@click.option(
    "--max-examples",
    type=click.IntRange(1, 100_000),
    default=25,
    show_default=True,
    help="Generated requests per operation and mode; promises draw a fifth as many.",
)
@click.option("--seed", type=int, help="Seed of the run; a failing run repeats exactly with the same seed.")
@click.option(
    "--checks", "checks", multiple=True, metavar="NAMES", help="Only these checks (comma-separated or repeated)."
)
@click.option(
    "--exclude-checks", multiple=True, metavar="NAMES", help="Leave these checks out (comma-separated or repeated)."
)
@click.option(
    "--allow-writes/--no-writes",
    default=None,
    help="Whether state may be changed (mark-paid, cancel). "
    "Default: only against paymock's own mock, which is reset afterwards.",
)
@click.option("--junit-xml", type=click.Path(dir_okay=False), help="Write JUnit XML here.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write a readable report here.")
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=30.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@click.option(
    "--max-pages",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="Most pages one list walk follows.",
)
@click.option("--no-reset", is_flag=True, help="Do not reset paymock's sandbox after writing to it.")
@click.option("--list-checks", is_flag=True, help="List every check with what it promises, and exit.")
def check(
    api: str | None,
    url: str | None,
    headers: tuple[str, ...],
    client_id: str | None,
    client_secret: str | None,
    credentials: str | None,
    tenant: str | None,
    params: tuple[str, ...],
    max_examples: int,
    seed: int | None,
    checks: tuple[str, ...],
    exclude_checks: tuple[str, ...],
    allow_writes: bool | None,
    junit_xml: str | None,
    report_path: str | None,
    timeout: float,
    max_pages: int,
    no_reset: bool,
    list_checks: bool,
) -> None:
    """Check an implementation of API (a bundled name or a document path) at --url against its document.

    Against paymock's own mock the sandbox credentials are found by themselves:

        paymock check zuora --url http://127.0.0.1:8080/zuora

    Against a vendor's sandbox, pass credentials:

        paymock check flexportal --url https://sandbox.example \
            --header 'Authorization: Bearer fp_test_...' --header 'Tenant-ID: acme'
    """
    if list_checks:
        _list_checks()
        return
    if api is None or url is None:
        raise click.UsageError("give an API and --url, e.g. paymock check zuora --url http://127.0.0.1:8080/zuora")
    from contracts.errors import ContractError
    from contracts.progress import for_stream
    from contracts.report import write_junit, write_report
    from contracts.suite import CheckOptions, check_api

    options = CheckOptions(
        headers=headers,
        client_id=client_id,
        client_secret=client_secret,
        credentials=credentials,
        tenant=tenant,
        params=params,
        max_examples=max_examples,
        seed=seed,
        checks=_split(checks),
        exclude_checks=_split(exclude_checks),
        allow_writes=allow_writes,
        timeout=timeout,
        max_pages=max_pages,
        reset=not no_reset,
    )
    try:
        report = check_api(api, url, options, progress=for_stream(api, sys.stdout))
    except ContractError as exc:
        raise _UsageFailure(str(exc)) from None
    for failure in report.failures:
        click.echo("\n" + failure.render())
    for outcome in report.outcomes:
        if outcome.status == "error":
            click.echo(f"\nERROR {outcome.check} on {outcome.operation}: {outcome.reason}")
    for note in report.notes:
        click.echo(f"note: {note}")
    if junit_xml:
        write_junit([report], junit_xml)
    if report_path:
        write_report([report], report_path)
    click.echo(report.summary())
    if report.broken:
        click.echo(f"failed: {', '.join(report.failed_checks())}; repeat exactly with --seed {report.seed}")
        sys.exit(1)
    if not report.ok:
        click.echo(
            f"not exercised: {'; '.join(report.unexercised_checks())} "
            "(no successful answer to check: give real IDs with --param NAME=VALUE)"
        )
        sys.exit(NOT_EXERCISED)
