"""One process's connections to a PostgreSQL database: a pool per process, opened on first use.

The store and the control state each keep one (of their own size). A pool opened before
gunicorn forked must not be used by the child, so the pool is keyed by the process that opened
it; a lost database is a :class:`~mock_server.errors.StoreUnavailableError`, which the request
pipeline answers with the vendor's 503.

A *companion* is a scalar one part of the process wants from the database (the fault rules'
generation) and another part's statement can return as one more column at almost no cost (a
store page read). It lives in a context variable for one request of one thread
(:meth:`Connections.accompanying`), so a value is never another request's: a request that made
no such statement reads the value itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import abc, errors, pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from mock_server import process
from mock_server.errors import StoreUnavailableError
from mock_server.store.postgresql.prepared import Prepared, new_name

#: Seconds to wait for a connection (new, or free in the pool) before answering 503.
CONNECT_TIMEOUT = 10
#: Statements one connection keeps prepared for :meth:`StoreConnection.first_row`; past it they are
#: deallocated and prepared again as they come (shapes are a few per document: rarely reached).
PREPARED_MAX = 256
#: SQLSTATE ``invalid_sql_statement_name``: a prepared statement of that name does not exist.
_NO_SUCH_STATEMENT = b"26000"


def cause(exc: BaseException) -> str:
    """The first line of a driver error: what went wrong, without a traceback."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass(slots=True)
class Companion:
    """A scalar wanted from one database, read by the next statement made there anyway.

    Attributes:
        url: The database's URL (a statement on another database does not read it).
        expression: A scalar SQL expression with no parameters (``(SELECT value FROM ...)``).
        value: What the last statement that read it gave.
        seen: Whether any statement read it yet.
    """

    url: str
    expression: str
    value: Any = None
    seen: bool = False

    def observe(self, value: Any) -> None:
        """Keep what a statement read (the latest statement's value is the freshest)."""
        self.value, self.seen = value, True


class StoreConnection(psycopg.Connection[Any]):
    """A pooled connection that keeps one cursor for the statements whose rows are read at once.

    :meth:`psycopg.Connection.execute` makes a cursor per statement, and making one (its
    adapters, its transformer) cost a fifth of a list page's Python on the client side (~30 of
    ~150 µs). The pool lends a connection to one thread at a time, so one kept cursor serves
    every statement whose rows are fetched before the next is run.
    """

    _kept: psycopg.Cursor[Any] | None = None
    _adapter: abc.Transformer | None = None
    #: This connection's name for each kept statement, by the statement and its values' types.
    _names: dict[tuple[bytes, tuple[int, ...]], bytes] | None = None

    def first_row(self, statement: Prepared, args: Sequence[Any]) -> tuple[Any, ...] | None:
        """The first row ``statement`` gives for ``args``, in binary, run through libpq itself.

        The values are adapted by psycopg's own adapters, as a cursor would; a statement whose
        plan is kept is prepared on this connection the first time it runs with these types.

        Raises:
            psycopg.Error: As a cursor would raise it (:class:`psycopg.OperationalError` for a
                lost connection).
        """
        adapter = self._adapter
        if adapter is None:
            adapter = self._adapter = Transformer(self)
        values = list(adapter.dump_sequence(args, [PyFormat.AUTO] * len(args)))
        types, formats = adapter.types or (), adapter.formats
        if statement.keep_plan:
            names = self._names
            if names is None:
                names = self._names = {}
            name = names.get((statement.text, types))
            if name is None:
                name = self._prepare(statement.text, types)
            # libpq takes None as NULL; psycopg's signature leaves it out.
            result = self.pgconn.exec_prepared(name, values, formats, pq.Format.BINARY)  # type: ignore[arg-type]
            if result.error_field(pq.DiagnosticField.SQLSTATE) == _NO_SUCH_STATEMENT:
                # psycopg deallocates every statement of the session (DEALLOCATE ALL) once it has
                # run a ROLLBACK, DROP or ALTER on a connection where it prepared its own: ours
                # went with them. Prepared again, once.
                names.clear()
                name = self._prepare(statement.text, types)
                result = self.pgconn.exec_prepared(name, values, formats, pq.Format.BINARY)  # type: ignore[arg-type]
        else:
            result = self.pgconn.exec_params(statement.text, values, types, formats, pq.Format.BINARY)
        if result.status != pq.ExecStatus.TUPLES_OK:
            raise self._failure(result)
        adapter.set_pgresult(result)
        try:
            return adapter.load_row(0, tuple) if result.ntuples else None
        finally:
            adapter.set_pgresult(None)

    def _prepare(self, text: bytes, types: Sequence[int]) -> bytes:
        names = self._names
        assert names is not None
        if len(names) >= PREPARED_MAX:
            # Only this connection's own names: psycopg's prepared statements stay known to it.
            dropped = self.pgconn.exec_(b"; ".join(b"DEALLOCATE " + n for n in names.values()))
            if dropped.status != pq.ExecStatus.COMMAND_OK:
                raise self._failure(dropped)
            names.clear()
        name = new_name()
        made = self.pgconn.prepare(name, text, types)
        if made.status != pq.ExecStatus.COMMAND_OK:
            raise self._failure(made)
        names[(text, tuple(types))] = name
        return name

    def _failure(self, result: pq.abc.PGresult) -> psycopg.Error:
        """The error a failed result stands for, as psycopg's cursor would raise it."""
        if self.pgconn.status == pq.ConnStatus.BAD:  # no SQLSTATE: the server or the socket went away
            return psycopg.OperationalError(f"the connection is lost: {result.get_error_message()}")
        return errors.error_from_result(result, encoding=self.info.encoding)

    def run(
        self, query: str | bytes, args: Sequence[Any] = (), *, binary: bool = False, prepare: bool | None = None
    ) -> psycopg.Cursor[Any]:
        """Run ``query`` on the kept cursor; fetch its rows before the next statement on this connection.

        ``binary`` and ``prepare`` are as :meth:`psycopg.Cursor.execute` takes them.
        """
        cursor = self._kept
        if cursor is None or cursor.closed:
            cursor = self._kept = self.cursor()
        return cursor.execute(query, args, binary=binary, prepare=prepare)


