"""Slow clients against a served mock: stalled request bodies must not stop the server, and must end.

A mock is started as users start it (`python -m mocks`, one process) with `BODY_TIMEOUT=<seconds>` in its
environment. Then `connections` clients each send a request's headers (declaring a 100-byte JSON body)
and one body byte, and stall: writes with and without credentials, to two APIs. While they are open,
`/healthz` and an authenticated `GET` are probed twice a second.

Hard properties: every probe answers 200 while the stalled clients are open (`health_answers_while_stalled`,
`authenticated_get_answers_while_stalled`); every stalled client is answered or closed within
`BODY_TIMEOUT` + `grace` seconds of opening (`slow_clients_closed`; a server without a body timeout
leaves them open, which fails this as "no timeout"); and the server answers normally once they leave.
The default of 2,200 clients is past the ~2,100 that stopped `/healthz` when issue 12 was filed; a few
hundred test only that they are closed.
"""

from __future__ import annotations

import selectors
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import servers

IMPILO_KEY = {"Impilo-API-Key": "mock-impilo-api-key"}
DECLARED_BYTES = 100
PROBE_SECONDS = 0.5
PROBE_TIMEOUT = 5.0
AFTER_SECONDS = 1.0
# (method, path, headers) the stalled clients cycle through: with and without credentials
TARGETS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("POST", "/impilo/api/v3/patient", IMPILO_KEY),
    ("POST", "/impilo/api/v3/patient", {}),
    ("POST", "/legit-health/deep-link/v1/patients", {"Authorization": "Bearer mock-legit-health-token"}),
    ("POST", "/legit-health/deep-link/v1/patients", {}),
)
PROBES = {"health": ("/healthz", {}), "authenticated_get": ("/impilo/api/v3/patient?page=1&size=1", IMPILO_KEY)}


def mock_reads(variable: str, value: str) -> bool:
    """Whether the mock's configuration changes when `variable=value` is set (it reads the variable)."""
    from mocks.config import from_env

    try:
        return from_env(seed=0, environ={variable: value}) != from_env(seed=0, environ={})
    except ValueError:  # it reads the variable, and refuses this value
        return True


