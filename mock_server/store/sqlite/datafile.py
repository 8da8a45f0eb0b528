"""What may be opened as a SQLite data file: refusals that name the file, what is wrong and what to do.

Everything here runs before the store opens a file for writing, so a file paymock must not touch
(another application's database, a truncated copy, a text file) is left exactly as it was, with
no ``-wal``/``-shm`` file created beside it. The checks read at most the first 100 bytes and the
schema of a database: opening a data file of a million payments stays instant.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from mock_server.errors import DataFileError

#: The first 16 bytes of every SQLite database file (its file format's magic string).
SQLITE_MAGIC = b"SQLite format 3\x00"
#: The table every paymock data file has, and the key in it that says which data version wrote it.
META_TABLE = "meta"
VERSION_KEY = "schema_version"

ADVICE = "point --data at another path (or delete the file if it is yours to lose)"


def inspect(path: Path) -> None:
    """Refuse a path paymock must not open or write, before anything is written.

    Args:
        path: The ``--data`` path (absent is fine: a new file is made there).

    Raises:
        DataFileError: A directory, a file that is not a SQLite database, one whose size is below
            what its header declares (a truncated copy), or a database of another application.
    """
    if path.is_dir():
        raise DataFileError(
            f"{path} is a directory, not a data file; give a file path, e.g. --data {path / 'paymock.sqlite3'}"
        )
    if not path.exists() or path.stat().st_size == 0:
        return  # a new world is generated there (an empty file is an empty database)
    with path.open("rb") as f:
        head = f.read(100)
    if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
        raise DataFileError(f"{path} is not a paymock data file (not a SQLite database at all); {ADVICE}")
    _refuse_truncated(path, head)
    _refuse_foreign(path)
    try:
        # What SQLite does on open: a file it cannot open read-write is silently opened read-only,
        # and the first write fails deep inside seeding. Ask the same question first.
        os.close(os.open(path, os.O_RDWR))
    except OSError as exc:
        raise DataFileError(
            f"{path} is read-only ({exc.strerror}); paymock writes its data file (seeding, state changes):"
            f" make it writable, or {ADVICE}"
        ) from None


def _refuse_truncated(path: Path, head: bytes) -> None:
    # The header declares the page size (offset 16, 1 meaning 65536) and the number of pages
    # (offset 28), the latter valid only when the "version-valid-for" number at 92 equals the change
    # counter at 24 (older writers do not keep it): a file shorter than that lost its end.
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    if pages and head[24:28] == head[92:96]:
        expected = pages * page_size
        size = path.stat().st_size
        if size < expected:
            raise DataFileError(
                f"{path} is truncated ({size} bytes of the {expected} its header declares: a copy cut short?); {ADVICE}"
            )


def _refuse_foreign(path: Path) -> None:
    # Read-only, and without touching a journal: another application's file is never written.
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        version = None
        if META_TABLE in tables:
            row = db.execute(f"SELECT value FROM {META_TABLE} WHERE key = ?", (VERSION_KEY,)).fetchone()
            version = None if row is None else row[0]
    except sqlite3.DatabaseError as exc:
        if "locked" in str(exc):
            raise locked(path) from None
        if "unable to open" in str(exc):  # a data file in WAL mode needs its -shm file beside it
            raise unwritable(path, exc) from None
        raise DataFileError(f"{path} is damaged or not a paymock data file ({exc}); {ADVICE}") from None
    finally:
        db.close()
    if tables and version is None:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise DataFileError(f"{path} is not a paymock data file (it holds tables {shown}); {ADVICE}")


def locked(path: Path | str) -> DataFileError:
    """The error for a data file another process holds the write lock of."""
    return DataFileError(
        f"{path} is locked by another process (another paymock seed or serve, or a tool holding it open);"
        " wait for it to finish, or point --data at another path"
    )


def unwritable(path: Path | str, exc: sqlite3.Error) -> DataFileError:
    """The error for a data file that cannot be opened for writing, with the reason found."""
    p = Path(path)
    if "readonly" in str(exc) or "read-only" in str(exc):
        return DataFileError(
            f"{p} is read-only; paymock writes its data file (seeding, state changes): make it writable, or {ADVICE}"
        )
    if not _writable_folder(p.parent):
        return DataFileError(
            f"{p} is in a read-only folder ({p.parent}); SQLite keeps {p.name}-wal and {p.name}-shm beside"
            f" the data file: make the folder writable, or {ADVICE}"
        )
    return DataFileError(f"{p} cannot be opened for writing ({exc}); {ADVICE}")


def _writable_folder(folder: Path) -> bool:
    # Asked only once opening failed: a probe file says what permission bits cannot for root
    # (immutable files, read-only mounts), and it is removed at once.
    try:
        fd, probe = tempfile.mkstemp(prefix=".paymock-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True
