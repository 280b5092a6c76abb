"""The webhook deliveries' HTTP client against small receivers on 127.0.0.1: statuses, kept-alive
connections, connections the receiver dropped while idle, receivers that never answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from mocks.webhooks.client import WebhookClient

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
KEEP_ALIVE_200 = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
CHUNKED_500 = b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfail\r\n0\r\n\r\n"


async def read_request(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    await reader.readexactly(length)
    return True


async def run(
    answer: bytes | None, posts: int, close_after_answer: bool = False, drop_second: bool = False, timeout: float = 5.0
) -> tuple[list[int | str], int]:
    """(status or exception name per POST, connections the receiver accepted)."""
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            served = 0
            while await read_request(reader):
                if drop_second and served:
                    break  # a receiver that dropped the idle connection just as the request came
                served += 1
                if answer is None:
                    await asyncio.sleep(10)  # hang
                writer.write(answer or b"")
                await writer.drain()
                if close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the test is over
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook?x=1"
    client = WebhookClient(timeout)
    results: list[int | str] = []
    try:
        for _ in range(posts):
            try:
                results.append(await client.post(url, b'{"id": 1}', {"Content-Type": "application/json"}))
            except Exception as exc:
                results.append(type(exc).__name__)
            await asyncio.sleep(0.05)  # let a closing receiver's FIN arrive
    finally:
        await client.aclose()
        server.close()
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers)
    return results, len(handlers)


def test_webhook_client_reuses_one_connection_when_the_receiver_keeps_it_alive() -> None:
    assert asyncio.run(run(KEEP_ALIVE_200, 3)) == ([200, 200, 200], 1)


def test_webhook_client_replaces_a_connection_when_the_receiver_closed_it_while_idle() -> None:
    assert asyncio.run(run(KEEP_ALIVE_200, 3, close_after_answer=True)) == ([200, 200, 200], 3)


def test_webhook_client_resends_on_a_new_connection_when_a_reused_one_is_dropped_before_answering() -> None:
    assert asyncio.run(run(KEEP_ALIVE_200, 3, drop_second=True)) == ([200, 200, 200], 3)


def test_webhook_client_reads_a_chunked_error_answer_and_keeps_the_connection() -> None:
    assert asyncio.run(run(CHUNKED_500, 2)) == ([500, 500], 1)


def test_webhook_client_raises_timeout_when_the_receiver_never_answers() -> None:
    assert asyncio.run(run(None, 1, timeout=0.2)) == (["TimeoutError"], 1)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hook", "http:///nohost"], ids=["not-http", "no-host"])
def test_webhook_client_rejects_a_url_it_cannot_post_to(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        asyncio.run(WebhookClient(1.0).post(url, b"{}", {}))
