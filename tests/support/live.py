"""The mock served over real HTTP in the test process, as `make mock` serves it."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import uvloop

from mocks import create_app
from mocks.serve.server import embedded_server, served
from tests.support.helpers import FAST_RETRIES, free_port, wait_for_health
from tests.support.webhooks import stop_deliveries


async def _cancel_pending() -> None:
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


class LiveServer:
    """The mock served over real HTTP on 127.0.0.1 as `make mock` serves it (`served`: front door, Host
    check, body deadline; Granian, embedded), on its own event loop in a background thread."""

    def __init__(self, **overrides: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        overrides.setdefault("webhook_retry_schedule", FAST_RETRIES)
        overrides.setdefault("own_ports", (self.port,))  # as `python -m mocks` does: webhooks to it are refused
        self.app = create_app(**overrides)
        self.server = embedded_server(served(self.app), "127.0.0.1", self.port)
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.loop.run_until_complete(self.server.serve())
        # As `asyncio.run` does when `make mock` stops: what is still pending (the body deadline's watcher,
        # a request cut off) is cancelled and awaited before the loop closes.
        self.loop.run_until_complete(_cancel_pending())

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for_health(
            f"{self.url}/healthz", timeout=60, alive=self.thread.is_alive
        )  # a bound, not a measure: a fresh checkout bundles and validates the specs first
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()
        stop_deliveries(self.app)

    def reset(self) -> None:
        assert httpx.post(f"{self.url}/__mock/reset").status_code == 200
