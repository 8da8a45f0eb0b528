"""Two ``paymock serve --store postgresql://...`` replicas on one database behave as one sandbox.

Both start at once (one seeds, the other waits for it), each with two gunicorn workers; every
test alternates its requests between them. Fault rules, their counters and the request journal
are one state too (the database's), whichever replica is asked.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from control_helpers import Lister, add_rule, journal
from live import AS_OF, PAYMENTS, PAYMOCK, LiveServer, start_server
from postgres import Postgres
from vendors import Session, walk

from mock_server.store.postgresql.base import POOL_SIZE

APIS = ("flexportal", "zuora", "notify")


@pytest.fixture(scope="module")
def replicas(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    url = postgres.database("replicas")
    folder = tmp_path_factory.mktemp("replicas")
    with ThreadPoolExecutor(2) as pool:  # started together: they race to seed
        started = list(pool.map(lambda name: start_server(folder / name, apis=APIS, store=url), ["a.pg", "b.pg"]))
    a, b = started
    yield a, b
    for replica in (a, b):
        replica.stop()
    # Exactly one of them seeded each world; the other found it seeded once it had the lock.
    logs = [(folder / name).with_suffix(".log").read_text() for name in ("a.pg", "b.pg")]
    for api in APIS:
        assert sum(log.count(f"seeded {api}") for log in logs) == 1, logs


@pytest.fixture
def pair(replicas: tuple[LiveServer, LiveServer]) -> Iterator[tuple[LiveServer, LiveServer]]:
    yield replicas
    requests.post(f"{replicas[0].url}/__paymock/reset", timeout=30)


@pytest.fixture
def control(pair: tuple[LiveServer, LiveServer]) -> Iterator[tuple[LiveServer, LiveServer]]:
    # The journal is emptied before too: a test of `pair` alone (walks, races) leaves its requests
    # there, and under xdist any of them may run just before this one on the same replicas.
    requests.delete(f"{pair[1].url}/__paymock/requests", timeout=30).raise_for_status()
    yield pair
    requests.delete(f"{pair[0].url}/__paymock/faults", timeout=30).raise_for_status()
    requests.delete(f"{pair[1].url}/__paymock/requests", timeout=30).raise_for_status()


def _parent(pid: int) -> int:
    """The parent of a process (Linux: the fourth field of /proc/<pid>/stat, after the name's ')')."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _pending(s: Session, n: int = 1) -> list[str]:
    got = s.get("/v1/payments", params={"status": "pending", "limit": n})
    assert got.status == 200, (got.status, got.body[:500])
    return [p["paymentId"] for p in got.json()["payments"]]


