"""Figure 2, depth: latency of a deep page vs the first page, with 1,000,000 payments in one tenant.

One API at a time is seeded with ``--payments N --tenants 1`` (the seeding time is printed; the
data file is kept under $PAYMOCK_BENCH_DATA, default /tmp/paymock-bench, and reused next time).

- Cursor styles (flexportal ``startAfter``, notify ``from``): the whole collection is walked with
  the largest page size, following each answer's cursor or next link, and the last page's URL is
  kept. Then the first and the last page (page size 50) are requested in turn, ``--repeat`` times
  each, on one keep-alive connection. Target: last page p50 within 2x of the first page's.
- Offset styles (exsited ``offset``, zuora ``page``): the page at position 900,000 (scaled with
  ``--payments``) vs the first page, with the API's filter and a non-default sort where it has
  them. Target: within 5x.

Every request is sequential (no other load), so a latency is what one client sees. The very
first deep request (before any warm-up) is printed too: the offset styles may build a cache on it.

    .venv/bin/python bench/depth.py [--quick] [--apis flexportal zuora] [--payments 1000000]
"""

from __future__ import annotations

import statistics
import time
import urllib.parse

from _common import (
    Client,
    client,
    data_file,
    get,
    header,
    latencies,
    parser,
    percentile,
    running,
    seed,
    start_paymock,
    table,
)

TARGETS = {"flexportal": 2.0, "notify": 2.0, "exsited": 5.0, "zuora": 5.0}


def world(api: str, payments: int) -> tuple[str, float | None]:
    """The data file for ``api`` with ``payments`` in one tenant; seconds spent seeding it now, if any."""
    data = data_file(f"{api}-{payments}x1")
    return str(data), seed([api, "--payments", str(payments), "--tenants", "1", "--data", str(data)])


def walk_cursor(c: Client, api: str) -> tuple[str, int, float]:
    """Walk the whole list with the largest page; returns (query of the last page, pages, seconds)."""
    started = time.perf_counter()
    pages = 0
    if api == "flexportal":
        cursor: str | None = None
        while True:
            query = "limit=100" + (f"&startAfter={cursor}" if cursor else "")
            body = get(f"{c.base}/v1/payments?{query}", c.headers).json()
            pages += 1
            if not body["hasMore"]:
                break
            cursor = body["nextCursor"]
        # ``cursor`` is the one that fetched the last page.
        return (f"startAfter={cursor}" if cursor else ""), pages, time.perf_counter() - started
    url: str | None = f"{c.base}/v2/payments?limit=250"
    last = url
    while url:
        body = get(url, c.headers).json()
        pages += 1
        last = url
        nxt = body.get("links", {}).get("next")
        url = nxt["href"] if nxt else None
    assert last is not None
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(last).query))
    return (
        (f"from={params['from']}" if "from" in params else ""),
        pages,
        time.perf_counter() - started,
    )


def cursor_urls(c: Client, api: str) -> tuple[str, str, str]:
    """(first page URL, last page URL, how the last page was found)."""
    query, pages, took = walk_cursor(c, api)
    path = "/v1/payments?limit=50" if api == "flexportal" else "/v2/payments?limit=50"
    how = f"full walk: {pages:,} pages at max size in {took:.1f}s ({took / pages * 1000:.1f} ms/page)"
    return c.base + path, c.base + path + "&" + query, how


def offset_urls(c: Client, api: str, payments: int) -> tuple[str, str, str]:
    """(first page URL, deep page URL, what the deep page is)."""
    position = payments * 9 // 10
    if api == "exsited":
        # No filter parameter exists on /api/v3/payments; order_by=asc is the non-default sort.
        base = f"{c.base}/api/v3/payments?limit=50&order_by=asc"
        return (
            base + "&offset=0",
            base + f"&offset={position}",
            f"offset={position:,}, order_by=asc, no filter (API has none)",
        )
    # zuora: a filter that keeps most rows, so the deep position exists inside the filtered set.
    size = 40
    filt, matched = _zuora_filter(c)
    sort = "sort=%2Bamount"  # '+' is descending in Zuora's sort syntax
    pos = min(position, max(0, matched - size))
    page = pos // size + 1
    base = f"{c.base}/v1/payments?pageSize={size}&{filt}&{sort}"
    return (
        base + "&page=1",
        base + f"&page={page}",
        f"page={page:,} (row {(page - 1) * size:,} of {matched:,} matching {filt}), sort=+amount",
    )


