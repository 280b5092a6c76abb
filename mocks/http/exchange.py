"""One request and its response as they crossed the wire, and reading a request body so it can be replayed.

Both request paths record what they answered as an `Exchange` (the journal in `mocks.dx.journal` lists them);
the fast path reads a body ahead with `buffered` and hands it on with `replaying` when it declines.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import Message, Receive

Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class Exchange:
    """One request and its response as they crossed the wire; turned into JSON only when listed."""

    at: float
    api: str
    method: str
    path: str
    query: bytes
    headers: Headers
    body: bytes
    status: int
    response_headers: Headers
    response_body: bytes
    duration_ms: float
    forced: bool
    id: int = 0


async def buffered(receive: Receive, limit: int, messages: list[Message]) -> bytes:
    """Read the request body up to `limit` bytes into `messages` (the rest stays unread), to replay it
    downstream; what was read before a read failed (a body that stalled) stays there too."""
    size = 0
    while size <= limit:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            break
    return b"".join(m.get("body", b"") for m in messages)


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that hands out `messages` (taken from them) first, then reads on from `receive`."""

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay
