"""Misbehaving webhook receivers on 127.0.0.1 for the soak run: one that refuses connections, one that
accepts and never answers, one that answers 500, and one that fails a few times and then accepts. Any of
them can `recover` (answer 200 from then on; a refusing one starts listening on its port).

They run on one asyncio loop in a background thread of the soak process, so they can take thousands of
connections at once (the mock opens one per delivery attempt). Every connection is closed when the hub
stops, and a hanging connection is dropped after `HANG_LIMIT_SECONDS` at the latest.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

HANG_LIMIT_SECONDS = 120.0
READ_LIMIT_SECONDS = 10.0
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024


def _answer(status: int) -> bytes:
    reason = {200: "OK", 500: "Internal Server Error"}[status]
    return f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """The body of one HTTP/1.1 request (Content-Length framed), or None if the peer gave up first."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_LIMIT_SECONDS)
        length = 0
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = min(int(value.strip() or 0), MAX_BODY_BYTES)
        return await asyncio.wait_for(reader.readexactly(length), READ_LIMIT_SECONDS) if length else b""
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError, ValueError):
        return None


@dataclass
class Receiver:
    """One receiver: `script` gives the behaviour of its first requests ("hang", 500 or 200), `then`
    the behaviour of every later one."""

    name: str
    then: str | int
    script: list[str | int] = field(default_factory=list)
    url: str = ""
    connections: int = 0
    requests: int = 0
    answered: dict[int, int] = field(default_factory=dict)
    hung: int = 0
    # The bodies it answered 2xx to, as received: bytes are not tracked by the garbage collector, where
    # parsed events (~30 objects each) made this process's full collections walk millions of objects and
    # pause every receiver for over a second, and the mock timed out deliveries they had answered.
    bodies: list[bytes] = field(default_factory=list)
    _sockets: set[asyncio.StreamWriter] = field(default_factory=set, repr=False)

    def recover(self) -> None:
        """Answer 200 to every request from now on (connections already hanging stay so)."""
        self.script.clear()
        self.then = 200

    @property
    def events(self) -> list[Any]:
        """The JSON bodies it answered 2xx to, parsed, in arrival order (bodies that are not JSON left out)."""
        parsed = []
        for body in self.bodies:
            with suppress(ValueError):
                parsed.append(json.loads(body))
        return parsed

    def summary(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "connections": self.connections,
            "requests": self.requests,
            "answered": {str(k): v for k, v in sorted(self.answered.items())},
            "hung": self.hung,
            "accepted_events": len(self.bodies),
        }

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._sockets.add(writer)
        try:
            body = await _read_request(reader)
            if body is None:
                return
            self.requests += 1
            behaviour = self.script.pop(0) if self.script else self.then
            if behaviour == "hang":
                self.hung += 1
                with suppress(TimeoutError):  # until the mock gives up and closes, or the limit
                    await asyncio.wait_for(reader.read(), HANG_LIMIT_SECONDS)
                return
            status = int(behaviour)
            self.answered[status] = self.answered.get(status, 0) + 1
            if 200 <= status < 300:
                self.bodies.append(body)
            writer.write(_answer(status))
            with suppress(ConnectionError):
                await writer.drain()
        finally:
            self._sockets.discard(writer)
            writer.close()


class Hub:
    """The receivers' event loop and servers; `refusing_url` is a bound port that never listens."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="webhook-receivers", daemon=True)
        self._servers: list[asyncio.Server] = []
        self.receivers: list[Receiver] = []
        self._closed_socket = socket.socket()
        self._closed_socket.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        self.refusing_url = f"http://127.0.0.1:{self._closed_socket.getsockname()[1]}/hook"
        self._refusing: dict[str, socket.socket] = {}  # add_refusing's sockets, by receiver URL

    def start(self) -> None:
        self._thread.start()

    def add(self, name: str, then: str | int, script: list[str | int] | None = None) -> Receiver:
        receiver = Receiver(name, then, list(script or []))

        async def serve() -> asyncio.Server:
            return await asyncio.start_server(receiver.handle, "127.0.0.1", 0, backlog=4096, limit=MAX_HEADER_BYTES)

        server = asyncio.run_coroutine_threadsafe(serve(), self.loop).result(timeout=10)
        receiver.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
        self._servers.append(server)
        self.receivers.append(receiver)
        return receiver

    def add_refusing(self, name: str) -> Receiver:
        """A receiver whose port refuses connections (bound, not listening) until `recover_refusing`."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        receiver = Receiver(name, 200)
        receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        self._refusing[receiver.url] = sock
        self.receivers.append(receiver)
        return receiver

    def recover_refusing(self, receiver: Receiver) -> None:
        """Start listening on a refusing receiver's port; it answers 200 from then on."""
        sock = self._refusing.pop(receiver.url)

        async def serve() -> asyncio.Server:
            return await asyncio.start_server(receiver.handle, sock=sock, backlog=4096, limit=MAX_HEADER_BYTES)

        self._servers.append(asyncio.run_coroutine_threadsafe(serve(), self.loop).result(timeout=10))

    def stop(self) -> None:
        async def close() -> None:
            for server in self._servers:
                server.close()
            for receiver in self.receivers:
                for writer in list(receiver._sockets):
                    writer.close()
            await asyncio.sleep(0.1)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()
        self._closed_socket.close()
        for sock in self._refusing.values():
            sock.close()


@contextmanager
def running_hub() -> Iterator[Hub]:
    hub = Hub()
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
