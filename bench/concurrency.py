"""Figure 5, concurrency: racing mark-paid and cancel under list load lose no update (correctness).

Serves flexportal with its default worker settings, resets it, picks ``--count`` pending
payments (``?status=pending``), then, while wrk loads the list endpoint, fires from a bounded
thread pool ``--tries`` mark-paid and ``--tries`` cancel requests per payment, a payment's
requests side by side in the queue so that they race (random order within the group).
Every response is recorded. Printed checks (PASS/FAIL):

- no request failed: no 5xx, no connection error, and wrk saw no error or non-2xx answer;
- every answer is 200 or 409 (a transition from a status that does not allow it);
- every payment has exactly one 200 (one winner) and its final GET shows the winner's status;
- the winners' statuses are what the list filters see (``?status=paid``/``cancelled`` contain them,
  ``?status=pending`` no longer does).

    .venv/bin/python bench/concurrency.py [--quick] [--count 200] [--tries 2] [--threads 16]
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

from _common import (
    Client,
    Load,
    client,
    data_file,
    get,
    header,
    parser,
    percentile,
    request,
    running,
    start_paymock,
    wrk,
)

WINNER_STATUS = {"mark-paid": "paid", "cancel": "cancelled"}


def pending(c: Client, count: int) -> list[str]:
    """Up to ``count`` pending payment IDs of the tenant."""
    ids: list[str] = []
    cursor = ""
    while len(ids) < count:
        body = get(f"{c.base}/v1/payments?limit=100&status=pending{cursor}", c.headers).json()
        ids += [p["paymentId"] for p in body["payments"]]
        if not body["hasMore"]:
            break
        cursor = f"&startAfter={body['nextCursor']}"
    return ids[:count]


def listed(c: Client, status: str, wanted: set[str]) -> set[str]:
    """Which of ``wanted`` the list with ``status=`` shows (walks the whole filtered list)."""
    seen: set[str] = set()
    cursor = ""
    while True:
        body = get(f"{c.base}/v1/payments?limit=100&status={status}{cursor}", c.headers).json()
        seen |= {p["paymentId"] for p in body["payments"]} & wanted
        if not body["hasMore"]:
            return seen
        cursor = f"&startAfter={body['nextCursor']}"


def check(name: str, ok: bool, detail: str) -> bool:
    """Print one PASS/FAIL line."""
    print(f"   {'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)
    return ok


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--count", type=int, help="payments to race on (default 200; 40 with --quick)")
    p.add_argument("--tries", type=int, default=2, help="mark-paid and cancel requests each, per payment")
    p.add_argument("--threads", type=int, default=16, help="client threads firing the updates")
    p.add_argument("--seconds", type=float, help="wrk load on the list (default 20; 6 with --quick)")
    args = p.parse_args()
    count = args.count or (40 if args.quick else 200)
    seconds = args.seconds or (6.0 if args.quick else 20.0)
    header(f"concurrency: {count} payments x ({args.tries} mark-paid + {args.tries} cancel) under list load")
    data = data_file("concurrency-default")
    with running(start_paymock(["flexportal", "--data", str(data)])) as server:
        reset = request("POST", f"{server.url}/__paymock/reset")
        print(f"   reset: {reset.status} {reset.body.decode()[:80]}")
        c = client(server, "flexportal")
        ids = pending(c, count)
        # A payment's requests are adjacent in the queue, so the pool's threads send them at the
        # same moment: they race for real. Their order within the group is random.
        rng = random.Random(4)
        jobs = []
        for pid in ids:
            group = [(pid, action) for action in WINNER_STATUS for _ in range(args.tries)]
            rng.shuffle(group)
            jobs += group
        load: list[Load] = []
        loader = threading.Thread(
            target=lambda: load.append(wrk(f"{c.base}/v1/payments?limit=50&status=paid", c.headers, seconds, 8))
        )
        loader.start()
        answers: dict[str, list[tuple[str, int]]] = defaultdict(list)
        failures: list[str] = []
        seconds_each: list[float] = []
        lock = threading.Lock()

        def fire(job: tuple[str, str]) -> None:
            pid, action = job
            body = json.dumps({}).encode() if action == "mark-paid" else None
            headers = {**c.headers, "Content-Type": "application/json"} if body else c.headers
            began = time.perf_counter()
            try:
                a = request("POST", f"{c.base}/v1/payments/{pid}/{action}", headers, body, timeout=30)
                status = a.status
                if status >= 500:
                    with lock:
                        failures.append(f"{pid} {action}: {status} {a.body[:200]!r}")
            except Exception as exc:  # a connection error is a failure to record, not to raise
                status = -1
                with lock:
                    failures.append(f"{pid} {action}: {type(exc).__name__}: {exc}")
            with lock:
                answers[pid].append((action, status))
                seconds_each.append(time.perf_counter() - began)

        began = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(fire, jobs))
        took = time.perf_counter() - began
        overlapped = loader.is_alive()
        loader.join()
        statuses = Counter(s for a in answers.values() for _, s in a)
        finals = {pid: get(f"{c.base}/v1/payments/{pid}", c.headers).json() for pid in ids}
        wanted = set(ids)
        by_list = {s: listed(c, s, wanted) for s in ("paid", "cancelled", "pending")}
        request("POST", f"{server.url}/__paymock/reset")
    print(f"   answers: {dict(sorted(statuses.items()))} over {len(jobs)} updates; list load: "
          f"{load[0].rps:,.0f} rps, p50 {load[0].p50_ms:.1f} ms, p99 {load[0].p99_ms:.1f} ms")  # fmt: skip
    print(
        f"   updates: {len(jobs)} in {took:.1f}s from {args.threads} threads"
        f" ({'all during' if overlapped else 'NOT all during'} the list load);"
        f" p50 {percentile(seconds_each, 50) * 1000:.1f} ms, p99 {percentile(seconds_each, 99) * 1000:.1f} ms"
    )
    results = []
    results.append(
        check(
            "no update failed",
            not failures,
            f"{len(failures)} failures" + (f"; first: {failures[0]}" if failures else ""),
        )
    )
    results.append(
        check(
            "list load clean",
            load[0].errors == 0 and load[0].non_2xx == 0,
            f"{load[0].requests:,} requests, {load[0].errors} socket errors, {load[0].non_2xx} non-2xx",
        )
    )
    results.append(check("answers are 200 or 409", set(statuses) <= {200, 409}, f"{dict(statuses)}"))
    winners = {pid: [a for a, s in answers[pid] if s == 200] for pid in ids}
    one = [pid for pid, w in winners.items() if len(w) == 1]
    results.append(
        check(
            "one winner per payment",
            len(one) == len(ids),
            f"{len(one)}/{len(ids)} payments have exactly one 200",
        )
    )

    def final_status(pid: str) -> str:
        doc = finals[pid]
        return str((doc.get("payment") or doc.get("data") or doc).get("status"))

    agree = [pid for pid in one if final_status(pid) == WINNER_STATUS[winners[pid][0]]]
    results.append(check("final GET agrees with the winner", len(agree) == len(ids), f"{len(agree)}/{len(ids)}"))
    in_list = [pid for pid in one if pid in by_list[WINNER_STATUS[winners[pid][0]]] and pid not in by_list["pending"]]
    results.append(
        check(
            "list filters agree",
            len(in_list) == len(ids),
            f"{len(in_list)}/{len(ids)} listed under the winner's status only",
        )
    )
    won = Counter(WINNER_STATUS[w[0]] for w in winners.values() if w)
    print(f"   winners: {dict(won)}")
    print(f"   {'PASS' if all(results) else 'FAIL'}: {sum(results)}/{len(results)} checks")


if __name__ == "__main__":
    main()
