"""The ``paymock`` command: ``serve``, ``seed`` and ``routes`` (``check`` comes from :mod:`contracts`)."""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mock_server.errors import MockServerError, StoreError
from mock_server.sandbox import Sandbox
from mock_server.seeding import Progress, SeedSettings
from mock_server.spec import ApiSpec, available_apis, load_apis
from mock_server.store import open_store

if TYPE_CHECKING:  # serving's modules are imported when serving (see mock_server/__init__.py)
    from mock_server.handling import ApiRuntime

DEFAULT_DATA = ".paymock/paymock.sqlite3"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: What ``serve`` and ``seed`` prepared (the name it had before :class:`Sandbox`).
Served = Sandbox


class DataFileRefused(click.ClickException):
    """A store paymock will not use as it is: a usage error (exit status 2), in one line."""

    exit_code = 2


def prepare(
    apis: tuple[str, ...],
    data: str,
    seed: int,
    payments: int | None,
    tenants: int | None,
    as_of: str | None,
    quiet: bool = False,
    isolate: bool = False,
    regenerate: bool = False,
) -> Sandbox:
    """Open a :class:`Sandbox` and seed whatever is missing or outdated (prefer ``Sandbox.open(...).seed()``).

    With ``isolate``, data is generated in a spawned child process (``serve`` does this so the
    serving processes never hold the generated world); without, in this process. With
    ``regenerate``, a data file's world of other options is generated anew even if it was changed.
    """
    try:
        sandbox = Sandbox.open(
            apis, store=data, seed=seed, payments=payments, tenants=tenants, as_of=as_of, regenerate=regenerate
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    missing = [spec.name for spec in sandbox.missing()]
    if missing and isolate and not sandbox.store.features.private:
        # Generate in a child process: the serving processes never hold the generated world.
        sandbox.close()
        child = multiprocessing.get_context("spawn").Process(
            target=_seed, args=(data, missing, sandbox.settings, quiet, regenerate)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise click.ClickException(f"generating the data failed (exit code {child.exitcode}); see above")
    elif missing:
        sandbox.seed(None if quiet else _progress_bar)
    return sandbox


def _seed(data: str, names: list[str], settings: SeedSettings, quiet: bool, regenerate: bool) -> None:
    Sandbox(load_apis(names), open_store(data), settings, regenerate).seed(None if quiet else _progress_bar)


def _progress_bar(spec: ApiSpec) -> Progress:
    """A click progress bar on stderr for seeding one API, which reports the time when it is full."""
    return _ProgressBar(spec.name, time.perf_counter())


class _ProgressBar:
    """Feeds seeding progress (absolute counts) to a click progress bar (which takes steps)."""

    def __init__(self, api: str, started: float) -> None:
        self.api, self.started, self.last = api, started, 0
        self.bar: Any = None

    def __call__(self, api: str, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=f"seeding {api:<10}", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.last)
        self.last = done
        if done >= total:
            self.bar.__exit__(None, None, None)
            click.echo(f"seeded {api} in {time.perf_counter() - self.started:.1f}s", err=True)


def build_runtimes(served: Sandbox) -> dict[str, ApiRuntime]:
    """Bind every served API to the store (``served.runtimes()``)."""
    return served.runtimes()


def banner(rts: dict[str, ApiRuntime], host: str, port: int, root: str | None) -> str:
    """What ``serve`` prints: per API, its base URL and the sandbox credentials of its first tenant."""
    lines = [f"paymock on http://{host}:{port}  (admin: http://{host}:{port}/__paymock/credentials)"]
    for name, rt in rts.items():
        url = f"http://{host}:{port}" + ("" if name == root else f"/{name}")
        lines.append(f"  {name:<11} {url}")
        cred = rt.credentials()[0]
        shown = {
            k: v for k, v in cred.items() if k not in ("name", "api_key", "header", "value", "selectors", "params")
        }
        if "header" in cred:
            shown[cred["header"]] = cred["value"]
        shown.update(cred.get("selectors", {}))
        shown.update(cred.get("params", {}))
        lines.append("              " + "  ".join(f"{k}: {v}" for k, v in shown.items()))
    return "\n".join(lines)


def _common(f: Any) -> Any:
    options = [
        click.argument("apis", nargs=-1, type=click.Choice(available_apis())),
        click.option(
            "--data",
            default=DEFAULT_DATA,
            show_default=True,
            help="SQLite data file (':memory:' for a private, throwaway store).",
        ),
        click.option(
            "--seed",
            default=1,
            show_default=True,
            type=int,
            help="Random seed of the generated data and credentials.",
        ),
        click.option(
            "--payments",
            type=click.IntRange(1, 1_000_000),
            help="Payments per tenant (default: each document's size).",
        ),
        click.option(
            "--tenants",
            type=click.IntRange(1, 50),
            help="Tenants per API (default: each document's count).",
        ),
        click.option(
            "--as-of",
            help="ISO date the generated world is 'now' for (default: the data file's, else today).",
        ),
        click.option(
            "--regenerate",
            is_flag=True,
            help="Generate anew a world of other options even though the data file holds changes to it"
            " (they are discarded; without this flag such a file is refused).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


class _Commands(click.Group):
    """paymock's commands; the contract kit's ``check`` is imported only when it is asked for.

    It brings hypothesis and schemathesis along, ~0.4 s that every ``serve`` and ``seed`` start
    would otherwise pay (``python -X importtime``).
    """

    _LAZY = "check"

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, the lazy one included."""
        return sorted({*super().list_commands(ctx), self._LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing the contract kit's on first use."""
        if cmd_name == self._LAZY and cmd_name not in self.commands:
            try:
                from contracts.cli import check
            except ImportError:  # the contract kit is part of the package; this only guards partial installs
                return None
            self.add_command(check)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings=CONTEXT)
@click.version_option(package_name="paymock")
def main() -> None:
    """paymock: a stateful sandbox and contract-test kit for payment APIs."""


@main.command(context_settings=CONTEXT)
@_common
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to bind.")
@click.option("--root", help="Serve this one API at '/' (for clients whose base URL cannot carry a path).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes (default: one per core; 1 for ':memory:').",
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker.",
)
def serve(
    apis: tuple[str, ...],
    data: str,
    seed: int,
    payments: int | None,
    tenants: int | None,
    as_of: str | None,
    regenerate: bool,
    host: str,
    port: int,
    root: str | None,
    workers: int | None,
    threads: int,
) -> None:
    """Serve the APIs (all five by default) through gunicorn."""
    from mock_server.server import run

    if root is not None and apis and root not in apis:
        raise click.BadParameter(f"{root!r} is not among the APIs to serve: {', '.join(apis)}", param_hint="--root")
    if root is not None and not apis:
        apis = (root,)
    try:
        served = prepare(apis, data, seed, payments, tenants, as_of, isolate=True, regenerate=regenerate)
        rts = build_runtimes(served)
    except StoreError as exc:
        raise DataFileRefused(str(exc)) from None
    except MockServerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(banner(rts, host, port, root))
    run(served, rts, host=host, port=port, root=root, workers=workers, threads=threads)


@main.command(context_settings=CONTEXT)
@_common
def seed(
    apis: tuple[str, ...],
    data: str,
    seed: int,
    payments: int | None,
    tenants: int | None,
    as_of: str | None,
    regenerate: bool,
) -> None:
    """Generate the data file without serving (a later 'serve' with the same options starts at once)."""
    if data == ":memory:":
        raise click.BadParameter("seeding a ':memory:' store keeps nothing; give a file", param_hint="--data")
    try:
        prepare(apis, data, seed, payments, tenants, as_of, regenerate=regenerate)
    except StoreError as exc:
        raise DataFileRefused(str(exc)) from None
    except MockServerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"data file ready: {Path(data).resolve()}")


@main.command(context_settings=CONTEXT)
@click.argument("apis", nargs=-1, type=click.Choice(available_apis()))
def routes(apis: tuple[str, ...]) -> None:
    """List every operation of the APIs and the x-paymock action that answers it."""
    try:
        specs = load_apis(list(apis) or None)
    except MockServerError as exc:
        raise click.ClickException(str(exc)) from None
    for spec in specs:
        click.echo(f"{spec.name}  ({spec.title})")
        for op in spec.operations:
            action = type(op.action).__name__.removesuffix("Action").lower()
            auth = "" if op.secured else "  [no auth]"
            click.echo(f"  {op.method:<6} /{spec.name}{op.path:<60} {op.operation_id:<28} {action}{auth}")
