"""Fixtures shared by the test modules: app factories, an in-process client and a real HTTP server.
Helpers the modules import live in tests/support/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mocks import context_of, create_app
from tests.support.helpers import FAST_RETRIES, heidi_token
from tests.support.live import LiveServer
from tests.support.postgres import PostgresServer
from tests.support.receiver import Receiver, running_receiver
from tests.support.webhooks import stop_deliveries


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (tests/support/postgres.py), started the first time a test needs it."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The store backend of the apps `make_client` makes, as `create_app` options: in memory, unless the
    test is marked `on_each_store` (tests/support/helpers.py), which runs it on memory, SQLite and
    PostgreSQL (a fresh database of the session's server)."""
    backend = getattr(request, "param", "memory")
    if backend == "postgresql":
        return {"state_file": request.getfixturevalue("postgres_server").database()}
    return {"state_file": str(tmp_path / "store.sqlite3")} if backend == "sqlite" else {}


@pytest.fixture
def make_client(store: dict[str, Any]) -> Iterator[Callable[..., TestClient]]:
    """Factory: an in-process client on a fresh app on the test's `store`; keyword arguments go to
    `create_app`."""
    opened: list[TestClient] = []

    def make(seed: int = 0, **overrides: Any) -> TestClient:
        overrides = {"webhook_retry_schedule": FAST_RETRIES, **store, **overrides}
        # base_url: a name the mock serves (TestClient's own, `testserver`, is refused as a foreign Host)
        app = create_app(seed=seed, **overrides)
        client = TestClient(app, base_url="http://localhost", raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
        stop_deliveries(client.app)
        context_of(client.app).store.close()  # a database store's connections


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """An in-process client on a fresh app seeded with 0."""
    return make_client()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free local port (tests/support/receiver.py), for the test's length."""
    with running_receiver() as started:
        yield started


@pytest.fixture
def heidi_auth(client: TestClient) -> dict[str, str]:
    """Heidi's bearer header for `client`'s app."""
    return heidi_token(client)


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    with LiveServer(seed=0) as server:
        yield server


@pytest.fixture
def fresh_server(live_server: LiveServer) -> LiveServer:
    """The session's real server, reset to its seed state."""
    live_server.reset()
    return live_server