def stalled_request(method: str, path: str, headers: dict[str, str], host: str) -> bytes:
    """A request's head declaring a `DECLARED_BYTES` JSON body, and the body's first byte."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             f"Content-Length: {DECLARED_BYTES}", *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n{").encode()


def status_of(first_bytes: bytes) -> str:
    """`HTTP/1.1 408 Request Timeout\\r\\n...` -> "408"; "answered" when the status line is cut."""
    parts = first_bytes.split(b" ", 2)
    return parts[1].decode("ascii", "replace") if len(parts) > 1 and parts[1].isdigit() else "answered"


@dataclass
class Stalled:
    """The stalled connections, watched for an answer or a close."""

    opened: dict[socket.socket, float] = field(default_factory=dict)
    count: int = 0
    ended: Counter[str] = field(default_factory=Counter)  # "closed" or the answer's status
    seconds_to_end: list[float] = field(default_factory=list)
    open_errors: Counter[str] = field(default_factory=Counter)
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)

    def open(self, address: tuple[str, int], request: bytes) -> None:
        try:
            sock = socket.create_connection(address, timeout=PROBE_TIMEOUT)
            sock.sendall(request)
        except OSError as exc:
            self.open_errors[type(exc).__name__] += 1
            return
        sock.setblocking(False)
        self.opened[sock] = time.monotonic()
        self.count += 1
        self.selector.register(sock, selectors.EVENT_READ)

    def watch(self, seconds: float) -> None:
        """Note every connection the server answers or closes within `seconds`."""
        for key, _ in self.selector.select(timeout=max(seconds, 0)):
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            self.ended["closed" if not data else status_of(data)] += 1
            self.seconds_to_end.append(round(time.monotonic() - self.opened[sock], 2))
            self.selector.unregister(sock)

    @property
    def still_open(self) -> int:
        return len(self.selector.get_map())

    def close(self) -> None:
        if not self.opened:
            return
        for sock in self.opened:
            if sock in self.selector.get_map():
                self.selector.unregister(sock)
            sock.close()
        self.opened.clear()


def verdict(left_open: int, opened: int, known: bool) -> str:
    if not left_open:
        return "every stalled client answered or closed in time"
    why = "" if known else " (the mock does not read BODY_TIMEOUT)"
    return f"no timeout{why}: all {opened:,} left open" if left_open == opened else f"{left_open:,} left open{why}"


def _probe(root: str, probes: dict[str, list[int]], latencies: list[float]) -> None:
    for name, (path, headers) in PROBES.items():
        started = time.monotonic()
        probes[name].append(servers.fetch(f"{root}{path}", headers, timeout=PROBE_TIMEOUT)[0])
        latencies.append(time.monotonic() - started)


def measure(connections: int, body_timeout: float, grace: float, logs: Path) -> dict[str, Any]:
    """Open `connections` stalled clients on a fresh mock with `BODY_TIMEOUT=body_timeout`; the verdict."""
    known = mock_reads("BODY_TIMEOUT", f"{body_timeout:g}")
    port = servers.free_port()
    root = f"http://127.0.0.1:{port}"
    argv = ["env", f"BODY_TIMEOUT={body_timeout:g}", sys.executable, "-m", "mocks", "--port", str(port)]
    mock = servers.launch(argv, f"{root}/healthz", {}, logs / "soak-slowclients-mock.log")
    stalled = Stalled()
    probes: dict[str, list[int]] = {name: [] for name in PROBES}
    latencies: list[float] = []
    started = time.monotonic()
    try:
        for n in range(connections):
            method, path, headers = TARGETS[n % len(TARGETS)]
            stalled.open(("127.0.0.1", port), stalled_request(method, path, headers, f"127.0.0.1:{port}"))
            if n % 50 == 49:
                _probe(root, probes, latencies)
                stalled.watch(0)
        all_open = time.monotonic()
        deadline = all_open + body_timeout + grace
        while time.monotonic() < deadline:
            _probe(root, probes, latencies)
            stalled.watch(min(PROBE_SECONDS, deadline - time.monotonic()))
        stalled.watch(0)
        left_open = stalled.still_open
        rss = servers.rss_kib(mock.pid)
        stalled.close()  # the clients leave: the server must be itself again
        time.sleep(AFTER_SECONDS)
        after = {name: servers.fetch(f"{root}{path}", headers, timeout=PROBE_TIMEOUT)[0]
                 for name, (path, headers) in PROBES.items()}  # fmt: skip
    finally:
        stalled.close()
        stalled.selector.close()
        mock.stop()
    checks = {
        "health_answers_while_stalled": bool(probes["health"]) and set(probes["health"]) == {200},
        "authenticated_get_answers_while_stalled": bool(probes["authenticated_get"])
        and set(probes["authenticated_get"]) == {200},
        "slow_clients_closed": left_open == 0 and stalled.count > 0,
        "answers_after_slow_clients_leave": set(after.values()) == {200},
    }
    ends = sorted(stalled.seconds_to_end)
    return {
        "connections": connections,
        "opened": stalled.count,
        "open_errors": dict(stalled.open_errors),
        "body_timeout_seconds": body_timeout,
        "grace_seconds": grace,
        "seconds_open_to_deadline": round(time.monotonic() - started, 1),
        "ended": dict(stalled.ended),
        "left_open": left_open,
        "mock_reads_body_timeout": known,
        "verdict": verdict(left_open, stalled.count, known),
        "seconds_to_end": {"min": ends[0], "max": ends[-1]} if ends else None,
        "probes": {name: dict(Counter(map(str, statuses))) for name, statuses in probes.items()},
        "probe_ms_max": round(max(latencies, default=0) * 1000, 1),
        "after": after,
        "mock_rss_kib": rss,
        "checks": checks,
        "ok": all(checks.values()),
    }


def table(result: dict[str, Any]) -> str:
    probes = result["probes"]
    cells = " | ".join(
        f"{sum(v for k, v in probes[name].items() if k == '200')}/{sum(probes[name].values())}" for name in PROBES
    )
    return "\n".join(
        [
            "| stalled clients | BODY_TIMEOUT, s | answered or closed | left open after timeout + grace "
            "| /healthz 200 while open | authenticated GET 200 while open | slowest probe, ms | after they leave |",
            "|---:|---:|---|---:|---:|---:|---:|---|",
            f"| {result['opened']:,} of {result['connections']:,} | {result['body_timeout_seconds']:g} | "
            f"{result['ended'] or '-'} | {result['left_open']:,} | {cells} | {result['probe_ms_max']:.0f} | "
            f"{result['after']} |",
            f"verdict: {result['verdict']}",
        ]
    )
