"""The ``paymock`` command: ``serve``, ``seed`` and ``routes`` (``check`` comes from :mod:`contracts`)."""

from __future__ import annotations

import multiprocessing
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mock_server.errors import MockServerError
from mock_server.seeding import SeedSettings, is_seeded, seed_api
from mock_server.spec import ApiSpec, available_apis, load_apis
from mock_server.store import Store

if TYPE_CHECKING:  # serving's modules are imported when serving (see mock_server/__init__.py)
    from mock_server.control.plane import ControlPlane
    from mock_server.handling import ApiRuntime

DEFAULT_DATA = ".paymock/paymock.sqlite3"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@dataclass(frozen=True, slots=True)
class Served:
    """What ``serve`` and ``seed`` prepared: documents, store and settings."""

    specs: list[ApiSpec]
    store: Store
    settings: SeedSettings


def _as_of(value: str | None, store: Store) -> int:
    if value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not an ISO 8601 date or date-time", param_hint="--as-of") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    stored = store.meta("as_of")
    if stored is not None:
        return int(stored)
    # The world is "now" when first generated, and keeps that date for as long as its data file lives.
    today = int(time.time())
    return today - today % 86_400


def prepare(
    apis: tuple[str, ...],
    data: str,
    seed: int,
    payments: int | None,
    tenants: int | None,
    as_of: str | None,
    quiet: bool = False,
    isolate: bool = False,
) -> Served:
    """Load the documents, open the store and seed whatever is missing or outdated.

    With ``isolate``, data is generated in a spawned child process (``serve`` does this so the
    serving processes never hold the generated world); callers of the library seed in-process.
    """
    specs = load_apis(list(apis) or None)
    store = Store(data)
    settings = SeedSettings(seed=seed, as_of=_as_of(as_of, store), payments=payments, tenants=tenants)
    with store.transaction() as db:
        store.set_meta(db, "as_of", str(settings.as_of))
    missing = [spec.name for spec in specs if not is_seeded(store, spec, settings)]
    if missing and isolate and not store.memory:
        # Generate in a child process: the serving processes never hold the generated world.
        store.close()
        child = multiprocessing.get_context("spawn").Process(target=_seed, args=(data, missing, settings, quiet))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise click.ClickException(f"generating the data failed (exit code {child.exitcode}); see above")
    elif missing:
        _seed_into(store, [s for s in specs if s.name in missing], settings, quiet)
    return Served(specs, store, settings)


def _seed(data: str, names: list[str], settings: SeedSettings, quiet: bool) -> None:
    _seed_into(Store(data), load_apis(names), settings, quiet)


def _seed_into(store: Store, specs: list[ApiSpec], settings: SeedSettings, quiet: bool) -> None:
    for spec in specs:
        started = time.perf_counter()
        if quiet:
            seed_api(store, spec, settings)
            continue
        with click.progressbar(
            length=settings.size(spec) * settings.tenant_count(spec), label=f"seeding {spec.name:<10}", file=sys.stderr
        ) as bar:
            seed_api(store, spec, settings, _ProgressBar(bar))
        click.echo(f"seeded {spec.name} in {time.perf_counter() - started:.1f}s", err=True)


class _ProgressBar:
    """Feeds seeding progress (absolute counts) to a click progress bar (which takes steps)."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.last = 0

    def __call__(self, api: str, done: int, total: int) -> None:
        self.bar.update(done - self.last)
        self.last = done


def build_runtimes(served: Served) -> dict[str, ApiRuntime]:
    """Bind every served API to the store."""
    from mock_server.handling import runtimes

    tenants = {s.name: served.settings.tenant_count(s) for s in served.specs}
    return runtimes(served.specs, served.store, served.settings.seed, tenants)


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


def control_plane(served: Served, rts: dict[str, ApiRuntime], faults: str | None, capacity: int) -> ControlPlane:
    """The server's fault rules and journal: emptied, then loaded from the faults file (checked whole)."""
    import yaml

    from mock_server.control.plane import ControlPlane
    from mock_server.control.rules import RuleError
    from mock_server.control.sqlite_state import SqliteControlState

    data = None
    if faults is not None:
        try:
            data = yaml.safe_load(Path(faults).read_text())
        except OSError as exc:
            raise click.BadParameter(f"cannot read {faults!r}: {exc.strerror}", param_hint="--faults") from None
        except yaml.YAMLError as exc:
            raise RuleError(faults, f"not valid YAML: {exc}") from None
    state = SqliteControlState(control_file(served.store.path), capacity)
    plane = ControlPlane(state, rts, served.settings.seed, journal=capacity > 0)
    if data is not None:
        # Checked before anything is stored: a bad file leaves the previous state alone.
        from mock_server.control.rules import compile_rules

        compile_rules(data, faults or "", plane.catalog, plane.seed)
    state.clear_rules()
    state.clear_requests()
    if data is not None:
        plane.add(data, faults or "")
    state.close()
    return plane


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
def serve(
    apis: tuple[str, ...],
    data: str,
    seed: int,
    payments: int | None,
    tenants: int | None,
    as_of: str | None,
    host: str,
    port: int,
    root: str | None,
    workers: int | None,
    threads: int,
    faults: str | None,
    journal_capacity: int,
    admin_token: str | None,
    allow_host: tuple[str, ...],
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
        served = prepare(apis, data, seed, payments, tenants, as_of, isolate=True)
        rts = build_runtimes(served)
        plane = control_plane(served, rts, faults, journal_capacity)
    except MockServerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(banner(rts, host, port, root))
    guard = Guard.of(allow_host, admin_token)
    run(served, rts, host=host, port=port, root=root, workers=workers, threads=threads, control=plane, guard=guard)


@main.command(context_settings=CONTEXT)
@_common
def seed(
    apis: tuple[str, ...],
    data: str,
    seed: int,
    payments: int | None,
    tenants: int | None,
    as_of: str | None,
) -> None:
    """Generate the data file without serving (a later 'serve' with the same options starts at once)."""
    if data == ":memory:":
        raise click.BadParameter("seeding a ':memory:' store keeps nothing; give a file", param_hint="--data")
    try:
        prepare(apis, data, seed, payments, tenants, as_of)
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
