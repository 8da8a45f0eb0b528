"""Helpers shared by the benchmark scripts: run ``paymock serve``, authenticate, load with wrk.

Nothing here asserts on time. Every figure is printed, and every comparison is made side by side
in one run, because absolute times on a shared machine drift.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PAYMOCK = str(BIN / "paymock")
PYTHON = str(BIN / "python")
GUNICORN = str(BIN / "gunicorn")
#: Where seeded data files are kept between runs (a 1M-payment file takes minutes to build).
DATA_DIR = Path(os.environ.get("PAYMOCK_BENCH_DATA", "/tmp/paymock-bench"))
#: The worker settings ``paymock serve`` uses by default (see mock_server/cli.py and server.py).
DEFAULT_WORKERS = os.cpu_count() or 2
DEFAULT_THREADS = 4


# -- command line and output ------------------------------------------------------------------


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with ``--quick`` (small sizes, short loads)."""
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes and short loads")
    return p


def machine() -> str:
    """One line naming the machine: cores, CPU model, Python, date."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"nproc={os.cpu_count()}  cpu={model!r}  python={platform.python_version()}  {now}  loadavg={load}"


def header(title: str) -> None:
    """Print a figure's title and the machine it runs on."""
    print(f"== {title}")
    print(f"   {machine()}")
    sys.stdout.flush()


