"""The request journal behind `/__mock/requests`, and the access log, both fed by one ASGI middleware.

The journal keeps the last N vendor API exchanges (not the mock's own routes): method, path, query,
headers (credentials masked), body, status, response body, duration and time. A body is shown as JSON when
it is strict JSON (secret fields masked, `safejson.SECRET_FIELDS`), otherwise as text (`bodyIsText`). The
access log writes one `key=value` line per request to the `mocks.access` logger (vendor APIs and admin
changes; not the landing page's polling reads).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.dx import safejson
from mocks.dx.scenario import SCOPE_KEY
from mocks.dx.traffic import vendor_api
from mocks.http.exchange import Exchange
from mocks.http.full_chain import FullChain, every_request
from mocks.vendor import Vendor

Entry = dict[str, Any]
Headers = list[tuple[bytes, bytes]]
ACCESS_LOGGER = "mocks.access"
BODY_LIMIT = 64 * 1024  # bytes of each body kept in the journal


def keep_scheme(value: str) -> str:
    """`Bearer abc` -> `Bearer ***`."""
    scheme, _, rest = value.partition(" ")
    return f"{scheme} {safejson.MASK}" if rest else safejson.MASK


def hidden(value: str) -> str:
    """Any value -> `***`."""
    return safejson.MASK


Masks = Mapping[str, Callable[[str], str]]
# credential headers of every API -> how they are shown; each vendor adds its own (`Vendor.masked_headers`)
MASKED: Masks = {
    "authorization": keep_scheme,
    "proxy-authorization": keep_scheme,
    "cookie": hidden,
    "set-cookie": hidden,
}


def masks_of(vendors: Iterable[Vendor]) -> dict[str, Callable[[str], str]]:
    """`MASKED` and the credential headers of `vendors`, by lower-case name."""
    found = dict(MASKED)
    for vendor in vendors:
        found.update({name.lower(): masked for name, masked in vendor.masked_headers.items()})
    return found


def readable(raw: bytes, content_type: str) -> tuple[Any, bool]:
    """A body as shown, and whether it is shown as text: strict JSON bodies as JSON with secret fields
    masked; others (not JSON, NaN, lone surrogates, deep nesting ...) as text; truncated bodies as text
    ending in '…'; empty as None."""
    if not raw:
        return None, False
    if len(raw) > BODY_LIMIT:
        return safejson.redacted_text(raw[:BODY_LIMIT].decode("utf-8", "replace")) + "…", True
    if "json" in content_type:
        try:
            return safejson.redacted(safejson.loads(raw)), False
        except ValueError:
            pass
    return safejson.redacted_text(raw.decode("utf-8", "replace")), True


def _header_dict(raw: Headers) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}


def _masked_headers(raw: Headers, masks: Masks) -> dict[str, str]:
    return {name: masks[name](value) if name in masks else value for name, value in _header_dict(raw).items()}


def as_entry(exchange: Exchange, masks: Masks = MASKED) -> Entry:
    """One exchange as the journal lists it: credential headers (`masks`) masked, bodies as JSON or text."""
    headers = _masked_headers(exchange.headers, masks)
    response_headers = _masked_headers(exchange.response_headers, masks)
    body, body_is_text = readable(exchange.body, headers.get("content-type", ""))
    response_body, response_body_is_text = readable(exchange.response_body, response_headers.get("content-type", ""))
    return {
        "id": exchange.id,
        "timestamp": datetime.fromtimestamp(exchange.at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "api": exchange.api,
        "method": exchange.method,
        "path": exchange.path,
        "query": parse_qs(exchange.query.decode("latin-1"), keep_blank_values=True),
        "headers": headers,
        "body": body,
        "bodyIsText": body_is_text,
        "status": exchange.status,
        "responseHeaders": response_headers,
        "responseBody": response_body,
        "responseBodyIsText": response_body_is_text,
        "durationMs": exchange.duration_ms,
        "forced": exchange.forced,
    }


def _status_matches(exchange: Exchange, wanted: str) -> bool:
    status = str(exchange.status)
    return status == wanted or (len(wanted) == 3 and wanted[1:].lower() == "xx" and status[0] == wanted[0])


# filter name -> (does an exchange match this value); all given filters must match
FILTERS: dict[str, Callable[[Exchange, str], bool]] = {
    "api": lambda e, v: v in (e.api, e.api.replace("_", "-")),
    "method": lambda e, v: e.method == v.upper(),
    "path": lambda e, v: v in e.path,
    "status": _status_matches,
}


class Journal:
    """The last `size` exchanges, oldest first, thread-safe; listed with the headers of `masks` masked."""

    def __init__(self, size: int, masks: Masks = MASKED) -> None:
        self.masks = masks
        self._entries: deque[Exchange] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._next_id = 1

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            exchange.id = self._next_id
            self._entries.append(exchange)
            self._next_id += 1

    def list(self, filters: dict[str, str] | None = None, limit: int | None = None) -> list[Entry]:
        wanted = {name: value for name, value in (filters or {}).items() if name in FILTERS and value}
        with self._lock:
            found = [e for e in self._entries if all(FILTERS[n](e, v) for n, v in wanted.items())]
        return [as_entry(e, self.masks) for e in (found[-limit:] if limit else found)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class JournalMiddleware:
    """ASGI middleware (outermost but CORS): journal vendor traffic, write access log lines."""

    def __init__(
        self, app: ASGIApp, journal: Journal, access_log: bool, body_limit: int, vendors: Sequence[Vendor]
    ) -> None:
        # Bytes of a body kept: one more than the journal shows, so it can say the body was cut (500 entries of
        # up to MAX_BODY_BYTES each could hold 500 MB otherwise).
        self.app, self.journal, self.access_log, self.vendors = app, journal, access_log, vendors
        self.body_limit = min(body_limit, BODY_LIMIT + 1)
        self.logger = logging.getLogger(ACCESS_LOGGER)

    @classmethod
    def full_chain(cls, access_log: bool, **_: Any) -> FullChain:
        """With the access log on, every request (its lines are written here only); otherwise none: the
        compiled dispatcher records its own answers in the journal."""
        return FullChain("access-log", every_request if access_log else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = vendor_api(scope["path"], self.vendors)
        logged = self.access_log and (api is not None or scope["method"] != "GET")
        if api is None and not logged:
            await self.app(scope, receive, send)
            return
        started, at = time.perf_counter(), time.time()
        extensions = scope.setdefault("extensions", {})  # shared with inner copies of the scope: the scenario
        query = scope.get("query_string", b"")
        # The body as the app reads it, up to the limit; not read ahead, so a request the app answers without
        # its body (a 401 for missing credentials) is answered without waiting for it.
        request_body = bytearray()
        complete = False

        async def tap() -> Message:
            nonlocal complete
            message = await receive()
            if len(request_body) < self.body_limit:
                request_body.extend(message.get("body", b"")[: self.body_limit - len(request_body)])
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        response: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"], response["headers"] = message["status"], message["headers"]
            elif message["type"] == "http.response.body" and len(response["body"]) <= BODY_LIMIT:
                response["body"] += message.get("body", b"")
            await send(message)

        answered: float | None = None
        try:
            await self.app(scope, tap, capture)
            answered = time.perf_counter()
            # What the app left unread, read once it has answered: the journal still shows the body of a
            # request refused before it. Best effort, as the answer is sent: a body that stalls ends it at
            # the server's body timeout.
            with contextlib.suppress(Exception):
                while not complete and len(request_body) < self.body_limit:
                    await tap()
        finally:
            elapsed_ms = round(((answered or time.perf_counter()) - started) * 1000, 1)
            if logged:
                name = api.name if api else "mock"
                self.logger.info(
                    "api=%s method=%s path=%s status=%s ms=%s",
                    name, scope["method"], scope["path"], response["status"], elapsed_ms,
                )  # fmt: skip
            if api is not None:
                scenario = extensions.get(SCOPE_KEY)
                self.journal.record(
                    Exchange(
                        at=at,
                        api=api.name,
                        method=scope["method"],
                        path=scope["path"],
                        query=query,
                        headers=list(scope["headers"]),
                        body=bytes(request_body),
                        status=response["status"],
                        response_headers=list(response["headers"]),
                        response_body=bytes(response["body"]),
                        duration_ms=elapsed_ms,
                        forced=bool(scenario and scenario.forces_response),
                    )
                )
