"""Two mock apps fed the same requests: one with the compiled dispatcher, one with Connexion's chain only.

`Twin` is an ASGI app. Each request goes to both apps in turn (same scope, same body), both answers are
captured, compared and the first app's answer is sent. Answers must match in status, headers and body;
values that depend on the moment of the request (timestamps, JWTs) are compared by shape only. Since
both apps start from the same seed and receive the same sequence, their states stay equal too.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
VOLATILE_HEADERS = {b"date", b"server"}


def _shape(value: Any) -> Any:
    """A JSON value with moment-dependent strings replaced by their kind."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    if isinstance(value, str):
        if MOMENT.match(value):
            return "<date-time>"
        if JWT.match(value) and value.count(".") == 2 and len(value) > 40:
            return "<jwt>"
        if value.startswith("{") and value.endswith("}"):  # a JSON document kept as text (webhook payloads)
            try:
                return _shape(json.loads(value))
            except ValueError:
                return value
    return value


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def comparable(self) -> tuple[int, list[tuple[bytes, bytes]], Any]:
        try:
            body: Any = _shape(json.loads(self.body)) if self.body else None
        except ValueError:
            body = self.body
        headers = [(k, v) for k, v in self.headers if k not in VOLATILE_HEADERS and k != b"content-length"]
        return self.status, headers, body


async def _answer(app: ASGIApp, scope: Scope, body: bytes) -> tuple[Answer, list[Message]]:
    sent: list[Message] = []
    delivered = False
    answered = asyncio.Event()

    async def receive() -> Message:
        nonlocal delivered
        if delivered:  # the client stays until the answer is complete, as a real one does: a streamed
            await answered.wait()  # answer (which listens for a disconnect meanwhile) is not cut short
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    await app(copy.deepcopy(scope), receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], list(start.get("headers", [])), payload), sent


@dataclass
class Mismatch:
    request: str
    first: tuple[Any, ...]
    second: tuple[Any, ...]


class Twin:
    def __init__(self, first: ASGIApp, second: ASGIApp) -> None:
        self.first, self.second = first, second
        self.mismatches: list[Mismatch] = []
        self.compared = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.first(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        first, sent = await _answer(self.first, scope, body)
        second, _ = await _answer(self.second, scope, body)
        self.compared += 1
        if first.comparable() != second.comparable():
            query = scope.get("query_string", b"").decode("latin-1")
            request = f"{scope['method']} {scope['path']}{'?' + query if query else ''} {body[:300]!r}"
            self.mismatches.append(Mismatch(request, first.comparable(), second.comparable()))
        for message in sent:
            await send(message)
