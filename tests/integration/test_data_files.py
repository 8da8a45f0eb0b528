"""Data files: a file paymock cannot use gets one line naming it, what is wrong and what to do
(exit 2), and a file paymock did not write, or that holds a user's changes, is never overwritten.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from live import AS_OF, PAYMENTS, PAYMOCK, start_server


def _seed(data: Path, *extra: str, api: str = "zutax") -> subprocess.CompletedProcess[str]:
    args = [PAYMOCK, "seed", api, "--data", str(data), "--as-of", AS_OF, *extra]
    if "--payments" not in extra:
        args += ["--payments", "20"]
    # A file locked past the wait paymock allows would otherwise hang here: 60 s is far beyond it.
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refused(result: subprocess.CompletedProcess[str], data: Path, *words: str) -> str:
    """The run failed as a usage error should: exit 2, one line, the file named, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(data) in lines[0] or data.name in lines[0], lines[0]
    for word in words:
        assert word in lines[0].lower(), (word, lines[0])
    return lines[0]


def _no_sidecars(data: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        assert not Path(f"{data}{suffix}").exists(), f"{data}{suffix} was left behind"


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Make ``path`` read-only for this process, root included (root ignores mode bits)."""
    mode = path.stat().st_mode
    path.chmod(mode & ~0o222)
    immutable = os.geteuid() == 0
    if immutable:
        # chattr's immutable flag binds root too; it is what a read-only mount does to a root process.
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            path.chmod(mode)
            pytest.skip(f"cannot make {path} read-only for root here (chattr: {done.stderr.decode().strip()})")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(mode)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (os.urandom(8192), ("not a paymock data file",)),
        (b"name,amount\nacme,12.50\n" * 50, ("not a paymock data file",)),
    ],
    ids=["garbage", "text"],
)
def test_a_file_that_is_not_a_database_is_refused_and_kept(tmp_path: Path, content: bytes, words: tuple[str]) -> None:
    data = tmp_path / "paymock.sqlite3"
    data.write_bytes(content)
    _refused(_seed(data), data, *words)
    assert data.read_bytes() == content
    _no_sidecars(data)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "paymock.sqlite3"
    data.mkdir()
    _refused(_seed(data), data, "directory")
    assert data.is_dir() and not any(data.iterdir())


def test_a_truncated_data_file_is_refused_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "paymock.sqlite3"
    assert _seed(data).returncode == 0
    whole = data.read_bytes()
    data.write_bytes(whole[: len(whole) // 2])
    _refused(_seed(data), data, "truncated")
    assert data.read_bytes() == whole[: len(whole) // 2]
    _no_sidecars(data)


def test_another_applications_database_is_refused_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "orders.db"
    with sqlite3.connect(data) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total TEXT)")
        db.execute("INSERT INTO orders (total) VALUES ('12.50')")
    db.close()
    before = _digest(data)
    line = _refused(_seed(data), data, "not a paymock data file")
    assert "orders" in line  # names what the file holds, so the user recognises it
    assert _digest(data) == before
    with sqlite3.connect(data) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["orders"]
    db.close()
    _no_sidecars(data)


def test_a_read_only_data_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "paymock.sqlite3"
    assert _seed(data).returncode == 0
    before = _digest(data)
    with _read_only(data):
        _refused(_seed(data, "--seed", "2"), data, "read-only")
    assert _digest(data) == before


def test_a_data_file_in_a_read_only_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    data = folder / "paymock.sqlite3"
    assert _seed(data).returncode == 0
    before = _digest(data)
    with _read_only(folder):
        _refused(_seed(data), data, "read-only")
    assert _digest(data) == before
    _no_sidecars(data)


def test_a_new_data_file_in_a_read_only_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    data = folder / "paymock.sqlite3"
    with _read_only(folder):
        _refused(_seed(data), data, "read-only")
    assert not data.exists()


def test_a_locked_data_file_is_reported_not_waited_on(tmp_path: Path) -> None:
    data = tmp_path / "paymock.sqlite3"
    assert _seed(data).returncode == 0
    holder = sqlite3.connect(data, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        # Given another process holding the write lock, paymock says so (well within _seed's timeout).
        _refused(_seed(data, "--seed", "2"), data, "locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _seed(data, "--seed", "2").returncode == 0


def test_a_file_of_other_options_is_regenerated_when_it_holds_no_changes(tmp_path: Path) -> None:
    data = tmp_path / "paymock.sqlite3"
    assert _seed(data).returncode == 0
    again = _seed(data, "--seed", "2")
    assert again.returncode == 0, again.stderr


def test_a_file_holding_changes_is_never_regenerated_silently(tmp_path: Path) -> None:
    data = tmp_path / "paymock.sqlite3"
    live = start_server(data, apis=("flexportal",), workers=1)
    try:
        creds = live.credentials("flexportal")
        headers = {creds["header"]: creds["value"], **creds["selectors"]}
        url = f"{live.url}/flexportal/v1/payments"
        pending = requests.get(url, params={"status": "pending", "limit": 1}, headers=headers, timeout=10).json()
        payment = pending["payments"][0]["paymentId"]
        assert requests.post(f"{url}/{payment}/cancel", headers=headers, timeout=10).status_code == 200
    finally:
        live.stop()
    kept = tmp_path / "kept.sqlite3"
    shutil.copy(data, kept)
    # Given a file whose world holds a cancelled payment, seeding other options is refused ...
    refused = _seed(data, "--seed", "2", "--payments", str(PAYMENTS), api="flexportal")
    line = _refused(refused, data, "changes", "--regenerate")
    assert "1 " in line or "one " in line  # how many records changed, so the user knows what is at stake
    assert _digest(data) == _digest(kept)
    # ... and the same options still open it with the change kept.
    same = _seed(data, "--payments", str(PAYMENTS), api="flexportal")
    assert same.returncode == 0, same.stderr
    # Regenerating on purpose discards the change.
    forced = _seed(data, "--seed", "2", "--payments", str(PAYMENTS), "--regenerate", api="flexportal")
    assert forced.returncode == 0, forced.stderr
    assert _digest(data) != _digest(kept)
