"""Our Impilo mock and Prism on the same spec and requests, one server at a time, under the same wrk load."""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import servers
from bench.wrk import WrkSettings
from bench.wrk import run as run_wrk

IMPILO_KEY = {"Impilo-API-Key": "mock-impilo-api-key"}
SPEC = Path("specs/impilo.yaml")
PATIENT_BODY = '{"firstName":"Emily","lastName":"Clark"}'


@dataclass(frozen=True)
class Probe:
    name: str
    method: str
    path: str  # relative to the API's base URL
    body: str | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


# Order matters: POST last, so the patients it creates do not lengthen our list for the GETs.
PROBES = (
    Probe("get_patient", "GET", "/patient/1234"),
    Probe("list_patients", "GET", "/patient?page=1&size=15"),
    Probe("create_patient", "POST", "/patient", PATIENT_BODY),
)


@dataclass(frozen=True)
class Target:
    name: str
    argv: Callable[[int], list[str]]  # port -> command line
    base: Callable[[int], str]  # port -> base URL of the Impilo API
    ready: Callable[[int], str]  # port -> URL whose first 2xx marks "started"


def ours() -> Target:
    return Target(
        "ours",
        lambda port: [sys.executable, "-m", "mocks", "--host", "127.0.0.1", "--port", str(port), "--seed", "0"],
        lambda port: f"http://127.0.0.1:{port}/impilo/api/v3",
        lambda port: f"http://127.0.0.1:{port}/healthz",
    )


def prism(binary: Path, log_level: str = "warn") -> Target:
    """Prism serves the spec's paths at its root (the `servers` base path is not part of them); request
    validation stays on (its default); `-v warn` drops its per-request log, as our mock logs at warning."""
    return Target(
        "prism",
        lambda port: [str(binary), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", log_level, str(SPEC)],
        lambda port: f"http://127.0.0.1:{port}",
        lambda port: f"http://127.0.0.1:{port}/patient/1234",
    )


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


@dataclass
class Up:
    """One started server and what has been measured on it so far."""

    target: Target
    running: servers.Running
    base: str
    figures: dict[str, Any]


def start(target: Target, startup_runs: int, logs: Path) -> Up:
    """Start-up is the median of `startup_runs` launches (the last stays up); then a 2xx check of every probe."""
    startups: list[float] = []
    for attempt in range(max(1, startup_runs)):
        port = servers.free_port()
        running = servers.launch(target.argv(port), target.ready(port), IMPILO_KEY, logs / f"{target.name}.log")
        startups.append(running.startup_seconds)
        if attempt < startup_runs - 1:
            running.stop()
    up = Up(target, running, target.base(port), {})
    up.figures["startup_seconds"] = [round(s, 3) for s in startups]
    up.figures["startup_median_seconds"] = round(statistics.median(startups), 3)
    up.figures["rss_idle_kib"] = servers.rss_kib(running.pid)
    checks = {p.name: servers.fetch(up.base + p.path, IMPILO_KEY, p.body) for p in PROBES}
    up.figures["preflight"] = {name: {"status": status, "bytes": size} for name, (status, size) in checks.items()}
    bad = {name: status for name, (status, _) in checks.items() if not 200 <= status < 300}
    if bad:
        raise RuntimeError(f"{target.name} does not answer 2xx, so there is no fair comparison: {bad}")
    return up


def load(up: Up, probe: Probe, settings: WrkSettings) -> dict[str, Any]:
    print(f"  {up.target.name:<6} {probe.label:<28} warm-up {settings.warmup}, then {settings.duration}", flush=True)
    run_wrk(up.base + probe.path, settings, IMPILO_KEY, probe.body, duration=settings.warmup)
    result = run_wrk(up.base + probe.path, settings, IMPILO_KEY, probe.body).as_dict()
    return {**result, "load_average_1min_after": round(os.getloadavg()[0], 2)}  # others' work shows up here


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over rounds of req/s and each latency percentile; errors added up; every round kept."""
    keys = rounds[0]["latency_ms"].keys()
    return {
        "requests_per_second": round(statistics.median(r["requests_per_second"] for r in rounds), 2),
        "latency_ms": {k: round(statistics.median(r["latency_ms"][k] for r in rounds), 3) for k in keys},
        "errors": sum(r["errors"] for r in rounds),
        "rounds": rounds,
    }


def ratios(ours_run: dict[str, Any], prism_run: dict[str, Any]) -> dict[str, Any]:
    """ours / Prism for every figure: above 1 is better for us in req/s, worse in latency, memory, start-up."""
    out: dict[str, Any] = {}
    for probe in PROBES:
        a, b = ours_run["wrk"][probe.name], prism_run["wrk"][probe.name]
        out[probe.name] = {
            "requests_per_second": _ratio(a["requests_per_second"], b["requests_per_second"]),
            "p50": _ratio(a["latency_ms"]["p50"], b["latency_ms"]["p50"]),
            "p99": _ratio(a["latency_ms"]["p99"], b["latency_ms"]["p99"]),
        }
    out["startup"] = _ratio(ours_run["startup_median_seconds"], prism_run["startup_median_seconds"])
    out["rss_after_load"] = _ratio(ours_run["rss_after_load_kib"], prism_run["rss_after_load_kib"])
    return out


def side_by_side(
    prism_binary: Path, settings: WrkSettings, startup_runs: int, logs: Path, rounds: int = 2
) -> dict[str, Any]:
    """Both servers up, never loaded together: per probe, one server's warm-up and run, then the other's;
    each round reverses who goes first, so drift in the machine's background load falls on both."""
    targets = (ours(), prism(prism_binary))
    ups: list[Up] = []
    measured: dict[str, dict[str, list[dict[str, Any]]]] = {t.name: {p.name: [] for p in PROBES} for t in targets}
    try:
        for target in targets:  # start-up timed one at a time, the other not yet launched or idle
            ups.append(start(target, startup_runs, logs))
        for round_ in range(max(1, rounds)):
            order = ups if round_ % 2 == 0 else ups[::-1]
            for probe in PROBES:
                for up in order:
                    measured[up.target.name][probe.name].append(load(up, probe, settings))
        for up in ups:
            up.figures["rss_after_load_kib"] = servers.rss_kib(up.running.pid)
    finally:
        for up in ups:
            up.running.stop()
    runs = {
        up.target.name: {**up.figures, "wrk": {name: summary(r) for name, r in measured[up.target.name].items()}}
        for up in ups
    }
    return {
        "probes": [{"name": p.name, "method": p.method, "path": p.path, "body": p.body} for p in PROBES],
        "order": (
            f"both servers up, one loaded at a time: per request ours then Prism, reversed each round; "
            f"{max(1, rounds)} round(s), medians"
        ),
        "rounds": max(1, rounds),
        "servers": runs,
        "ratios_ours_over_prism": ratios(runs["ours"], runs["prism"]),
    }