#: The companion of the request this thread is answering, if any (see :meth:`Connections.accompanying`).
_COMPANION: ContextVar[Companion | None] = ContextVar("paymock_companion", default=None)


class Connections:
    """Autocommit connections of this process to one database, from a pool of ``size``.

    Args:
        url: A ``postgresql://`` connection URL.
        location: The URL without its password, for messages.
        size: The most connections this process keeps open.
        generic_plans: Plan a prepared statement once, not at every run (``plan_cache_mode``).
            psycopg prepares a statement run five times on a connection; PostgreSQL then plans it
            anew for every run's values unless the plan for any values is estimated as cheap,
            which a list page's never is (its LIMIT and filter are parameters). Planning was a
            third of a list page's cost in the database. A statement whose best plan depends on
            its values must then be run unprepared (``prepare=False``).
    """

    def __init__(self, url: str, location: str, size: int, *, generic_plans: bool = False) -> None:
        self.url, self.location, self.size = url, location, size
        self._kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT}
        if generic_plans:
            given = conninfo_to_dict(url).get("options")  # the URL's own options are kept
            self._kwargs["options"] = f"{given or ''} -c plan_cache_mode=force_generic_plan".strip()
        self._pool: ConnectionPool[StoreConnection] | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def pool(self) -> ConnectionPool[StoreConnection]:
        """This process's pool (a forked worker opens its own on first use)."""
        pid = process.pid()
        if self._pool is None or self._pid != pid:
            with self._lock:
                if self._pool is None or self._pid != pid:
                    self._pool = ConnectionPool(
                        self.url,
                        connection_class=StoreConnection,
                        min_size=1,
                        max_size=self.size,
                        timeout=CONNECT_TIMEOUT,
                        kwargs=self._kwargs,
                        open=True,
                    )
                    self._pid = pid
        return self._pool

    @contextmanager
    def reading(self) -> Iterator[StoreConnection]:
        """A connection in autocommit mode: each statement sees what every replica committed."""
        # getconn/putconn, not the pool's connection() block: that block's commit on leaving and
        # its bookkeeping were a third of the lending's cost, and the connections are in
        # autocommit; putconn still brings back to idle (or replaces) a connection left otherwise.
        try:
            pool = self.pool()
            db = pool.getconn()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailableError(f"lost PostgreSQL at {self.location}: {cause(exc)}") from None
        try:
            yield db
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"lost PostgreSQL at {self.location}: {cause(exc)}") from None
        finally:
            pool.putconn(db)

    @contextmanager
    def transaction(self) -> Iterator[StoreConnection]:
        """A connection inside one transaction (committed on leaving, rolled back on an exception)."""
        with self.reading() as db, db.transaction():
            yield db

    @contextmanager
    def accompanying(self, expression: str) -> Iterator[Companion]:
        """Within this block (one request), statements on this database may read ``expression`` too."""
        companion = Companion(self.url, expression)
        token = _COMPANION.set(companion)
        try:
            yield companion
        finally:
            _COMPANION.reset(token)

    def companion(self) -> Companion | None:
        """The companion this thread's current request wants from this database, if any."""
        companion = _COMPANION.get()
        return companion if companion is not None and companion.url == self.url else None

    def close(self) -> None:
        """Close this process's pool (before a fork; a new one opens on next use)."""
        pool, self._pool = self._pool, None
        if pool is not None and self._pid == process.pid():
            pool.close()
