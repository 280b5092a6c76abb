"""Launch a server, time it to its first good answer, read its resident memory, stop it."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

POLL_SECONDS = 0.02


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, headers: dict[str, str], body: str | None = None, timeout: float = 5.0) -> tuple[int, int]:
    """(HTTP status, response body bytes) of one request, (0, 0) when nothing answers; a `body` POSTs JSON."""
    data = body.encode() if body is not None else None
    extra = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=data, headers={**headers, **extra})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), len(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), len(exc.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, 0


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    startup_seconds: float
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """Terminate the one process we started (kill it after 10 s), and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def launch(argv: list[str], ready_url: str, headers: dict[str, str], log_path: Path, limit: float = 60.0) -> Running:
    """Start `argv`; startup time is from launch to the first 2xx answer of `ready_url`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    running = Running(process, 0.0, log)
    while time.perf_counter() - started < limit:
        if process.poll() is not None:
            running.stop()
            raise RuntimeError(f"{argv[0]} exited with {process.returncode} before answering; see {log_path}")
        if 200 <= fetch(ready_url, headers, timeout=1.0)[0] < 300:
            running.startup_seconds = time.perf_counter() - started
            return running
        time.sleep(POLL_SECONDS)
    running.stop()
    raise RuntimeError(f"{argv[0]} gave no 2xx at {ready_url} within {limit:.0f} s; see {log_path}")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def rss_kib(pid: int) -> int:
    """Resident memory (VmRSS) of a process and its descendants, in KiB, from /proc."""
    total, todo, seen = 0, [pid], set[int]()
    while todo and len(seen) < 1000:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            todo += _children(current)
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total
