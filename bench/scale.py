"""Cost of Impilo patient reads as the store grows: list a page, filter by externalIdentifier, get by id,
plus (extra) a page filtered on a field with no index (`archived=false`), which has to look at every patient.

With `--state postgresql://...` the store is that database (`STATE=`, name an empty one): the sizes run one
after the other on it, each adding patients to what the last one left, in transactions of 1,000, then
`ANALYZE`d as autovacuum would; the memory figures then say little.

Each size runs in its own process (`python -m bench.scale --size N`), so its memory figure is not blurred
by the sizes before it. The store is filled in-process with copies of a seeded patient (distinct id,
externalIdentifier, names, email and street), then each request is timed through httpx's ASGI transport in
one event loop: the whole ASGI app (routing, security, request and response validation, handler) without
sockets or HTTP parsing. (Starlette's TestClient adds about 1 ms of thread hand-off per request, more than
the app itself spends on a GET, which would flatten the curve.)
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from bench.servers import rss_kib

BASE = "/impilo/api/v3"
KEY = {"Impilo-API-Key": "mock-impilo-api-key"}
SIZES = (1_000, 10_000, 100_000)
OPERATIONS = ("list_page", "filter_external_identifier", "get_by_id", "list_unindexed_filter")
WARMUP = 10
TIME_LIMIT_SECONDS = 120.0  # per operation and size: the loop stops there even if requests remain


def fill(patients: Any, size: int, lock: Any = None) -> list[tuple[int, str]]:
    """Add copies of seeded patient 1 until the collection holds `size`; returns (id, externalIdentifier).
    With the store's `lock`, 1,000 at a time are one transaction."""
    template = patients.get(1)
    added: list[tuple[int, str]] = []
    missing = max(0, size - len(patients))
    if lock is not None:
        for start in range(0, missing, 1000):
            with lock:
                added += _fill(patients, template, range(start, min(missing, start + 1000)))
        return added
    return _fill(patients, template, range(missing))


def _fill(patients: Any, template: Any, numbers: range) -> list[tuple[int, str]]:
    added: list[tuple[int, str]] = []
    for n in numbers:
        key = int(patients.new_id())
        record = copy.deepcopy(template)
        record.update(
            id=key,
            firstName=f"Bench{n}",
            lastName=f"Patient{n}",
            email=f"bench.patient{n}@example.com",
            externalIdentifier=hashlib.md5(f"bench-{n}".encode()).hexdigest(),
        )
        record["address"]["lineOne"] = f"{n} Bench Street"
        patients.put(key, record)
        added.append((key, record["externalIdentifier"]))
    return added


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


async def _time_operations(app: Any, paths: dict[str, Callable[[], str]], size: int, requests: int) -> dict[str, Any]:
    import httpx

    timings: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost", headers=KEY) as client:
        for operation, path_of in paths.items():
            samples: list[float] = []
            deadline = time.perf_counter() + TIME_LIMIT_SECONDS
            for n in range(WARMUP + requests):
                if time.perf_counter() > deadline:
                    break
                path = path_of()
                t0 = time.perf_counter()
                response = await client.get(path)
                elapsed = (time.perf_counter() - t0) * 1000
                if response.status_code != 200 or (operation != "get_by_id" and not response.json()["content"]):
                    raise RuntimeError(f"GET {path} with {size} patients: {response.status_code} {response.text[:200]}")
                if n >= WARMUP:
                    samples.append(elapsed)
            timings[operation] = {
                "requests": len(samples),
                "median_ms": round(statistics.median(samples), 3),
                "p99_ms": round(_percentile(samples, 99), 3),
                "mean_ms": round(statistics.fmean(samples), 3),
            }
    return timings


def measure(size: int, requests: int, seed: int = 0, state: str | None = None) -> dict[str, Any]:
    warnings.filterwarnings("ignore")  # connexion's note that starlette.testclient wants httpx2; not ours

    from mocks import context_of, create_app

    app = create_app(seed=0, state_file=state)
    store = context_of(app).store
    patients = store.collection("impilo", "patients")
    gc.collect()
    rss_before, started = rss_kib(os.getpid()), time.perf_counter()
    added = fill(patients, size, store.lock if state else None)
    if state and hasattr(store, "connection"):
        with store.connection() as db:  # the planner's statistics, as autovacuum keeps them
            db.execute("ANALYZE mock_records")
    fill_seconds = time.perf_counter() - started
    gc.collect()
    rss_after = rss_kib(os.getpid())
    pick = random.Random(seed)
    paths: dict[str, Callable[[], str]] = {
        "list_page": lambda: f"{BASE}/patient?page=1&size=15",
        "filter_external_identifier": lambda: f"{BASE}/patient?externalIdentifier={pick.choice(added)[1]}",
        "get_by_id": lambda: f"{BASE}/patient/{pick.choice(added)[0]}",
        "list_unindexed_filter": lambda: f"{BASE}/patient?archived=false&page=1&size=15",
    }
    timings = asyncio.run(_time_operations(app, paths, size, requests))
    grown = rss_after - rss_before
    return {
        "patients": len(patients),
        "added": len(added),
        "fill_seconds": round(fill_seconds, 2),
        "rss_before_fill_kib": rss_before,
        "rss_after_fill_kib": rss_after,
        "kib_per_10k_patients": round(grown / len(added) * 10_000) if added else None,
        "operations": timings,
    }


def curve(sizes: tuple[int, ...] = SIZES, requests: int = 200, state: str | None = None) -> dict[str, Any]:
    """Every size in a fresh process, then the ratio largest/smallest of each operation's median."""
    results: dict[str, Any] = {}
    for size in sizes:
        print(f"  scale  {size:>7} patients: {requests} requests per operation", flush=True)
        argv = [sys.executable, "-m", "bench.scale", "--size", str(size), "--requests", str(requests)]
        argv += ["--state", state] if state else []
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=len(OPERATIONS) * TIME_LIMIT_SECONDS + 300, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"scale run for {size} patients failed:\n{done.stderr[-2000:]}")
        results[str(size)] = json.loads(done.stdout.strip().splitlines()[-1])
    small, large = results[str(min(sizes))], results[str(max(sizes))]
    ratio = {
        op: round(large["operations"][op]["median_ms"] / small["operations"][op]["median_ms"], 2) for op in OPERATIONS
    }
    return {
        "method": "in-process, httpx ASGI transport in one event loop; one process per size; "
        "store filled with copies of a seeded patient",
        "store": "postgresql" if state else "memory",
        "sizes": list(sizes),
        "requests_per_operation": requests,
        "results": results,
        "ratio_of": f"{max(sizes)}/{min(sizes)}, medians",
        "ratio_largest_over_smallest": ratio,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description="one size of the scale curve, as JSON")
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--state", help="a postgresql:// URL: the store in that database (default: in memory)")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.size, args.requests, state=args.state)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
