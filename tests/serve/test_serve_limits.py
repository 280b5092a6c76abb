"""Slow and stalled clients against the served mock (`mocks/serve/server.py`): over real HTTP, Granian (what
`python -m mocks` serves) and uvicorn (RELOAD=1, WORKERS>1), with raw sockets for the clients that stall."""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import h11
import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp, Message, Receive

from mocks import create_app
from mocks.config import from_env
from mocks.serve.server import connection_limit, served, uvicorn_options
from tests.support.helpers import IMPILO_KEY, LEGIT_AUTH, base, free_port, heidi_token, wait_for_health
from tests.support.live import LiveServer

BODY_TIMEOUT = 0.5  # seconds, for the servers whose stalled bodies are meant to time out
GUARD_SECONDS = 30.0  # a socket read that waits longer has hung: the test fails instead of hanging
STALLED = 2_100  # more stalled connections than Granian's default number of connection slots (2,048)


class UvicornServer:
    """The served mock (`served`) on uvicorn in a background thread, as RELOAD=1 and WORKERS>1 run it."""

    def __init__(self, **overrides: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(**overrides)
        options = uvicorn_options("127.0.0.1", self.port, "warning", reload=False)
        self.server = uvicorn.Server(uvicorn.Config(served(self.app), **options))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> UvicornServer:
        self.thread.start()
        wait_for_health(f"{self.url}/healthz", timeout=15, alive=self.thread.is_alive)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module", params=["granian", "uvicorn"])
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer | UvicornServer]:
    """A served mock whose request bodies must arrive within BODY_TIMEOUT seconds."""
    kind = LiveServer if request.param == "granian" else UvicornServer
    with kind(seed=0, body_timeout_seconds=BODY_TIMEOUT) as running:
        yield running


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    closed: bool  # the server closed the connection after answering


def stalled(port: int, path: str, headers: dict[str, str]) -> tuple[socket.socket, h11.Connection]:
    """A connection that sent a POST's headers (`Content-Length: 1000`) and one byte of its body, then nothing."""
    connection = h11.Connection(h11.CLIENT)
    fields = [("Host", f"127.0.0.1:{port}"), ("Content-Type", "application/json"), ("Content-Length", "1000")]
    request = h11.Request(method="POST", target=path, headers=[*fields, *headers.items()])
    sock = socket.create_connection(("127.0.0.1", port), timeout=GUARD_SECONDS)
    sock.sendall(connection.send(request) + connection.send(h11.Data(data=b"{")))  # type: ignore[operator]
    return sock, connection


def answer(sock: socket.socket, connection: h11.Connection) -> Answer:
    """The response on a stalled connection, and whether the server then closes the connection."""
    response, body = None, b""
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    assert response is not None, "the server closed the connection without answering"
    headers = {k.decode().lower(): v.decode() for k, v in response.headers}
    return Answer(response.status_code, headers, json.loads(body), sock.recv(1) == b"")


def credentials(url: str, api: str) -> dict[str, str]:
    if api == "heidi":
        with httpx.Client(base_url=url) as http:
            return heidi_token(http)
    return {"impilo": IMPILO_KEY, "legit_health": LEGIT_AUTH}[api]


# (API, operation path under its base, extra headers): an `Origin` makes the compiled dispatcher hand the
# request to Connexion's chain, so both paths are covered
ROUTES = [
    pytest.param("impilo", "/patient", {}, id="impilo"),
    pytest.param("impilo", "/patient", {"Origin": "http://localhost:3000"}, id="impilo-through-connexion"),
    pytest.param("heidi", "/patient-profiles", {}, id="heidi"),
    pytest.param("legit_health", "/patients", {}, id="legit-health"),
]
# API -> where its error body names the error, and the name of a 408
TIMEOUT_NAMES: dict[str, tuple[Callable[[Any], str], str]] = {
    "impilo": (lambda body: body["error"], "Request Timeout"),
    "heidi": (lambda body: body["detail"]["type"], "RequestTimeoutError"),
    "legit_health": (lambda body: body["title"], "Request Timeout"),
}


