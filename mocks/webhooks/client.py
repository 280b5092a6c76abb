"""The HTTP client of webhook deliveries: one POST, its status back, connections kept alive per origin.

Lean on purpose. The delivery thread shares the interpreter (and its GIL) with the API, so every
microsecond it spends is taken from the API. httpx cost 1-3 ms of CPU per attempt there, more for a
refused connection (its exception chain); this costs a fraction of that. h11, the HTTP/1.1 parser under
httpx, frames the messages, and TLS comes from the standard `ssl` module. There are no proxies and no
redirects: a 3xx answer is a failed delivery, as with httpx's defaults. `timeout` bounds a whole attempt
(connect, send, answer). The caller names the addresses to connect to (those `mocks.webhooks.policy`
checked); the URL's host then goes only in `Host` and in TLS, so DNS cannot send the request elsewhere. A
kept-alive connection that the receiver closed while it sat idle is replaced once, transparently, if it
fails before any answer arrived.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from urllib.parse import urlsplit

import h11

IDLE_SECONDS = 4.0  # a kept-alive connection unused this long is closed (servers often drop them at 5 s)
READ_BYTES = 65536

Origin = tuple[str, str, int]


class _StaleConnectionError(Exception):
    """A reused connection failed before any answer: the receiver had closed it."""


@lru_cache(maxsize=1024)
def _target(url: str) -> tuple[Origin, str, str]:
    """(origin, request target, Host header) of an http(s) URL; ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.netloc.rpartition("@")[2]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, parts.hostname, port), path, host


class _Connection:
    __slots__ = ("address", "http", "idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str) -> None:
        self.reader, self.writer, self.address = reader, writer, address
        self.http = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class WebhookClient:
    """POSTs for one event loop; `max_idle` kept-alive connections per origin at most."""

    def __init__(self, timeout: float, max_idle: int = 8) -> None:
        self.timeout, self.max_idle = timeout, max_idle
        self._idle: dict[Origin, list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], addresses: Sequence[str] = ()) -> int:
        """The receiver's status code. With `addresses`, the connection goes to one of them (tried in order;
        a kept-alive one only if its address is among them) and the URL's host is used for `Host` and TLS
        only; without, the host is resolved here. Raises TimeoutError past `timeout`, OSError when the
        connection fails, h11.ProtocolError for a malformed answer, ValueError for a URL that is not http(s)."""
        origin, path, host = _target(url)
        fields = [("Host", host), *headers.items(), ("Content-Length", str(len(body)))]
        async with asyncio.timeout(self.timeout):
            reused = self._take(origin, addresses)
            if reused is not None:
                try:
                    return await self._exchange(origin, reused, path, fields, body, reused=True)
                except _StaleConnectionError:
                    pass
            fresh = await self._connect(origin, addresses)
            return await self._exchange(origin, fresh, path, fields, body, reused=False)

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _take(self, origin: Origin, addresses: Sequence[str]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            fresh = now - connection.idle_since < IDLE_SECONDS and not connection.reader.at_eof()
            if fresh and (not addresses or connection.address in addresses):
                return connection
            connection.close()
        return None

    def _put_back(self, origin: Origin, connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= self.max_idle:
            connection.close()
            return
        connection.http.start_next_cycle()
        connection.idle_since = time.monotonic()
        idle.append(connection)

    async def _connect(self, origin: Origin, addresses: Sequence[str]) -> _Connection:
        """A new connection to the first of `addresses` that accepts (to `host` when there are none)."""
        scheme, host, port = origin
        if scheme == "https" and self._ssl is None:
            self._ssl = ssl.create_default_context()
        tls = {"ssl": self._ssl, "server_hostname": host} if scheme == "https" else {}
        failure: OSError | None = None
        for address in addresses or (host,):
            try:
                reader, writer = await asyncio.open_connection(address, port, **tls)  # type: ignore[arg-type]
            except OSError as exc:
                failure = exc
                continue
            return _Connection(reader, writer, address)
        assert failure is not None
        raise failure

    async def _exchange(
        self,
        origin: Origin,
        connection: _Connection,
        path: str,
        fields: list[tuple[str, str]],
        body: bytes,
        reused: bool,
    ) -> int:
        http, status = connection.http, None
        try:
            request = http.send(h11.Request(method="POST", target=path, headers=fields)) or b""
            connection.writer.write(
                request + (http.send(h11.Data(data=body)) or b"") + (http.send(h11.EndOfMessage()) or b"")
            )
            while True:
                event = http.next_event()
                if event is h11.NEED_DATA:
                    try:
                        data = await connection.reader.read(READ_BYTES)
                    except OSError as exc:
                        raise (_StaleConnectionError() if reused and status is None else exc) from exc
                    if not data and reused and status is None:
                        raise _StaleConnectionError()
                    http.receive_data(data)
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise ConnectionResetError("the receiver closed the connection before answering")
        except BaseException:
            connection.close()
            raise
        if status is None:  # pragma: no cover - h11 yields a Response before EndOfMessage
            connection.close()
            raise h11.RemoteProtocolError("no response")
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            self._put_back(origin, connection)
        else:
            connection.close()
        return status
