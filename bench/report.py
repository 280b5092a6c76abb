"""What the numbers were measured on (machine, versions, commit), the printed tables, and bench.json."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "connexion",
    "starlette",
    "granian",
    "uvicorn",
    "uvloop",
    "httptools",
    "jsonschema",
    "jsonschema-rs",
    "orjson",
)


def _first_line(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), None
    )
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), None)
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_kib": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": list(os.getloadavg()),
    }


def versions(prism: Path | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    found["wrk"] = _first_line(["wrk", "--version"])
    found["node"] = _first_line(["node", "--version"])
    found["prism"] = _first_line([str(prism), "--version"]) if prism else None
    commit = _first_line(["git", "rev-parse", "HEAD"])
    dirty = bool(_first_line(["git", "status", "--porcelain", "--", "mocks", "specs"]))
    found["git_commit"] = f"{commit}{' (mocks/ or specs/ modified)' if dirty else ''}" if commit else None
    return found


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write(path: Path, sections: dict[str, Any]) -> dict[str, Any]:
    """Merge `sections` into the report at `path` (so `make bench-scale` keeps the side-by-side part)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    if path.exists():
        try:
            report = json.loads(path.read_text())
        except json.JSONDecodeError:
            report = {}
    report.update(sections)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def side_by_side_table(result: dict[str, Any], settings: str) -> str:
    ours, prism, ratio = result["servers"]["ours"], result["servers"]["prism"], result["ratios_ours_over_prism"]
    rows = [
        f"wrk {settings}; {result['order']}",
        "| request | req/s ours | req/s Prism | ratio | p50 ms ours | p50 ms Prism | ratio "
        "| p99 ms ours | p99 ms Prism | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for probe in result["probes"]:
        a, b, r = ours["wrk"][probe["name"]], prism["wrk"][probe["name"]], ratio[probe["name"]]
        rows.append(
            f"| {probe['method']} {probe['path']} | {a['requests_per_second']:.0f} | {b['requests_per_second']:.0f} "
            f"| {_x(r['requests_per_second'])} | {a['latency_ms']['p50']:.1f} | {b['latency_ms']['p50']:.1f} "
            f"| {_x(r['p50'])} | {a['latency_ms']['p99']:.1f} | {b['latency_ms']['p99']:.1f} | {_x(r['p99'])} |"
        )
    rows.append(
        f"| start-up, s (median) | {ours['startup_median_seconds']:.2f} | {prism['startup_median_seconds']:.2f} "
        f"| {_x(ratio['startup'])} | | | | | | |"
    )
    rows.append(
        f"| RSS after load, MiB | {ours['rss_after_load_kib'] / 1024:.0f} | {prism['rss_after_load_kib'] / 1024:.0f} "
        f"| {_x(ratio['rss_after_load'])} | | | | | | |"
    )
    sizes = ", ".join(
        f"{p['name']} {ours['preflight'][p['name']]['bytes']}/{prism['preflight'][p['name']]['bytes']}"
        for p in result["probes"]
    )
    rows.append(f"response body bytes, ours/Prism: {sizes}")
    errors = {
        f"{name}/{probe}": run["errors"]
        for name, server in result["servers"].items()
        for probe, run in server["wrk"].items()
        if run["errors"]
    }
    if errors:
        rows.append(f"warning: wrk counted errors (non-2xx/3xx or socket errors): {errors}")
    return "\n".join(rows)


def scale_table(result: dict[str, Any]) -> str:
    sizes = [str(s) for s in result["sizes"]]
    operations = list(result["results"][sizes[0]]["operations"])
    head = " | ".join(f"{int(s):,} patients" for s in sizes)
    rows = [
        f"in-process (httpx ASGI transport), {result['requests_per_operation']} requests per operation; "
        "median ms (p99 ms)",
        f"| operation | {head} | {sizes[-1]}/{sizes[0]} |",
        "|---|" + "---:|" * (len(sizes) + 1),
    ]
    for op in operations:
        timed = [result["results"][s]["operations"][op] for s in sizes]
        cells = " | ".join(f"{t['median_ms']:.2f} ({t['p99_ms']:.2f})" for t in timed)
        rows.append(f"| {op} | {cells} | {_x(result['ratio_largest_over_smallest'][op])} |")
    memory = " | ".join(f"{result['results'][s]['kib_per_10k_patients'] / 1024:.1f}" for s in sizes)
    rows.append(f"| RSS per 10k patients, MiB | {memory} | |")
    return "\n".join(rows)
