"""paymock embedded in a program: open a store, seed a world, build the app that serves it.

:class:`Sandbox` is what ``paymock serve``, the tests, the bench scripts and the contract kit's
in-process mock use::

    from mock_server import Sandbox

    sandbox = Sandbox.open(store=":memory:", payments=200, as_of="2026-11-01", fixtures="demo.yaml").seed()
    app = sandbox.app()          # a Flask (WSGI) app serving the APIs
    ...
    sandbox.reset()              # every record back to its seeded state

``store`` is anything :func:`~mock_server.store.open_store` takes: ``":memory:"``, a SQLite data
file's path, or a ``postgresql://`` URL. A store that already holds exactly the world asked for
is used as it is (a restart keeps every state change); a data file holding another is generated
anew, a shared database holding another is refused. ``fixtures`` (a YAML or JSON file of the
user's own facts, :mod:`mock_server.fixtures`) are part of the world, and a store keeps the ones
it was seeded with: opened again without ``fixtures``, it serves them still.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mock_server.fixtures import META_KEY, Fixtures, load_fixtures, read_fixtures
from mock_server.lifecycle.clock import SandboxClock
from mock_server.seeding import Progress, SeedSettings, check_world, is_seeded, seed_api, seed_missing
from mock_server.spec import ApiSpec, load_apis
from mock_server.store import BaseStore, Snapshot, open_store
from mock_server.tables import reset_tables

if TYPE_CHECKING:  # serving's modules are imported when serving (see mock_server/__init__.py)
    from flask import Flask

    from mock_server.handling import ApiRuntime


def parse_as_of(value: str | int | None, store: BaseStore) -> int:
    """Epoch seconds the world is "now" for: ``value`` (an ISO date or date-time, or epoch seconds), else the store's.

    A store keeps the date its world was first generated for; a new store's world is "now" today.

    Raises:
        ValueError: ``value`` is not an ISO 8601 date or date-time.
    """
    if isinstance(value, int):
        return value
    if value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 date or date-time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    stored = store.meta("as_of")
    if stored is not None:
        return int(stored)
    today = int(time.time())
    return today - today % 86_400


class Sandbox:
    """The loaded documents, their store and the settings of the world it holds.

    Build one with :meth:`open`. Attributes ``specs``, ``store`` and ``settings`` are public.
    """

    def __init__(
        self, specs: Sequence[ApiSpec], store: BaseStore, settings: SeedSettings, regenerate: bool = False
    ) -> None:
        self.specs = list(specs)
        self.store = store
        self.settings = settings
        self.regenerate = regenerate
        self._runtimes: dict[str, ApiRuntime] | None = None
        self._clock: SandboxClock | None = None

    @classmethod
    def open(
        cls,
        apis: Iterable[str] = (),
        *,
        store: str | Path | BaseStore = ":memory:",
        seed: int = 1,
        payments: int | None = None,
        tenants: int | None = None,
        as_of: str | int | None = None,
        regenerate: bool = False,
        fixtures: str | Path | Fixtures | None = None,
    ) -> Sandbox:
        """Load the documents of ``apis`` (all when empty) and open the store; nothing is seeded yet.

        Args:
            apis: Short names of the bundled APIs to serve.
            store: ``":memory:"``, a SQLite data file, a ``postgresql://`` URL, or an open store.
            seed: Seed of the generated world and its credentials.
            payments: Payments per tenant (``None``: each document's size).
            tenants: Tenants per API (``None``: each document's count).
            as_of: The date the world is "now" for (``None``: the store's, else today).
            regenerate: Generate anew a world of other options in a data file even though records
                of it were changed (without it, such a file is refused rather than lose them).
            fixtures: A fixture file (YAML, or JSON when named ``.json``) of facts of your own
                to place into the worlds (``None``: the ones the store was seeded with, if any).

        Raises:
            MockServerError: A document or the store cannot be opened, or the fixture file has a
                mistake (:class:`~mock_server.fixtures.FixtureError`).
            ValueError: ``as_of`` is not an ISO 8601 date.
        """
        specs = load_apis(list(apis) or None)
        opened = store if isinstance(store, BaseStore) else open_store(store)
        settings = SeedSettings(seed=seed, as_of=parse_as_of(as_of, opened), payments=payments, tenants=tenants)
        counts = {s.name: settings.tenant_count(s) for s in specs}
        if isinstance(fixtures, str | Path):
            fixtures = load_fixtures(fixtures, specs, counts, settings.as_of)
        elif fixtures is None and opened.meta(META_KEY):
            kept = opened.meta(META_KEY) or ""
            fixtures = read_fixtures(
                kept, f"the fixtures kept in {opened.location}", True, specs, counts, settings.as_of
            )
        settings = dataclasses.replace(settings, fixtures=fixtures)
        sandbox = cls(specs, opened, settings, regenerate)
        sandbox.missing()  # a store that must not be replaced is refused before anything is written to it
        if opened.meta("as_of") != str(settings.as_of):
            opened.set_meta({"as_of": str(settings.as_of)})
        if fixtures is not None and opened.meta(META_KEY) != fixtures.text:
            opened.set_meta({META_KEY: fixtures.text})
        return sandbox

    def missing(self) -> list[ApiSpec]:
        """The APIs whose world the store does not hold yet (or, in a data file, holds for other settings).

        Raises:
            StoreError: A shared store (PostgreSQL) holds another world of an API, or a data file
                holds another world with changed records (without ``regenerate``): it is refused,
                never overwritten.
        """
        for spec in self.specs:
            check_world(self.store, spec, self.settings, self.regenerate)
        return [spec for spec in self.specs if not is_seeded(self.store, spec, self.settings)]

    def seed(self, progress: Callable[[ApiSpec], Progress | None] | None = None) -> Sandbox:
        """Generate every missing world in this process; returns the sandbox.

        With a store shared by replicas, one replica seeds and the others wait for it.

        Args:
            progress: Given each API about to be seeded, a callback for its progress (or ``None``).
        """
        self.missing()  # refuses another world before waiting for anything
        seed_missing(self.store, self.specs, self.settings, progress, self.regenerate)
        return self

    def load_fixtures(self, text: str | bytes, name: str, as_json: bool) -> list[str]:
        """Check a fixture file's text and seed anew the worlds it changes; the names of those seeded.

        The whole file is checked before anything is written. An API whose fixture changed is
        generated again with it (its records, clocks and every snapshot start anew, as after a
        first seed); the others are left as they are. An empty file (``{}``) takes fixtures away.

        Raises:
            FixtureError: The file has a mistake (nothing was changed).
        """
        counts = self.tenant_counts()
        fixtures = read_fixtures(text, name, as_json, self.specs, counts, self.settings.as_of)
        before = self.settings
        self.settings = dataclasses.replace(before, fixtures=fixtures)
        self.store.set_meta({META_KEY: fixtures.text})
        changed = [s for s in self.specs if not is_seeded(self.store, s, self.settings)]
        for spec in changed:
            seed_api(self.store, spec, self.settings)
        return [s.name for s in changed]

    @property
    def tables(self) -> list[str]:
        """Every table a reset restores."""
        return reset_tables(self.specs)

    def tenant_counts(self) -> dict[str, int]:
        """Tenants per API."""
        return {s.name: self.settings.tenant_count(s) for s in self.specs}

    def runtimes(self) -> dict[str, ApiRuntime]:
        """Every API bound to the store (made once)."""
        if self._runtimes is None:
            from mock_server.handling import runtimes

            self._runtimes = runtimes(self.specs, self.store, self.settings.seed, self.tenant_counts())
        return self._runtimes

    def app(self, root: str | None = None) -> Flask:
        """A Flask app serving every API (under ``/<name>``, or ``root`` at ``/``) and ``/__paymock``."""
        from mock_server.admin.sandbox import register_sandbox_admin
        from mock_server.app import create_app

        app = create_app(self.runtimes(), root=root, on_reset=self.reset)
        register_sandbox_admin(app, self)
        return app

    @property
    def clock(self) -> SandboxClock:
        """Every tenant's sandbox clock (made once)."""
        if self._clock is None:
            self._clock = SandboxClock(
                self.specs, self.store, self.settings.seed, self.settings.as_of, self.tenant_counts()
            )
        return self._clock

    def reset(self) -> int:
        """Restore every record to its seeded state, every clock to the as-of moment; how many records were restored."""
        restored = self.store.reset(self.tables)
        self.clock.reset()
        return restored

    def save_snapshot(self, name: str) -> Snapshot:
        """Save the records changed since seeding and every clock under ``name`` (replacing one of that name)."""
        return self.store.save_snapshot(name, self.tables, self.clock.meta(), int(time.time()))

    def restore_snapshot(self, name: str) -> Snapshot | None:
        """Bring records and clocks back to snapshot ``name`` (``None``: there is none of that name)."""
        return self.store.restore_snapshot(name, self.tables)

    def close(self) -> None:
        """Let go of the store's connections of this process."""
        self.store.close()