def _zuora_filter(c: Client) -> tuple[str, int]:
    """The zuora filter that keeps the most rows (counted from the data, via a quick walk is too slow).

    Zuora's list answers no total, so the match count comes from a binary search over ``page``.
    """
    best = ("type=Electronic", 0)
    for filt in ("type=Electronic", "type=External", "status=Processed"):
        lo, hi = 1, 1_000_000 // 40 + 2
        while lo < hi:
            mid = (lo + hi + 1) // 2
            body = get(f"{c.base}/v1/payments?pageSize=40&{filt}&page={mid}", c.headers).json()
            if body.get("payments"):
                lo = mid
            else:
                hi = mid - 1
        body = get(f"{c.base}/v1/payments?pageSize=40&{filt}&page={lo}", c.headers).json()
        matched = (lo - 1) * 40 + len(body.get("payments", []))
        if matched > best[1]:
            best = (filt, matched)
    return best


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--apis", nargs="*", default=["flexportal", "notify", "exsited", "zuora"])
    p.add_argument(
        "--payments",
        type=int,
        help="payments in the one tenant (default 1,000,000; 20,000 with --quick)",
    )
    p.add_argument("--repeat", type=int, help="requests per page (default 200; 50 with --quick)")
    args = p.parse_args()
    payments = args.payments or (20_000 if args.quick else 1_000_000)
    repeat = args.repeat or (50 if args.quick else 200)
    header(f"depth: deep page vs first page, {payments:,} payments in one tenant")
    rows = []
    for api in args.apis:
        data, seeded = world(api, payments)
        print(
            f"   {api}: "
            + (f"seeded {payments:,} payments in {seeded:.1f}s" if seeded else "data file already seeded"),
            flush=True,
        )
        with running(start_paymock([api, "--payments", str(payments), "--tenants", "1", "--data", data])) as server:
            c = client(server, api)
            if api in ("flexportal", "notify"):
                first, deep, how = cursor_urls(c, api)
            else:
                first, deep, how = offset_urls(c, api, payments)
            print(f"   {api}: {how}", flush=True)
            # The very first deep request, before any warm-up: what a cold cache costs.
            cold = latencies(deep, c.headers, 1)[0]
            latencies(first, c.headers, 5)
            latencies(deep, c.headers, 5)
            a: list[float] = []
            b: list[float] = []
            # Interleave, so drift on the machine hits both alike.
            for _ in range(max(1, repeat // 10)):
                a += latencies(first, c.headers, 10)
                b += latencies(deep, c.headers, 10)
            ratio = statistics.median(b) / statistics.median(a)
            target = TARGETS[api]
            rows.append(
                [
                    api, statistics.median(a) * 1000, percentile(a, 99) * 1000, statistics.median(b) * 1000,
                    percentile(b, 99) * 1000, cold * 1000, f"{ratio:.1f}x", f"{target:g}x",
                    "met" if ratio <= target else "MISSED", how,
                ]
            )  # fmt: skip
            print(
                f"   {api}: first p50 {statistics.median(a) * 1000:.1f} ms,"
                f" deep p50 {statistics.median(b) * 1000:.1f} ms",
                flush=True,
            )
    print()
    table(
        rows,
        [
            "api",
            "first p50 ms",
            "first p99",
            "deep p50 ms",
            "deep p99",
            "deep 1st ms",
            "ratio",
            "target",
            "",
            "deep page",
        ],
    )


if __name__ == "__main__":
    main()
