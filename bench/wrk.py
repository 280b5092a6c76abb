"""Run wrk and read its text report: requests/s, latency percentiles, errors."""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZE = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}


@dataclass(frozen=True)
class WrkSettings:
    threads: int = 2
    connections: int = 32
    duration: str = "10s"
    warmup: str = "2s"
    timeout: str = "5s"

    def argv(self, duration: str | None = None) -> list[str]:
        return ["-t", str(self.threads), "-c", str(self.connections), "-d", duration or self.duration,
                "--timeout", self.timeout, "--latency"]  # fmt: skip


def add_wrk_arguments(parser: argparse.ArgumentParser, rounds_help: str, rounds: int = 2) -> None:
    """The load settings `make bench` and `make soak` share, so both measure the same way."""
    defaults = WrkSettings()
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--connections", type=int, default=defaults.connections)
    parser.add_argument("--duration", default=defaults.duration, help="wrk -d of each measured run (default 10s)")
    parser.add_argument("--warmup", default=defaults.warmup, help="wrk run before each measured one, discarded")
    parser.add_argument("--rounds", type=int, default=rounds, help=f"{rounds_help} (default {rounds})")


def settings_from(args: argparse.Namespace) -> WrkSettings:
    return WrkSettings(args.threads, args.connections, args.duration, args.warmup)


@dataclass
class WrkResult:
    requests_per_second: float
    latency_ms: dict[str, float]  # "p50", "p75", "p90", "p99", "avg", "max"
    requests: int
    seconds: float
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    raw: str = ""

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + sum(self.socket_errors.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "errors": self.errors}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse(text: str) -> WrkResult:
    """Parse the report wrk prints with `--latency`; raises ValueError naming what is missing."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    done = re.search(r"^\s*(\d+) requests in ([\d.]+\w+),", text, re.M)
    if rps is None or done is None:
        raise ValueError(f"no 'Requests/sec' or 'N requests in' line in wrk output:\n{text}")
    latency = {f"p{p}": _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", text, re.M)}
    if "p50" not in latency or "p99" not in latency:
        raise ValueError(f"no latency distribution in wrk output (run with --latency):\n{text}")
    stats = re.search(r"^\s+Latency\s+([\d.]+\w+)\s+[\d.]+\w+\s+([\d.]+\w+)", text, re.M)
    if stats:
        latency |= {"avg": _ms(stats[1]), "max": _ms(stats[2])}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True)) if sockets else {}
    )
    return WrkResult(
        requests_per_second=float(rps[1]),
        latency_ms=latency,
        requests=int(done[1]),
        seconds=_ms(done[2]) / 1000,
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=socket_errors,
        raw=text,
    )


def post_script(body: str, directory: Path) -> Path:
    """A wrk Lua script that POSTs `body` as JSON (written next to the run, from the one body constant)."""
    lua = f'wrk.method = "POST"\nwrk.body = [==[{body}]==]\nwrk.headers["Content-Type"] = "application/json"\n'
    path = directory / "post.lua"
    path.write_text(lua)
    return path


def run(
    url: str, settings: WrkSettings, headers: dict[str, str], body: str | None = None, duration: str | None = None
) -> WrkResult:
    """One wrk run against `url` (GET, or POST of `body`); bounded by the duration plus a minute."""
    argv = ["wrk", *settings.argv(duration)]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        if body is not None:
            argv += ["-s", str(post_script(body, Path(tmp)))]
        argv.append(url)
        limit = _ms(duration or settings.duration) / 1000 + 60
        done = subprocess.run(argv, capture_output=True, text=True, timeout=limit, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return parse(done.stdout)
