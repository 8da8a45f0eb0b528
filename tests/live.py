"""A live `paymock serve` on loopback, for tests that talk HTTP (imported by tests, not a conftest)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

AS_OF = "2026-11-01"
#: Small but not trivial: several pages for every page size the tests use.
PAYMENTS = 150
PAYMOCK = str(Path(sys.executable).with_name("paymock"))


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A ``paymock serve`` process on loopback."""

    url: str
    data: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    args: list[str] = field(default_factory=list)
    _credentials: dict[str, Any] | None = None

    def credentials(self, api: str, tenant: int = 0) -> dict[str, Any]:
        """The sandbox credentials of one tenant of an API."""
        if self._credentials is None:
            self._credentials = requests.get(f"{self.url}/__paymock/credentials", timeout=10).json()
        result: dict[str, Any] = self._credentials[api]["tenants"][tenant]
        return result

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def start_server(
    data: Path, *extra: str, workers: int = 2, apis: tuple[str, ...] = (), store: str | None = None
) -> LiveServer:
    """Start ``paymock serve`` and wait until it answers.

    With ``store`` (a ``postgresql://`` URL) the state, fault rules and journal included, lives
    there; ``data`` then names the log file.
    """
    port = free_port()
    args = [
        PAYMOCK,
        "serve",
        *apis,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        # With a store, --data only names the log file (the store holds rules and journal too).
        *(("--store", store) if store else ()),
        "--data",
        str(data),
        "--payments",
        str(PAYMENTS),
        "--as-of",
        AS_OF,
        "--workers",
        str(workers),
        "--threads",
        "4",
        *extra,
    ]
    log = open(data.with_suffix(".log"), "ab")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            raise RuntimeError(
                f"paymock serve exited with {process.returncode}: {data.with_suffix('.log').read_text()[-3000:]}"
            )
        try:
            if requests.get(f"{url}/__paymock/health", timeout=1).ok:
                return LiveServer(url, data, process, log, args)
        except (requests.ConnectionError, requests.Timeout):
            # Not listening yet, or too busy to answer within the second (2 cores, many runs).
            time.sleep(0.2)
    process.kill()
    log.close()
    raise RuntimeError(f"paymock serve did not answer within 90 s: {data.with_suffix('.log').read_text()[-3000:]}")