def test_a_write_through_one_is_read_through_the_other_at_once(pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = (Session(r.url, "flexportal") for r in pair)
    cancelled_before = b.get("/v1/payments", params={"status": "cancelled", "limit": 100}).json()["payments"]
    (pid,) = _pending(a)
    changed = a.post(f"/v1/payments/{pid}/cancel").json()["payment"]
    # The very next request, through the other replica's workers: detail, filtered list, and counts.
    assert b.get(f"/v1/payments/{pid}").json()["payment"] == changed
    cancelled = b.get("/v1/payments", params={"status": "cancelled", "limit": 100}).json()["payments"]
    assert {p["paymentId"] for p in cancelled} == {p["paymentId"] for p in cancelled_before} | {pid}
    assert pid not in {
        p["paymentId"] for p in b.get("/v1/payments", params={"status": "pending", "limit": 100}).json()["payments"]
    }


def test_a_cursor_from_one_works_on_the_other(pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = (Session(r.url, "flexportal") for r in pair)
    whole = walk(a, "flexportal", {}, 100)
    seen, cursor, turn = [], None, 0
    while True:
        s = (a, b)[turn % 2]
        body = s.get("/v1/payments", params={"limit": 17, **({"startAfter": cursor} if cursor else {})}).json()
        seen += body["payments"]
        turn += 1
        if not body["hasMore"]:
            break
        cursor = body["nextCursor"]
    assert [p["paymentId"] for p in seen] == [p["paymentId"] for p in whole]


def test_a_next_page_link_from_one_works_on_the_other(pair: tuple[LiveServer, LiveServer]) -> None:
    a_url, b_url = (r.url for r in pair)
    s = Session(a_url, "notify")
    first = s.get("/v2/payments", params={"limit": 5}).json()
    link = first["links"]["next"]["href"]
    assert link, first
    on_b = requests.get(link.replace(a_url, b_url), headers=s.headers, timeout=30)
    on_a = requests.get(link, headers=s.headers, timeout=30)
    # The same page, its own links pointing at the replica that answered.
    assert on_b.status_code == 200 and on_b.text.replace(b_url, a_url) == on_a.text


def test_an_oauth_token_from_one_is_accepted_by_the_other(pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = pair
    token = Session(a.url, "zuora").token()
    headers = {"Authorization": f"Bearer {token}"}
    answer = requests.get(f"{b.url}/zuora/v1/payments", headers=headers, timeout=30)
    assert answer.status_code == 200
    assert (
        requests.get(f"{b.url}/zuora/v1/payments", headers={"Authorization": "Bearer 0" * 2}, timeout=30).status_code
        == 401
    )


def test_exactly_one_of_16_racing_cancels_over_two_replicas_wins(pair: tuple[LiveServer, LiveServer]) -> None:
    s = Session(pair[0].url, "flexportal")
    (pid,) = _pending(s)

    def cancel(i: int) -> int:
        url = f"{pair[i % 2].url}/flexportal/v1/payments/{pid}/cancel"
        return requests.post(url, headers=s.headers, timeout=60).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(cancel, range(16)))
    assert sorted(statuses) == [200] + [409] * 15
    for replica in pair:
        assert Session(replica.url, "flexportal").get(f"/v1/payments/{pid}").json()["payment"]["status"] == "cancelled"


def test_a_reset_through_one_resets_what_both_serve(pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = (Session(r.url, "flexportal") for r in pair)
    (pid,) = _pending(a)
    original = b.get(f"/v1/payments/{pid}").json()["payment"]
    assert b.post(f"/v1/payments/{pid}/cancel").status == 200
    assert a.get(f"/v1/payments/{pid}").json()["payment"]["status"] == "cancelled"
    assert requests.post(f"{pair[0].url}/__paymock/reset", timeout=30).json() == {"status": "reset", "restored": 1}
    for s in (a, b):
        assert s.get(f"/v1/payments/{pid}").json()["payment"] == original


def test_a_database_holding_another_world_is_refused(replicas: tuple[LiveServer, LiveServer]) -> None:
    # Given the replicas' database, a replica started with another seed is refused, not let overwrite it.
    args = replicas[0].args
    url = args[args.index("--store") + 1]
    done = subprocess.run(
        [PAYMOCK, "serve", *APIS, "--store", url, "--payments", str(PAYMENTS), "--as-of", AS_OF, "--seed", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "holds another flexportal world" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert Session(replicas[1].url, "flexportal").get("/v1/payments").status == 200  # still served


def test_an_unreachable_url_is_one_line_and_exit_2() -> None:
    done = subprocess.run(
        [PAYMOCK, "serve", "--store", "postgresql://paymock@127.0.0.1:9/paymock", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "127.0.0.1" in lines[0] and "Traceback" not in done.stderr, done.stderr


def test_a_replica_that_loses_its_database_answers_503_and_recovers() -> None:
    # Given a replica on a database of its own, when the database goes away, requests get the
    # vendor's error shape with a 503 (never a 500 or a traceback); once it is back, they succeed.
    postgres = Postgres()
    try:
        url = postgres.database("lost")
        replica = start_server(Path(postgres.root) / "lost.pg", apis=("flexportal",), store=url, workers=1)
        try:
            s = Session(replica.url, "flexportal")
            assert s.get("/v1/payments", params={"limit": 5}).status == 200
            postgres.pause()
            away = s.get("/v1/payments", params={"limit": 5})
            assert away.status == 503 and away.headers.get("Retry-After") == "1"
            assert away.json()["error"]["code"] == "INTERNAL_ERROR" and "unavailable" in away.json()["error"]["message"]
            postgres.resume()
            statuses = [s.get("/v1/payments", params={"limit": 5}).status for _ in range(POOL_SIZE + 2)]
            # Connections that died with the server are dropped as they fail; new ones succeed.
            assert set(statuses) <= {200, 503} and statuses[-1] == 200
        finally:
            replica.stop()
    finally:
        postgres.stop()


def test_the_admin_reads_of_the_store_answer_503_while_the_database_is_away() -> None:
    # Credentials (a scoped list's known parent IDs) and samples read the store: with the database
    # away they answer the admin API's error shape with a 503 and Retry-After, as lists do (never an
    # HTML 500); once it is back, they answer again.
    postgres = Postgres()
    try:
        url = postgres.database("admin_away")
        replica = start_server(Path(postgres.root) / "admin.pg", apis=("zutax",), store=url, workers=1)
        try:
            for route in ("credentials", "samples"):
                assert requests.get(f"{replica.url}/__paymock/{route}", timeout=30).status_code == 200
            postgres.pause()
            for route in ("credentials", "samples"):
                away = requests.get(f"{replica.url}/__paymock/{route}", timeout=30)
                assert away.status_code == 503 and away.headers.get("Retry-After") == "1", away.text[:300]
                assert away.json()["error"] == "store_unavailable" and "PostgreSQL" in away.json()["message"]
            postgres.resume()
            statuses = [requests.get(f"{replica.url}/__paymock/samples", timeout=30).status_code for _ in range(12)]
            assert set(statuses) <= {200, 503} and statuses[-1] == 200
        finally:
            replica.stop()
    finally:
        postgres.stop()


def test_a_rule_posted_through_one_applies_through_the_other(control: tuple[LiveServer, LiveServer]) -> None:
    a, b = control
    rule = add_rule(a, api="flexportal", operation="listPayments", effect={"fault": "status", "status": 503})
    # The very next request through the other replica (any of its workers) meets the rule
    assert [Lister(b.url, "flexportal").get().status_code for _ in range(3)] == [503] * 3
    # And a rule deleted through the other replica no longer applies through the first
    requests.delete(f"{b.url}/__paymock/faults/{rule['id']}", timeout=30).raise_for_status()
    assert Lister(a.url, "flexportal").get().status_code == 200


def test_a_first_n_rule_fires_exactly_n_times_across_both_replicas(control: tuple[LiveServer, LiveServer]) -> None:
    a, b = control
    effect = {"fault": "status", "status": 502}
    add_rule(b, api="flexportal", operation="listPayments", effect=effect, schedule={"when": "first-n", "n": 2})
    listers = [Lister(r.url, "flexportal") for r in control]
    statuses = [listers[i % 2].get().status_code for i in range(6)]
    assert statuses == [502, 502, 200, 200, 200, 200]
    (listed,) = requests.get(f"{a.url}/__paymock/faults", timeout=30).json()["rules"]
    assert listed["matched"] == 6


def test_the_journal_through_one_lists_the_others_requests_and_one_delete_clears_both(
    control: tuple[LiveServer, LiveServer],
) -> None:
    a, b = control
    for _ in range(3):
        assert Lister(b.url, "flexportal").get({"status": "paid"}).status_code == 200
    assert Lister(a.url, "flexportal").get({"status": "failed"}).status_code == 200
    entries = journal(a, api="flexportal")
    assert [e["query"] for e in entries] == [[["status", "failed"]]] + [[["status", "paid"]]] * 3
    # Each request answered by a worker of the replica it was sent to
    assert {_parent(e["worker"]) for e in entries[1:]} == {b.process.pid}
    assert _parent(entries[0]["worker"]) == a.process.pid
    requests.delete(f"{b.url}/__paymock/requests", timeout=30).raise_for_status()
    assert journal(a) == [] and journal(b) == []


def test_verification_through_one_counts_requests_through_the_other(control: tuple[LiveServer, LiveServer]) -> None:
    a, b = control
    for _ in range(2):
        Lister(b.url, "flexportal").get({"status": "failed"})
    Lister(a.url, "flexportal").get({"status": "paid"})
    pattern = {"api": "flexportal", "method": "GET", "path": "/v1/payments", "query": {"status": "failed"}}
    verdict = requests.post(f"{a.url}/__paymock/requests/verify", json=pattern, timeout=30).json()
    assert verdict["count"] == 2


def test_a_detail_rule_posted_through_one_applies_through_the_other_found_or_not(
    control: tuple[LiveServer, LiveServer],
) -> None:
    # A detail is answered before its fault is chosen, with the rules' generation its own
    # statement read: a record that is not there reads it too.
    a, b = control
    s = Session(b.url, "flexportal")
    (pid,) = _pending(s)
    add_rule(a, api="flexportal", operation="getPayment", effect={"fault": "status", "status": 503})
    assert s.get(f"/v1/payments/{pid}").status == 503
    assert s.get("/v1/payments/no-such-payment").status == 503
    assert Lister(b.url, "flexportal").get().status_code == 200  # another operation: untouched


def test_a_rule_on_a_change_stops_it_on_the_other_replica(control: tuple[LiveServer, LiveServer]) -> None:
    # An operation that changes something chooses its fault first: a 503 means nothing changed.
    a, b = control
    s = Session(b.url, "flexportal")
    (pid,) = _pending(s)
    add_rule(a, api="flexportal", operation="cancelPayment", effect={"fault": "status", "status": 503})
    assert s.post(f"/v1/payments/{pid}/cancel").status == 503
    assert Session(a.url, "flexportal").get(f"/v1/payments/{pid}").json()["payment"]["status"] == "pending"


def test_a_fault_around_a_page_delivers_that_page(control: tuple[LiveServer, LiveServer]) -> None:
    # Chosen after the page, a wrapping fault (a slow body) still sends the page it wraps.
    a, b = control
    expected = Lister(a.url, "flexportal").get({"status": "paid"}).json()
    add_rule(a, api="flexportal", operation="listPayments", effect={"fault": "slow-body", "chunk": 4096, "interval": 1})
    dripped = Lister(b.url, "flexportal").get({"status": "paid"})
    assert dripped.status_code == 200 and dripped.json() == expected
    (listed,) = requests.get(f"{b.url}/__paymock/faults", timeout=30).json()["rules"]
    assert listed["matched"] == 1
