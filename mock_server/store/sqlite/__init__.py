"""The SQLite backend: the embedded default (one data file, or ``:memory:``)."""

from __future__ import annotations

from mock_server.store.sqlite.base import DEEP_OFFSET, SQLiteStore

__all__ = ["DEEP_OFFSET", "SQLiteStore"]