@pytest.mark.parametrize(("api", "path", "extra"), ROUTES)
def test_served_mock_answers_408_and_closes_the_connection_when_a_body_stalls(
    server: LiveServer | UvicornServer, api: str, path: str, extra: dict[str, str]
) -> None:
    sock, connection = stalled(server.port, base(api) + path, {**credentials(server.url, api), **extra})
    with sock:
        got = answer(sock, connection)
    assert got.status == 408
    named, name = TIMEOUT_NAMES[api]
    assert named(got.body) == name
    assert got.headers["connection"] == "close" and got.closed


@pytest.mark.parametrize(("api", "path", "extra"), ROUTES)
@pytest.mark.parametrize(
    "sent", [{}, {"Authorization": "Bearer wrong", "Impilo-API-Key": "wrong"}], ids=["none", "wrong"]
)
def test_served_mock_answers_401_without_waiting_for_the_body_when_credentials_are_missing_or_wrong(
    server: LiveServer | UvicornServer, api: str, path: str, extra: dict[str, str], sent: dict[str, str]
) -> None:
    sock, connection = stalled(server.port, base(api) + path, {**sent, **extra})
    with sock:
        got = answer(sock, connection)
    assert got.status == 401  # a server that waited for the body first would have answered 408
    assert got.headers["connection"] == "close" and got.closed  # the rest of the body is not waited for


def test_served_mock_still_answers_when_more_connections_stall_their_bodies_than_granian_allowed_by_default() -> None:
    # the clients' and the server's ends of every connection are in this process
    if connection_limit() < STALLED + 100 or resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 2 * STALLED + 256:
        pytest.skip(f"the open-file limit is too low for {STALLED} connections to an in-process server")
    with LiveServer(seed=0, body_timeout_seconds=300) as live, ExitStack() as stack:
        for _ in range(STALLED):  # with the Impilo key: each waits inside the app for its body
            sock, _ = stalled(live.port, f"{base('impilo')}/patient", IMPILO_KEY)
            stack.enter_context(sock)
        with httpx.Client(base_url=live.url, timeout=GUARD_SECONDS) as http:
            assert http.get("/healthz").status_code == 200
            assert http.get(f"{base('impilo')}/patient/1", headers=IMPILO_KEY).status_code == 200


async def _call(
    app: ASGIApp, method: str, path: str, headers: list[tuple[bytes, bytes]], receive: Receive
) -> list[Message]:
    """What `app` sends for one request, called in-process."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("extra", [[], [(b"origin", b"http://localhost:3000")]], ids=["impilo", "through-connexion"])
def test_journal_records_the_408_when_a_body_stalls(extra: list[tuple[bytes, bytes]]) -> None:
    app = served(create_app(seed=0, body_timeout_seconds=BODY_TIMEOUT))
    path = f"{base('impilo')}/patient"
    key, json_type = (b"impilo-api-key", b"mock-impilo-api-key"), (b"content-type", b"application/json")
    headers = [key, json_type, (b"content-length", b"1000"), *extra]
    reads: list[Message] = [{"type": "http.request", "body": b"{", "more_body": True}]

    async def stalling() -> Message:
        if reads:
            return reads.pop()
        await asyncio.Event().wait()  # the rest of the body never comes
        raise AssertionError("unreachable")

    async def nothing() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def scenario() -> tuple[list[Message], list[Message]]:
        await _call(app, "GET", "/healthz", [], nothing)  # Connexion builds its stack, and the dispatcher with it
        answered = await _call(app, "POST", path, headers, stalling)
        return answered, await _call(app, "GET", "/__mock/requests", [], nothing)

    answered, listed = asyncio.run(asyncio.wait_for(scenario(), GUARD_SECONDS))
    assert answered[0]["status"] == 408, answered
    [entry] = json.loads(b"".join(m.get("body", b"") for m in listed))
    assert (entry["path"], entry["status"], entry["body"]) == (path, 408, "{")


def test_config_reads_body_timeout_when_set() -> None:
    assert from_env(environ={"BODY_TIMEOUT": "2.5"}).body_timeout_seconds == 2.5
    assert from_env(environ={}).body_timeout_seconds == 10.0


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_config_refuses_body_timeout_when_it_is_not_a_positive_number(value: str) -> None:
    with pytest.raises(ValueError, match="BODY_TIMEOUT"):
        from_env(environ={"BODY_TIMEOUT": value})
