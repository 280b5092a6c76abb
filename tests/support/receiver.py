"""A real HTTP webhook receiver on 127.0.0.1 for tests: records deliveries, can fail or hang on cue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.arrived = 0  # requests received, answered or not (yet)
        self.statuses: list[int] = []  # answers for the next requests; 200 once exhausted
        self.release = threading.Event()
        self.release.set()
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._arrived:
                    receiver.arrived += 1
                    receiver._arrived.notify_all()
                receiver.release.wait(timeout=30)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                with receiver._arrived:
                    receiver.deliveries.append(
                        {"body": json.loads(body), "headers": dict(self.headers), "answered": status}
                    )
                    receiver._arrived.notify_all()
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for_arrivals(self, count: int, timeout: float = 10.0) -> int:
        """Wait until `count` requests have arrived (answered or held); returns how many did."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while self.arrived < count and time.monotonic() < deadline:
                self._arrived.wait(timeout=0.1)
            return self.arrived

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.deliveries) < count and time.monotonic() < deadline:
                self._arrived.wait(timeout=0.1)
        return list(self.deliveries)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()
