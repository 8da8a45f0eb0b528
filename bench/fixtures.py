"""Fixtures' costs, side by side in one run (seeding with and without them, loading, a state change).

Seeding every API with and without the demo fixture, loading it into a running sandbox, and
what a state change pays for entities cached per world.

    .venv/bin/python bench/fixtures.py            # default sizes, ~1 min
    .venv/bin/python bench/fixtures.py --quick    # 300 payments a tenant

Prints one line per figure; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from vendors import Session  # noqa: E402

from mock_server import Sandbox  # noqa: E402

DEMO = ROOT / "fixtures" / "demo.yaml"


def seed_seconds(folder: Path, name: str, payments: int | None, fixtures: Path | None) -> float:
    """Seconds to seed every API into a new data file."""
    started = time.perf_counter()
    Sandbox.open(store=folder / name, payments=payments, as_of="2026-11-01", fixtures=fixtures).seed().close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 payments a tenant instead of each document's size")
    parser.add_argument("--rounds", type=int, default=3, help="Alternated rounds of each seeding (default 3).")
    args = parser.parse_args()
    payments = 300 if args.quick else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain, fixed = [], []
        for r in range(args.rounds):  # alternated, so that drift on a shared machine hits both
            plain.append(seed_seconds(folder, f"plain-{r}.sqlite3", payments, None))
            fixed.append(seed_seconds(folder, f"fixed-{r}.sqlite3", payments, DEMO))
        p, f = statistics.median(plain), statistics.median(fixed)
        print(f"seed all five APIs: {p:.2f} s without fixtures, {f:.2f} s with the demo fixture ({f / p:.2f}x)")

        sandbox = Sandbox.open(store=folder / "plain-0.sqlite3", payments=payments, as_of="2026-11-01")
        client = sandbox.app().test_client()
        body = DEMO.read_bytes()
        started = time.perf_counter()
        loaded = client.post("/__paymock/fixtures", data=body, content_type="application/yaml")
        took = time.perf_counter() - started
        print(f"POST /__paymock/fixtures (demo, five APIs seeded anew): {took:.2f} s, {loaded.status_code}")

        # A transition renders its record again, reading the world's fingerprint once (the key of
        # the entity cache): that read, next to a whole mark-paid request.
        store = sandbox.store
        n = 2000
        started = time.perf_counter()
        for _ in range(n):
            store.meta("world:flexportal")
        read = (time.perf_counter() - started) / n
        session = Session(client, "flexportal", 0)
        pending = session.get("/v1/payments", params={"status": "pending", "limit": 100}).json()["payments"]
        started = time.perf_counter()
        for p in pending:
            assert session.post(f"/v1/payments/{p['paymentId']}/mark-paid").status == 200
        request = (time.perf_counter() - started) / max(len(pending), 1)
        print(
            f"mark-paid in process: {request * 1e6:.0f} us a request, of which the fingerprint read "
            f"{read * 1e6:.0f} us ({read / request:.1%})"
        )
        sandbox.close()


if __name__ == "__main__":
    main()
