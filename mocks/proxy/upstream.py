"""The proxy itself: an ASGI middleware sending a proxied API's requests to its upstream and judging each
exchange, without changing the upstream's answer beyond two headers.

- `X-Mock-Proxy`: who answered: `upstream`, `mock` (an operation in `MOCKED_<API>`, or one the upstream
  lacks: it answered 501, or a 404 the operation does not document) or `unreachable` (a 502 in the
  vendor's error shape: the upstream could not be reached or did not answer in time).
- `X-Mock-Drift`: the rules the exchange broke (`mocks.proxy.verdict`), `rule: detail; ...`; absent when
  none. The journal shows both (it sits outside this middleware), `GET /__mock/drift` counts them.

The caller's own credentials go upstream untouched; they are never in a finding, a log line or a recording
(`_scrubbed`, `mocks.proxy.record`). Requests reach the upstream through one pooled `httpx.AsyncClient` per
event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.config import MockConfig
from mocks.dx import safejson
from mocks.dx.traffic import vendor_api
from mocks.http.errors import MockError, render
from mocks.http.exchange import buffered, replaying
from mocks.http.full_chain import FullChain
from mocks.proxy.drift import DriftLog
from mocks.proxy.operations import Operation, OperationIndex
from mocks.proxy.record import Recorder
from mocks.proxy.verdict import Finding, accepted_invalid, request_findings, response_findings
from mocks.vendor import Vendor

LOGGER = logging.getLogger("mocks.proxy")
# Headers that belong to one connection (RFC 9110 7.6.1) or that the client library sets from the body.
REQUEST_DROPPED = frozenset({"host", "connection", "keep-alive", "proxy-authorization", "proxy-connection",
                             "te", "trailer", "transfer-encoding", "upgrade", "content-length",
                             "accept-encoding"})  # fmt: skip
RESPONSE_DROPPED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
                              "upgrade", "trailer"})  # fmt: skip
MAX_HEADER = 2000  # characters of X-Mock-Drift


@dataclass
class Proxy:
    """What the proxy middleware needs: the upstream of each proxied API, the operations the mock keeps,
    the operation index, the drift log and the recorder. `transport` (tests) replaces the network."""

    config: MockConfig
    vendors: Sequence[Vendor]
    index: OperationIndex
    masks: Mapping[str, Callable[[str], str]]
    recorder: Recorder | None = None
    drift: DriftLog = field(init=False)
    transport: httpx.AsyncBaseTransport | None = None
    _clients: dict[int, httpx.AsyncClient] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.drift = DriftLog(self.config.upstreams, self.config.mocked)
        for api, operations in self.config.mocked.items():
            unknown = sorted(operations - self.index.operation_ids(api))
            if unknown:
                raise ValueError(
                    f"MOCKED_{api.upper()} names {', '.join(unknown)}, not operationIds of {api}; "
                    f"use e.g. MOCKED_{api.upper()}={sorted(self.index.operation_ids(api))[0]}"
                )

    def proxies(self, api: str, scope: Scope, headers: Mapping[bytes, bytes]) -> bool:
        """The full-chain rule: every request of a proxied API goes through the proxy middleware."""
        return api in self.config.upstreams

    def client(self) -> httpx.AsyncClient:
        """The pooled client of the running event loop (a served mock has one loop per process)."""
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = httpx.AsyncClient(
                transport=self.transport,
                timeout=self.config.upstream_timeout_seconds,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                follow_redirects=False,
            )
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def secrets_of(self, headers: Mapping[str, str], response: Any) -> list[str]:
        """The credential values an exchange carries: masked headers (and a bearer's token), secret fields."""
        found = []
        for name, value in headers.items():
            if name in self.masks and value:
                found += [value, value.partition(" ")[2]]
        found += list(_secret_values(response))
        return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def _secret_values(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.lower() in safejson.SECRET_FIELDS and isinstance(inner, str):
                yield inner
            else:
                yield from _secret_values(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _secret_values(inner)


def _scrubbed(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, safejson.MASK)
    return text


def _header_text(findings: Sequence[Finding]) -> str:
    text = "; ".join(f.as_text() for f in findings)
    text = "".join(c if " " <= c <= "~" else "?" for c in text)  # one header line, latin-1 safe
    return text if len(text) <= MAX_HEADER else text[: MAX_HEADER - 3] + "..."


def _text_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}


class ProxyMiddleware:
    """ASGI middleware inside the journal: proxied APIs' requests go upstream, the rest on to `app`."""

    def __init__(self, app: ASGIApp, proxy: Proxy) -> None:
        self.app, self.proxy = app, proxy

    @classmethod
    def full_chain(cls, proxy: Proxy, **_: Any) -> FullChain:
        """Every request of a proxied API: the compiled dispatcher would answer it from the mock."""
        return FullChain("proxy", proxy.proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._closing(receive), send)
            return
        api = vendor_api(scope["path"], self.proxy.vendors) if scope["type"] == "http" else None
        if api is None or api.name not in self.proxy.config.upstreams:
            await self.app(scope, receive, send)
            return
        found = self.proxy.index.find(scope["method"], scope["path"])
        if found is not None and found[0].operation_id in self.proxy.config.mocked.get(api.name, ()):
            self.proxy.drift.served("mock")
            await self.app(scope, receive, _marked(send, "mock"))
            return
        try:
            await self._proxy(scope, receive, send, api, found)
        except Exception as exc:  # a fault of the proxy: logged, answered in the vendor's shape
            LOGGER.error("The proxy failed on %s %.200s", scope["method"], scope["path"], exc_info=exc)
            await _error(
                send,
                api,
                scope["path"],
                MockError(f"Internal mock error: {exc.__class__.__name__}", "server_error"),
                "mock",
            )

    def _closing(self, receive: Receive) -> Receive:
        async def watched() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.proxy.close()
            return message

        return watched

    async def _proxy(
        self, scope: Scope, receive: Receive, send: Send, api: Vendor, found: tuple[Operation, dict[str, str]] | None
    ) -> None:
        messages: list[Message] = []
        body = await buffered(receive, self.proxy.config.max_body_bytes, messages)
        if len(body) > self.proxy.config.max_body_bytes:
            limit = self.proxy.config.max_body_bytes
            await _error(
                send, api, scope["path"], MockError(f"Request body is larger than {limit} bytes", "too_large"), "mock"
            )
            return
        headers = _text_headers(scope["headers"])
        operation, path_values = found if found else (None, {})
        if operation is None:
            findings = [Finding("request", f"no operation of the spec matches {scope['method']} {scope['path'][:200]}")]
        else:
            content_type = headers.get("content-type", "")
            findings = request_findings(operation, path_values, scope["query_string"], content_type, body)
        upstream = self.proxy.config.upstreams[api.name]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        rest = raw_path[len(api.base_path.encode()) :].decode("latin-1")
        url = upstream + rest + (f"?{scope['query_string'].decode('latin-1')}" if scope["query_string"] else "")
        forwarded = [(k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in REQUEST_DROPPED]
        try:
            answer = await self.proxy.client().request(scope["method"], url, headers=forwarded, content=body)
        except httpx.HTTPError as exc:
            cause = f"{upstream} could not be reached ({exc.__class__.__name__})"
            LOGGER.warning("%s upstream: %s", api.name, cause)
            self.proxy.drift.unreachable(cause)
            await _error(send, api, scope["path"], MockError(f"The upstream {cause}", "bad_gateway"), "unreachable")
            return
        if operation is not None and _lacks(operation, answer.status_code):
            self.proxy.drift.served("mock")
            await self.app(scope, replaying(messages, receive), _marked(send, "mock"))
            return
        self.proxy.drift.served("upstream")
        response_headers = _text_headers(answer.headers.raw)
        if operation is not None:
            findings += response_findings(
                operation, answer.status_code, response_headers, answer.content, scope["query_string"]
            )
            findings += accepted_invalid(answer.status_code, [f for f in findings if f.rule == "request"])
        extra = [(b"x-mock-proxy", b"upstream")]
        if findings:
            extra.append((b"x-mock-drift", self._reported(api, operation, findings, headers, body, answer.content)))
        if self.proxy.recorder is not None and operation is not None:
            self.proxy.recorder.save(
                operation, scope["path"], scope["query_string"], headers, body, answer.status_code, response_headers,
                answer.content,
            )  # fmt: skip
        kept = [(k, v) for k, v in answer.headers.raw if k.decode("latin-1").lower() not in RESPONSE_DROPPED]
        kept += [*extra, (b"content-length", str(len(answer.content)).encode())]
        await send({"type": "http.response.start", "status": answer.status_code, "headers": kept})
        await send({"type": "http.response.body", "body": answer.content})

    def _reported(
        self, api: Vendor, operation: Operation | None, findings: list[Finding], headers: Mapping[str, str],
        body: bytes, response_body: bytes,
    ) -> bytes:  # fmt: skip
        """Count the findings and log their rules, credentials scrubbed; the `X-Mock-Drift` value."""
        secrets = self.proxy.secrets_of(headers, [_parsed(response_body), _parsed(body)])
        findings = [Finding(f.rule, _scrubbed(f.detail, secrets)) for f in findings]
        name = operation.operation_id if operation else "(no operation)"
        self.proxy.drift.add(api.name, name, findings)
        LOGGER.info("drift %s %s: %s", api.name, name, "; ".join(f.rule for f in findings))
        return _header_text(findings).encode("latin-1")


def _lacks(operation: Operation, status: int) -> bool:
    """The upstream does not have this operation: 501, or a 404 the operation does not document."""
    return status == 501 or (status == 404 and "404" not in operation.definition.get("responses", {}))


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _marked(send: Send, by: str) -> Send:
    async def marked(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"x-mock-proxy", by.encode())]}
        await send(message)

    return marked


async def _error(send: Send, api: Vendor, path: str, error: MockError, by: str) -> None:
    status, body, content_type, headers = render(error, api.errors, path)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw += [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*raw, (b"x-mock-proxy", by.encode())]})
    await send({"type": "http.response.body", "body": body})
