"""Calls every test module makes: credentials, base paths, the admin state, waits and concurrent callers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest
from starlette.testclient import TestClient

from mocks.vendors import VENDORS

IMPILO_KEY = {"Impilo-API-Key": "mock-impilo-api-key"}
LEGIT_AUTH = {"Authorization": "Bearer mock-legit-health-token"}
HEIDI_KEY = {"Heidi-Api-Key": "mock-heidi-api-key"}
FAST_RETRIES = (0.2, 0.4, 0.8)  # webhook retry schedule of the tests' mocks, in seconds

Client = TestClient | httpx.Client
Item = TypeVar("Item")
Result = TypeVar("Result")

# The store backends (the `store` fixture of conftest.py): a test marked with this runs on each.
on_each_store = pytest.mark.parametrize("store", ["memory", "sqlite", "postgresql"], indirect=True)


def base(api: str) -> str:
    """The mock's base path of one API, e.g. base("impilo") == "/impilo/api/v3"."""
    return next(vendor.base_path for vendor in VENDORS if vendor.name == api)


def heidi_token(client: Client, email: str = "test@heidihealth.com") -> dict[str, str]:
    """Heidi's bearer header: a JWT exchanged for the API key, as a Heidi client gets one."""
    response = client.get(
        f"{base('heidi')}/jwt",
        params={"email": email, "third_party_internal_id": "ehr-user-1"},
        headers=HEIDI_KEY,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def state(client: Client, api: str | None = None) -> dict[str, Any]:
    """What the mock holds (`GET /__mock/state`): every API's collections, or those of `api`."""
    response = client.get("/__mock/state")
    assert response.status_code == 200, response.text
    exported: dict[str, Any] = response.json()
    return exported if api is None else exported[api]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, ignoring: tuple[type[Exception], ...] = ()) -> Any:
    """The first truthy value of `predicate()`, polled every 50 ms; its last (falsy) value after `timeout`
    seconds, for the caller to assert on. Exceptions of the `ignoring` types count as a falsy value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except ignoring:
            value = None
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


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


def in_threads(work: Callable[[httpx.Client, Item], Result], items: Iterable[Item], workers: int = 50) -> list[Result]:
    """`work(client, item)` for every item on `workers` threads, results in the items' order.

    Each thread has its own `httpx.Client`. One client shared by 50 threads lost requests: once its pool
    (httpcore 1.0.9) holds more connections than it keeps alive (20), it closes every idle one, outside its
    lock, and a connection just handed to a waiting thread is still idle, so the close can land after that
    thread started its request (encode/httpcore#1110): `ReadError: [Errno 9] Bad file descriptor`, or a
    read that waits for its timeout."""
    local = threading.local()
    opened: list[httpx.Client] = []

    def run(item: Item) -> Result:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
            opened.append(local.client)
        return work(local.client, item)

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(run, items))
    finally:
        for client in opened:
            client.close()


def read_back(url: str, ids: list[int]) -> list[str | int]:
    """Each Impilo patient's firstName read back by id from `url` (a `.../patient` URL), in order, on 8
    threads; the status code where a read fails."""

    def first_name(http: httpx.Client, ident: int) -> str | int:
        response = http.get(f"{url}/{ident}", headers=IMPILO_KEY)
        return response.json()["firstName"] if response.status_code == 200 else response.status_code

    return in_threads(first_name, ids, workers=8)
