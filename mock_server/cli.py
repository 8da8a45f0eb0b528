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
from mock_server.store import POSTGRESQL_SCHEMES, open_store

if TYPE_CHECKING:  # serving's modules are imported when serving (see mock_server/__init__.py)
    from mock_server.control.plane import ControlPlane
    from mock_server.control.state import ControlState
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
    fixtures: str | None = None,
) -> Sandbox:
    """Open a :class:`Sandbox` and seed whatever is missing or outdated (prefer ``Sandbox.open(...).seed()``).

    With ``isolate``, data is generated in a spawned child process (``serve`` does this so the
    serving processes never hold the generated world); without, in this process. With
    ``regenerate``, a data file's world of other options is generated anew even if it was changed.
    ``fixtures`` is a file of the user's own facts placed into the worlds.
    """
    try:
        sandbox = Sandbox.open(
            apis,
            store=data,
            seed=seed,
            payments=payments,
            tenants=tenants,
            as_of=as_of,
            regenerate=regenerate,
            fixtures=fixtures,
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
    try:
        Sandbox(load_apis(names), open_store(data), settings, regenerate).seed(None if quiet else _progress_bar)
    except MockServerError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


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
            "--store",
            envvar="PAYMOCK_STORE",
            metavar="URL",
            help="Where the state lives instead of --data: a postgresql://user@host:5432/db URL, which several "
            "'paymock serve' replicas share (env: PAYMOCK_STORE).",
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
        click.option(
            "--fixtures",
            type=click.Path(dir_okay=False),
            help="YAML (or .json) file of your own customers, subscriptions, invoices and payments to place in the"
            " worlds (see README: Your own data; default: the ones the data file was seeded with).",
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


def control_file(data: str) -> str:
    """Where the fault rules and journal live: next to the data file, in a file of their own.

    Not in the data file itself: SQLite drops every connection's page cache when another
    connection commits to its file, and the journal commits many times a second (bench/journal.py).
    """
    if data == ":memory:":
        return data
    path = Path(data)
    return str(path.with_name(f"{path.stem}.control{path.suffix or '.sqlite3'}"))


def control_plane(
    data: str,
    rts: dict[str, ApiRuntime],
    seed: int,
    faults: str | None,
    capacity: int,
    store: str | None = None,
) -> ControlPlane:
    """The server's fault rules and journal: emptied, then loaded from the faults file (checked whole).

    With a PostgreSQL ``store`` they live in its database, one state for every replica (starting a
    replica empties them for all), unless ``data`` is ``":memory:"`` (a process of its own, as the
    contract kit's child mock); otherwise in a SQLite file beside ``data`` (:func:`control_file`).
    """
    import yaml

    from mock_server.control.plane import ControlPlane
    from mock_server.control.rules import RuleError

    loaded = None
    if faults is not None:
        try:
            loaded = yaml.safe_load(Path(faults).read_text())
        except OSError as exc:
            raise click.BadParameter(f"cannot read {faults!r}: {exc.strerror}", param_hint="--faults") from None
        except yaml.YAMLError as exc:
            raise RuleError(faults, f"not valid YAML: {exc}") from None
    state: ControlState
    if store is not None and store.startswith(POSTGRESQL_SCHEMES) and data != ":memory:":
        from mock_server.store.postgresql.control import PostgreSQLControlState

        state = PostgreSQLControlState(store, capacity)
    else:
        state = _sqlite_control(data, capacity)
    plane = ControlPlane(state, rts, seed, journal=capacity > 0)
    if loaded is not None:
        # Checked before anything is stored: a bad file leaves the previous state alone.
        from mock_server.control.rules import compile_rules

        compile_rules(loaded, faults or "", plane.catalog, plane.seed)
    state.clear_rules()
    state.clear_requests()
    if loaded is not None:
        plane.add(loaded, faults or "")
    state.close()
    return plane


def _sqlite_control(data: str, capacity: int) -> ControlState:
    """The control state in a SQLite file beside ``data`` (its folder made if need be)."""
    from mock_server.store.sqlite.control import SqliteControlState

    path = control_file(data)
    if path != ":memory:":
        try:  # beside --data, whose folder a shared store (--store) never made
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            message = f"cannot create the folder of {path!r}: {exc.strerror}"
            raise click.BadParameter(message, param_hint="--data") from None
    return SqliteControlState(path, capacity)


def _loopback(host: str) -> bool:
    from mock_server.admin.guard import is_loopback_name

    return is_loopback_name(host)


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
@click.option(
    "--faults",
    type=click.Path(dir_okay=False),
    help="YAML file of fault rules to start with (see README: Breaking it on purpose).",
)
@click.option(
    "--journal-capacity",
    default=1000,
    show_default=True,
    type=click.IntRange(0, 1_000_000),
    help="Requests the journal keeps, oldest dropped first; 0 turns the journal off.",
)
@click.option(
    "--admin-token",
    envvar="PAYMOCK_ADMIN_TOKEN",
    help="Token the admin API (/__paymock/) requires; needed when --host is not loopback. [env: PAYMOCK_ADMIN_TOKEN]",
)
@click.option(
    "--allow-host",
    multiple=True,
    help="Host name accepted besides loopback ones (repeatable; '*' accepts any). Guards against DNS rebinding.",
)
@click.option(
    "--clock-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 31_536_000),
    help="Sandbox seconds every tenant's clock moves per real second (86400: a day a second; 0: still).",
)
def serve(
    apis: tuple[str, ...],
    data: str,
    store: str | None,
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
    faults: str | None,
    journal_capacity: int,
    admin_token: str | None,
    allow_host: tuple[str, ...],
    clock_rate: float,
    fixtures: str | None,
) -> None:
    """Serve the APIs (all five by default) through gunicorn."""
    from mock_server.admin.guard import Guard
    from mock_server.server import run

    if not _loopback(host) and not admin_token:
        raise click.BadParameter(
            f"{host!r} is reachable beyond this machine, and so would be the admin API (/__paymock/):"
            " give --admin-token <secret> (or PAYMOCK_ADMIN_TOKEN)",
            param_hint="--host",
        )
    if root is not None and apis and root not in apis:
        raise click.BadParameter(f"{root!r} is not among the APIs to serve: {', '.join(apis)}", param_hint="--root")
    if root is not None and not apis:
        apis = (root,)
    try:
        served = prepare(
            apis, store or data, seed, payments, tenants, as_of, isolate=True, regenerate=regenerate, fixtures=fixtures
        )
        rts = build_runtimes(served)
        # With a PostgreSQL --store, the fault rules and journal are its database's: one for every replica.
        plane = control_plane(data, rts, seed, faults, journal_capacity, store)
    except StoreError as exc:  # a store refused, or one that cannot be reached: one line, exit 2
        raise DataFileRefused(str(exc)) from None
    except MockServerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(banner(rts, host, port, root))
    guard = Guard.of(allow_host, admin_token)
    run(
        served,
        rts,
        host=host,
        port=port,
        root=root,
        workers=workers,
        threads=threads,
        control=plane,
        guard=guard,
        clock_rate=clock_rate,
    )


@main.command(context_settings=CONTEXT)
@_common
def seed(
    apis: tuple[str, ...],
    data: str,
    store: str | None,
    seed: int,
    payments: int | None,
    tenants: int | None,
    as_of: str | None,
    regenerate: bool,
    fixtures: str | None,
) -> None:
    """Generate the data file without serving (a later 'serve' with the same options starts at once)."""
    target = store or data
    if target == ":memory:":
        raise click.BadParameter("seeding a ':memory:' store keeps nothing; give a file", param_hint="--data")
    try:
        sandbox = prepare(apis, target, seed, payments, tenants, as_of, regenerate=regenerate, fixtures=fixtures)
    except StoreError as exc:
        raise DataFileRefused(str(exc)) from None
    except MockServerError as exc:
        raise click.ClickException(str(exc)) from None
    if store:
        click.echo(f"store ready: {sandbox.store.location}")
    else:
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
