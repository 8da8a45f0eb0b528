"""The SQLite backend: the embedded default (one data file, or ``:memory:``)."""

from __future__ import annotations

from mock_server.store.sqlite.base import SQLiteStore
from mock_server.store.sqlite.reads import DEEP_OFFSET

__all__ = ["DEEP_OFFSET", "SQLiteStore"]
