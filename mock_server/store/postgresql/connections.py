"""One process's connections to a PostgreSQL database: a pool per process, opened on first use.

The store and the control state each keep one (of their own size). A pool opened before
gunicorn forked must not be used by the child, so the pool is keyed by the process that opened
it; a lost database is a :class:`~mock_server.errors.StoreUnavailableError`, which the request
pipeline answers with the vendor's 503.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from mock_server.errors import StoreUnavailableError

#: Seconds to wait for a connection (new, or free in the pool) before answering 503.
CONNECT_TIMEOUT = 10


def cause(exc: BaseException) -> str:
    """The first line of a driver error: what went wrong, without a traceback."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Connections:
    """Autocommit connections of this process to one database, from a pool of ``size``.

    Args:
        url: A ``postgresql://`` connection URL.
        location: The URL without its password, for messages.
        size: The most connections this process keeps open.
    """

    def __init__(self, url: str, location: str, size: int) -> None:
        self.url, self.location, self.size = url, location, size
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        """This process's pool (a forked worker opens its own on first use)."""
        pid = os.getpid()
        if self._pool is None or self._pid != pid:
            with self._lock:
                if self._pool is None or self._pid != pid:
                    self._pool = ConnectionPool(
                        self.url,
                        min_size=1,
                        max_size=self.size,
                        timeout=CONNECT_TIMEOUT,
                        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                        open=True,
                    )
                    self._pid = pid
        return self._pool

    @contextmanager
    def reading(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in autocommit mode: each statement sees what every replica committed."""
        try:
            with self.pool().connection() as db:
                yield db
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailableError(f"lost PostgreSQL at {self.location}: {cause(exc)}") from None

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection inside one transaction (committed on leaving, rolled back on an exception)."""
        with self.reading() as db, db.transaction():
            yield db

    def close(self) -> None:
        """Close this process's pool (before a fork; a new one opens on next use)."""
        pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()
