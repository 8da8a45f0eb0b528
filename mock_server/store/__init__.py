"""The store: the only package that speaks SQL or imports a database driver.

``base.py`` holds the interface every backend implements (:class:`BaseStore`, its :class:`Loader`
for seeding) and the typed values callers hand it (:class:`Condition`, sort keys,
:class:`TableSpec`); ``page.py`` what a list gives back. Each backend is a package beside them:
``sqlite/`` (the embedded default) and ``postgresql/`` (several replicas, one state).
:func:`open_store` picks one from a target.
"""

from __future__ import annotations

from pathlib import Path

from mock_server.errors import StoreError
from mock_server.store.base import (
    CREATION,
    OPERATORS,
    RECORD_ID,
    STORED_KINDS,
    TABLE_REPLACED,
    BaseStore,
    Condition,
    Features,
    Loader,
    Part,
    Revision,
    Sink,
    Snapshot,
    SortKey,
    Spread,
    TableSpec,
)
from mock_server.store.page import DOC, ID, KEYS, PK, SEP, Page, Row
from mock_server.store.sqlite import SQLiteStore

#: The SQLite store, under the name callers have always used.
Store = SQLiteStore

__all__ = [
    "CREATION",
    "DOC",
    "ID",
    "KEYS",
    "OPERATORS",
    "PK",
    "RECORD_ID",
    "SEP",
    "STORED_KINDS",
    "TABLE_REPLACED",
    "BaseStore",
    "Condition",
    "Features",
    "Loader",
    "Page",
    "Part",
    "Revision",
    "Row",
    "SQLiteStore",
    "Sink",
    "Snapshot",
    "SortKey",
    "Spread",
    "Store",
    "TableSpec",
    "open_store",
]


#: URL schemes of the PostgreSQL backend.
POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


def open_store(target: str | Path) -> BaseStore:
    """The store a target names: a ``postgresql://`` URL, ``:memory:``, or a SQLite data file's path.

    Raises:
        StoreError: The target cannot be opened (another paymock data version's file, say; or the
            PostgreSQL backend is not installed).
        StoreUnavailableError: A PostgreSQL URL whose server cannot be reached.
    """
    if isinstance(target, str) and target.startswith(POSTGRESQL_SCHEMES):
        try:
            from mock_server.store.postgresql import PostgreSQLStore
        except ImportError as exc:
            raise StoreError(
                f"the PostgreSQL store needs psycopg and psycopg-pool ({exc}); "
                "install them with: pip install 'paymock[postgresql]'"
            ) from None
        return PostgreSQLStore(target)
    return SQLiteStore(target)
