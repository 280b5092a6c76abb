"""Fixtures shared by the test modules: app factories, an in-process client and a real HTTP server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvloop
from starlette.testclient import TestClient

from mocks import context_of, create_app
from mocks.serve.server import embedded_server, served
from mocks.vendors import VENDORS
from mocks.webhooks.emit import WebhookEmitter
from tests.receiver import Receiver, running_receiver

IMPILO_KEY = {"Impilo-API-Key": "mock-impilo-api-key"}
LEGIT_AUTH = {"Authorization": "Bearer mock-legit-health-token"}
HEIDI_KEY = {"Heidi-Api-Key": "mock-heidi-api-key"}
FAST_RETRIES = (0.2, 0.4, 0.8)


def base(api: str) -> str:
    """The mock's base path of one API, e.g. base("impilo") == "/impilo/api/v3"."""
    return next(vendor.base_path for vendor in VENDORS if vendor.name == api)


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """Factory: an in-process client on a fresh app; keyword arguments go to `create_app`."""
    opened: list[TestClient] = []

    def make(seed: int = 0, **overrides: Any) -> TestClient:
        overrides.setdefault("webhook_retry_schedule", FAST_RETRIES)
        # base_url: a name the mock serves (TestClient's own, `testserver`, is refused as a foreign Host)
        app = create_app(seed=seed, **overrides)
        client = TestClient(app, base_url="http://localhost", raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
        for service in context_of(client.app).services.values():  # type: ignore[arg-type]
            if isinstance(getattr(service, "webhooks", None), WebhookEmitter):
                service.webhooks.close()  # its delivery thread, if the test started one


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """An in-process client on a fresh app seeded with 0."""
    return make_client()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free local port (tests/receiver.py), for the test's length."""
    with running_receiver() as started:
        yield started


def heidi_token(client: TestClient | httpx.Client, email: str = "test@heidihealth.com") -> dict[str, str]:
    response = client.get(
        f"{base('heidi')}/jwt",
        params={"email": email, "third_party_internal_id": "ehr-user-1"},
        headers=HEIDI_KEY,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def heidi_auth(client: TestClient) -> dict[str, str]:
    return heidi_token(client)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(url: str, timeout: float = 20.0, alive: Callable[[], bool] | None = None) -> Any:
    """The JSON of the first 200 from `url` (a server's /healthz); RuntimeError after `timeout` seconds,
    or as soon as `alive` says the server is gone."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or (alive is not None and not alive()):
            raise RuntimeError(f"the mock did not answer 200 at {url} within {timeout:g} s")
        time.sleep(0.02)


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
        wait_for_health(f"{self.url}/healthz", timeout=15, alive=self.thread.is_alive)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()

    def reset(self) -> None:
        assert httpx.post(f"{self.url}/__mock/reset").status_code == 200


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    with LiveServer(seed=0) as server:
        yield server


@pytest.fixture
def fresh_server(live_server: LiveServer) -> LiveServer:
    """The session's real server, reset to its seed state."""
    live_server.reset()
    return live_server


def read_back(http: httpx.Client, url: str, ids: list[int]) -> list[str | int]:
    """Each patient's firstName read back by id, in order (the status code where a read fails)."""

    def first_name(ident: int) -> str | int:
        response = http.get(f"{url}/{ident}", headers=IMPILO_KEY)
        return response.json()["firstName"] if response.status_code == 200 else response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(first_name, ids))
