"""Requests/s of the mock on PostgreSQL, one replica and two, against the in-memory mock on the same machine.

`python -m bench.replicas --state postgresql://...` (name an empty database): each setup is started as
`python -m mocks` processes (the replicas on that database), then wrk runs each request against it; with two
replicas, two wrk processes at once, one per replica, each with half the connections (a load balancer's
share), and their requests/s are added. Reported, not asserted: on a machine whose cores are shared by the
database, the replicas and wrk, a second replica competes for the same cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.servers import Running, free_port, launch
from bench.wrk import WrkSettings, add_wrk_arguments, run, settings_from

BASE = "/impilo/api/v3"
KEY = {"Impilo-API-Key": "mock-impilo-api-key"}
BODY = json.dumps({"firstName": "Bench", "lastName": "Replica", "email": "bench@example.com"})
REQUESTS = {  # name -> (path, body)
    "GET one patient": (f"{BASE}/patient/1", None),
    "GET a page of 15": (f"{BASE}/patient?page=1&size=15", None),
    "POST a patient": (f"{BASE}/patient", BODY),
}


def start(state: str | None, logs: Path) -> Running:
    port = free_port()
    env = ["env", f"STATE={state}"] if state else ["env", "-u", "STATE"]
    argv = [*env, sys.executable, "-m", "mocks", "--port", str(port)]
    return launch(argv, f"http://127.0.0.1:{port}{BASE}/patient/1", KEY, logs / f"replica-{port}.log", limit=120)


def url_of(server: Running) -> str:
    port = server.process.args[-1]  # type: ignore[index]
    return f"http://127.0.0.1:{port}"


def measure(servers: list[Running], settings: WrkSettings) -> dict[str, Any]:
    """Requests/s of each request, the servers loaded at once (connections split between them)."""
    share = replace(settings, connections=max(1, settings.connections // len(servers)))
    figures: dict[str, Any] = {}
    for name, (path, body) in REQUESTS.items():
        urls = [url_of(server) + path for server in servers]
        with ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(lambda url, b=body: run(url, share, KEY, b, settings.warmup), urls))  # warm-up
            results = list(pool.map(lambda url, b=body: run(url, share, KEY, b), urls))
        figures[name] = {
            "requests_per_second": round(sum(r.requests_per_second for r in results)),
            "p99_ms": max(r.latency_ms["p99"] for r in results),
            "errors": sum(r.errors for r in results),
        }
    return figures


def compare(state: str, settings: WrkSettings, logs: Path) -> dict[str, Any]:
    setups = {"memory, 1 process": (None, 1), "PostgreSQL, 1 replica": (state, 1), "PostgreSQL, 2 replicas": (state, 2)}
    results: dict[str, Any] = {}
    for label, (store, count) in setups.items():
        print(f"  {label}", flush=True)
        servers = [start(store, logs) for _ in range(count)]
        try:
            results[label] = measure(servers, settings)
        finally:
            for server in servers:
                server.stop()
    return {"settings": {**vars(settings), "wrk_argv": settings.argv()}, "results": results}


def table(report: dict[str, Any]) -> str:
    setups = list(report["results"])
    lines = ["| request | " + " | ".join(setups) + " |", "|---|" + "---:|" * len(setups)]
    for name in REQUESTS:
        cells = [report["results"][s][name] for s in setups]
        lines.append(
            f"| {name} | " + " | ".join(f"{c['requests_per_second']:,} ({c['p99_ms']:.1f})" for c in cells) + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True, help="a postgresql:// URL (an empty database)")
    parser.add_argument("--out", type=Path, default=Path("reports/replicas.json"))
    add_wrk_arguments(parser, "unused here", rounds=1)
    args = parser.parse_args(argv)
    report = compare(args.state, settings_from(args), args.out.parent / "bench-logs")
    print("requests/s (p99 ms)\n" + table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
