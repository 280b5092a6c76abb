"""`python -m bench.stalled`: stalled request bodies against a served mock, and whether it still answers.

Opens `--connections` raw connections that each send a request's headers (`Content-Length: 1000`) and one
byte of its body, then nothing (`--kind silent`: nothing at all); while they are open, probes `/healthz`
and an authenticated GET with a fresh client. Then waits `--wait` seconds (from the first connection) and
reports what became of the stalled connections: the status line each got (408, 401 ...), closed without
an answer, or still open, and the started mock's resident memory. Not a test (it takes resources and
time); the numbers go in reports or a closing note. `--env BODY_TIMEOUT=5` sets the started mock's limit.

    python -m bench.stalled --connections 2100 --kind key          # a fresh `python -m mocks`
    python -m bench.stalled --url http://127.0.0.1:8000 --kind anonymous
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import resource
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import servers

PATIENT = "/impilo/api/v3/patient"
KEY = ("Impilo-API-Key", "mock-impilo-api-key")
# kind -> (method, path, extra header lines) of the stalled request; None: connect and send nothing
KINDS: dict[str, tuple[str, str, str] | None] = {
    "key": ("POST", PATIENT, f"{KEY[0]}: {KEY[1]}\r\n"),  # good credentials: the body is needed
    "anonymous": ("POST", PATIENT, ""),  # no credentials: answerable (401) without the body
    "admin": ("POST", "/__mock/impilo/orders/1/status", ""),  # a mock route that reads a body, without credentials
    "silent": None,  # not even a request head
}


def stalled(host: str, port: int, kind: str) -> socket.socket:
    """A connection that sent a request's headers and one byte of its 1,000-byte body (or nothing)."""
    request = KINDS[kind]
    sock = socket.create_connection((host, port), timeout=5)
    if request is None:
        sock.setblocking(False)
        return sock
    method, path, extra = request
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"{extra}Content-Length: 1000\r\n\r\n{{"
    )
    sock.sendall(head.encode())
    sock.setblocking(False)
    return sock


def fate(sock: socket.socket) -> str:
    """The status code a stalled connection got ("408"), "closed" without an answer, or "open"."""
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return "open"
    except ConnectionResetError:
        return "reset"
    if not data:
        return "closed"
    status = data.split(b"\r\n", 1)[0].split(b" ")
    closed = False
    try:
        while sock.recv(65536):
            pass
        closed = True
    except BlockingIOError:
        pass
    except ConnectionResetError:
        closed = True
    return f"{status[1].decode() if len(status) > 1 else '?'}{' then closed' if closed else ' kept open'}"


def probe(url: str, headers: dict[str, str], timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    status, _ = servers.fetch(url, headers, timeout=timeout)
    return {"status": status, "ms": round((time.perf_counter() - started) * 1000, 1)}


def raise_open_files(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        soft = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def measure(
    host: str, port: int, connections: int, kind: str, wait: float, probes: int, pid: int | None = None
) -> dict[str, Any]:
    base = f"http://{host}:{port}"
    rss_before = servers.rss_kib(pid) if pid else None
    raise_open_files(connections + 256)
    socks: list[socket.socket] = []
    refused: Counter[str] = Counter()
    started = time.perf_counter()
    for _ in range(connections):
        try:
            socks.append(stalled(host, port, kind))
        except OSError as exc:
            refused[errno.errorcode.get(exc.errno or 0, type(exc).__name__)] += 1
    opened_s = round(time.perf_counter() - started, 2)
    time.sleep(1.0)  # the server takes them in
    rss_open = servers.rss_kib(pid) if pid else None
    checks = []
    for _ in range(probes):
        checks.append(
            {
                "healthz": probe(f"{base}/healthz", {}, 5.0),
                "get_patient": probe(f"{base}{PATIENT}/1", {KEY[0]: KEY[1]}, 5.0),
            }
        )
        time.sleep(0.5)
    early = Counter(fate(s) for s in socks)
    time.sleep(max(0.0, wait - (time.perf_counter() - started)))
    late = Counter(fate(s) for s in socks)
    after = probe(f"{base}/healthz", {}, 5.0)
    for sock in socks:
        sock.close()
    return {
        "kind": kind,
        "connections": connections,
        "connect_errors": dict(refused),
        "opened_in_s": opened_s,
        "probes_while_open": checks,
        "fates_after_probes": dict(early),
        f"fates_after_{wait:g}s": dict(late),
        "healthz_after": after,
        "server_rss_kib": {"before": rss_before, "while_open": rss_open},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stalled", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running mock (default: start `python -m mocks` on a free port)")
    parser.add_argument("--connections", type=int, default=2100)
    parser.add_argument("--kind", choices=sorted(KINDS), default="key")
    parser.add_argument("--wait", type=float, default=15.0, help="seconds after opening to look again")
    parser.add_argument("--probes", type=int, default=4)
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the started mock")
    args = parser.parse_args(argv)
    running = None
    if args.url:
        host, _, port_text = args.url.removeprefix("http://").rstrip("/").partition(":")
        port = int(port_text or 80)
    else:
        host, port = "127.0.0.1", servers.free_port()
        env = dict(os.environ, **dict(item.split("=", 1) for item in args.env))
        os.environ.update(env)
        running = servers.launch(
            [sys.executable, "-m", "mocks", "--port", str(port)],
            f"http://{host}:{port}/healthz", {}, Path("reports/stalled-mock.log"),
        )  # fmt: skip
    try:
        pid = running.pid if running else None
        result = measure(host, port, args.connections, args.kind, args.wait, args.probes, pid)
    finally:
        if running is not None:
            running.stop()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