def table(rows: Sequence[Sequence[Any]], head: Sequence[str]) -> None:
    """Print rows as an aligned text table."""
    cells = [[str(h) for h in head], *[[_fmt(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    for n, r in enumerate(cells):
        print("  ".join(c.rjust(w) if n and i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# -- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc)."""
    by_parent: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        by_parent.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        kids = by_parent.get(todo.pop(), [])
        out.extend(kids)
        todo.extend(kids)
    return out


def memory_kib(pids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """``pid -> (VmRSS, VmHWM)`` in KiB, for those of ``pids`` still alive."""
    out = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        values = {
            k: int(v.split()[0])
            for k, _, v in (ln.partition(":") for ln in status.splitlines())
            if k in ("VmRSS", "VmHWM")
        }
        out[pid] = (values.get("VmRSS", 0), values.get("VmHWM", 0))
    return out


def cpu_seconds(pids: Sequence[int]) -> list[float]:
    """CPU time (user + system, all threads) each of ``pids`` has used so far; 0 for one that is gone."""
    tick = os.sysconf("SC_CLK_TCK")
    out = []
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            out.append(0.0)
            continue
        out.append((int(fields[11]) + int(fields[12])) / tick)
    return out


@dataclass
class Server:
    """A running server process on a loopback port."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    ready_s: float
    prefix: str = ""

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:<port>``)."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def pids(self) -> list[int]:
        """The master and every worker."""
        return [self.proc.pid, *children(self.proc.pid)]

    def workers(self) -> list[int]:
        """The worker processes (gunicorn's master's children).

        Not multiprocessing's resource tracker: ``serve`` starts one when it generates a missing
        data file in a spawned child, and it idles beside the workers for the server's life
        (counted as a worker, it made every round look one-sided).
        """
        return [pid for pid in children(self.proc.pid) if b"resource_tracker" not in _cmdline(pid)]

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL after 15 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> float:
    """Poll ``url`` until it answers 200; returns seconds waited. Raises if the process dies."""
    started = time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode} before answering; log:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.perf_counter() - started > timeout:
            proc.kill()
            raise RuntimeError(f"{url} did not answer within {timeout:.0f}s; log:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)


#: What ``serve`` and ``seed`` say about a data file written by another paymock data version.
STALE = "another paymock data version"


def drop_stale(args: Sequence[str], output: str) -> bool:
    """If ``output`` says the ``--data`` file in ``args`` is of another data version, delete it."""
    if STALE not in output or "--data" not in args:
        return False
    path = Path(args[list(args).index("--data") + 1])
    print(f"   {path} is from another paymock data version: deleted, it will be regenerated", flush=True)
    remove_data(path)
    return True


def start_paymock(args: Sequence[str], timeout: float = 3600) -> Server:
    """``paymock serve <args>`` on a free port; returns once ``/__paymock/health`` answers.

    ``ready_s`` is the time from spawning the process to the first healthy answer (it includes
    seeding when the data file is not seeded yet). A cached data file of an older data version
    is deleted and the server started again.
    """
    try:
        return _start_paymock(args, timeout)
    except RuntimeError as exc:
        if not drop_stale(args, str(exc)):
            raise
    return _start_paymock(args, timeout)


def seed(args: Sequence[str]) -> float | None:
    """``paymock seed <args>``: seconds spent seeding, or ``None`` if the file was ready."""
    for _ in range(2):
        started = time.perf_counter()
        out = subprocess.run([PAYMOCK, "seed", *args], capture_output=True, text=True, cwd=ROOT, check=False)
        took = time.perf_counter() - started
        if out.returncode == 0:
            return took if "seeded" in out.stderr else None
        if not drop_stale(args, out.stderr + out.stdout):
            break
    raise RuntimeError(f"paymock seed {' '.join(args)} failed ({out.returncode}):\n{out.stderr[-3000:]}")


def _start_paymock(args: Sequence[str], timeout: float) -> Server:
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="paymock-bench-", suffix=".log")[1])
    cmd = [PAYMOCK, "serve", *args, "--host", "127.0.0.1", "--port", str(port)]
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    wait_ready(proc, f"http://127.0.0.1:{port}/__paymock/health", log, timeout)
    return Server(proc, port, log, time.perf_counter() - started)


def start_bare(body: Path, content_type: str, workers: int, threads: int) -> Server:
    """``bench/bare_app.py`` under gunicorn with paymock's worker and listening settings, serving ``body``."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bare-bench-", suffix=".log")[1])
    cmd = [
        GUNICORN, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--keep-alive", "5", "--timeout", "60", "--log-level", "warning",
        "--chdir", str(ROOT / "bench"), "bare_app:app",
        # A listening socket per worker, as paymock serve listens (mock_server/server.py).
        *(["--reuse-port"] if workers > 1 else []),
    ]  # fmt: skip
    env = {**os.environ, "BARE_BODY": str(body), "BARE_CONTENT_TYPE": content_type}
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    wait_ready(proc, f"http://127.0.0.1:{port}/__health", log, 60)
    return Server(proc, port, log, time.perf_counter() - started)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """Stop the server on the way out, whatever happens."""
    try:
        yield server
    finally:
        server.stop()


def data_file(name: str) -> Path:
    """A data file under :data:`DATA_DIR` (kept between runs, so 1M-payment worlds are built once)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return DATA_DIR / f"{name}.sqlite3"


def remove_data(path: Path) -> None:
    """Delete a SQLite data file and its WAL/SHM companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# -- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Answer:
    """One HTTP answer."""

    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 60,
) -> Answer:
    """One request with urllib; an HTTP error status is an answer, not an exception."""
    req = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = r.read()
            return Answer(r.status, data, dict(r.headers.items()), time.perf_counter() - started)
    except urllib.error.HTTPError as e:
        data = e.read()
        return Answer(e.code, data, dict(e.headers.items()), time.perf_counter() - started)


def get(url: str, headers: Mapping[str, str] | None = None) -> Answer:
    """A GET that must answer 200."""
    answer = request("GET", url, headers)
    if answer.status != 200:
        raise RuntimeError(f"GET {url} answered {answer.status}: {answer.body[:500]!r}")
    return answer


@dataclass
class Client:
    """What a request to one API of one tenant needs: its base URL and headers."""

    api: str
    base: str
    headers: dict[str, str]
    tenant: dict[str, Any] = field(default_factory=dict)


def client(server: Server, api: str, tenant: int = 0) -> Client:
    """Credentials of ``api``'s tenant (0-based), with a bearer token for the OAuth APIs."""
    creds = get(f"{server.url}/__paymock/credentials").json()[api]
    base: str = creds["base_url"]
    t: dict[str, Any] = creds["tenants"][tenant]
    selectors: dict[str, str] = t.get("selectors", {})
    headers: dict[str, str] = {}
    if "header" in t:
        headers[t["header"]] = t["value"]
    elif api == "zuora":
        form = {
            "client_id": t["client_id"],
            "client_secret": t["client_secret"],
            "grant_type": "client_credentials",
        }
        answer = request(
            "POST", f"{base}/oauth/token", {"Content-Type": "application/x-www-form-urlencoded"},
            urllib.parse.urlencode(form).encode(),
        )  # fmt: skip
        headers["Authorization"] = "Bearer " + answer.json()["access_token"]
    elif api == "exsited":
        payload = {
            "grant_type": "client_credentials", "client_id": t["client_id"], "client_secret": t["client_secret"],
            "redirect_uri": "http://localhost/callback",
        }  # fmt: skip
        answer = request(
            "POST",
            f"{base}/api/v1/oauth2/token",
            {"Content-Type": "application/json"},
            json.dumps(payload).encode(),
        )
        headers["Authorization"] = "Bearer " + answer.json()["access_token"]
    else:
        raise RuntimeError(f"don't know how to authenticate to {api!r}: {t}")
    # Header selectors name the tenant; path selectors are filled into URLs by the caller.
    headers.update({k: v for k, v in selectors.items() if k[:1].isupper()})
    return Client(api, base, headers, t)


# -- wrk ------------------------------------------------------------------------------------------

_LUA = """
wrk.method = "GET"
{headers}
local paths = {{{paths}}}
local n = 0
if #paths > 0 then
  request = function()
    n = n + 1
    return wrk.format(nil, paths[(n % #paths) + 1])
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Load:
    """What wrk measured."""

    rps: float
    requests: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors and timeouts
    non_2xx: int


def wrk(
    url: str,
    headers: Mapping[str, str],
    seconds: float,
    connections: int = 8,
    threads: int = 1,
    paths: Sequence[str] = (),
) -> Load:
    """Load ``url`` with wrk for ``seconds`` (bounded) and parse its figures.

    Args:
        url: Target (its host and port; its path unless ``paths`` is given).
        headers: Sent with every request.
        seconds: Duration, rounded to whole seconds (at least 1).
        connections: Open connections, each with one request in flight.
        threads: wrk threads.
        paths: Request these paths (with query) in turn instead of ``url``'s own.
    """
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_LUA.format(headers=lines, paths=", ".join(json.dumps(p) for p in paths)))
        script = f.name
    try:
        cmd = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            script,
            url,
        ]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({run.returncode}): {run.stderr or run.stdout}")
        out = run.stdout
    finally:
        os.unlink(script)
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    d = json.loads(line[len("WRKJSON ") :])
    return Load(
        rps=d["requests"] / (d["duration_us"] / 1e6),
        requests=d["requests"],
        p50_ms=d["p50_us"] / 1000,
        p90_ms=d["p90_us"] / 1000,
        p99_ms=d["p99_us"] / 1000,
        max_ms=d["max_us"] / 1000,
        errors=d["connect"] + d["read"] + d["write"] + d["timeout"],
        non_2xx=d["status"],
    )


def latencies(url: str, headers: Mapping[str, str], count: int) -> list[float]:
    """Seconds per request for ``count`` sequential GETs on one keep-alive connection."""
    import http.client

    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    target = parts.path + ("?" + parts.query if parts.query else "")
    out = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", target, headers=dict(headers))
            r = conn.getresponse()
            r.read()
            out.append(time.perf_counter() - started)
            if r.status != 200:
                raise RuntimeError(f"GET {url} answered {r.status}")
    finally:
        conn.close()
    return out


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
