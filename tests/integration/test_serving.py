"""How ``paymock serve`` listens: a socket per worker, so a burst of connections reaches every worker.

With one listening socket shared by the workers, the worker that happened to be awake accepted a
client pool's burst of new connections nearly alone (eight to none, measured), and its one core
served them all. Each worker now listens on a socket of its own on the same port
(``SO_REUSEPORT``), and the kernel spreads new connections over them; a port already listened on
is refused as before.
"""

from __future__ import annotations

import http.client
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from control_helpers import journal
from live import AS_OF, PAYMENTS, PAYMOCK, LiveServer, start_server

from mock_server.process import pid


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("serving") / "serving.sqlite3", apis=("flexportal",))
    yield server
    server.stop()


def _port(server: LiveServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _listeners(port: int) -> set[int]:
    """Inodes of the sockets listening on ``port`` (``/proc/net/tcp``: state 0A is LISTEN)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
            found.add(int(fields[9]))
    return found


def _holders(inodes: set[int], pids: list[int]) -> dict[int, int]:
    """Which of ``pids`` holds each socket inode."""
    held = {}
    for p in pids:
        for fd in Path(f"/proc/{p}/fd").iterdir():
            try:
                target = fd.readlink().as_posix()
            except OSError:
                continue
            if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                held[int(target[8:-1])] = p
    return held


def _workers(server: LiveServer) -> list[int]:
    """The gunicorn workers: the children running ``paymock serve`` (not multiprocessing's tracker)."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    return [int(c) for c in children if b"serve" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _every_worker_listening(server: LiveServer) -> tuple[list[int], dict[int, int]]:
    """The workers and the holder of each listening socket, once both workers listen (or 10 s passed).

    The server answers once one worker listens; gunicorn starts the other a moment later.
    """
    for _ in range(100):
        workers = _workers(server)
        holders = _holders(_listeners(_port(server)), [server.process.pid, *workers])
        if len(workers) >= 2 and len(holders) >= 2:
            break
        subprocess.run(["sleep", "0.1"], check=True)
    return workers, holders


def test_each_worker_listens_on_a_socket_of_its_own(served: LiveServer) -> None:
    workers, holders = _every_worker_listening(served)
    assert len(workers) == 2
    # One listening socket per worker, none kept by the arbiter (whose socket would be shared).
    assert sorted(holders.values()) == sorted(workers)
    assert served.process.pid not in holders.values()
    assert pid() not in holders.values()


def test_a_burst_of_connections_reaches_every_worker(served: LiveServer) -> None:
    workers, _ = _every_worker_listening(served)
    requests.delete(f"{served.url}/__paymock/requests", timeout=30).raise_for_status()
    credentials = served.credentials("flexportal")
    headers = {credentials["header"]: credentials["value"], **credentials.get("selectors", {})}
    # Sixteen connections opened at once, as a client's pool does; then a request on each. All
    # sixteen landing on one worker by chance is one in 2**15.
    connections = [http.client.HTTPConnection("127.0.0.1", _port(served), timeout=30) for _ in range(16)]
    for c in connections:
        c.connect()

    def ask(c: http.client.HTTPConnection) -> int:
        c.request("GET", "/flexportal/v1/payments?limit=1", headers=headers)
        response = c.getresponse()
        response.read()
        return response.status

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(ask, connections)) == {200}
    for c in connections:
        c.close()
    answered_by = {e["worker"] for e in journal(served, api="flexportal")}
    assert answered_by == set(workers)


def test_a_port_already_listened_on_is_refused(served: LiveServer) -> None:
    # A second server on the same port would otherwise share it (the sockets allow that to their
    # own user): it is refused in one line, as with one shared socket.
    args = [
        PAYMOCK, "serve", "flexportal", "--host", "127.0.0.1", "--port", str(_port(served)),
        "--data", str(served.data), "--payments", str(PAYMENTS), "--as-of", AS_OF, "--workers", "2",
    ]  # fmt: skip
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode != 0
    assert f"cannot listen on 127.0.0.1:{_port(served)}: Address already in use" in out.stderr
    assert "Traceback" not in out.stderr
