"""Answering a request with a response the operation documents, without calling its handler.

Used for `Prefer: code=... / example=...` and for errors injected by `ERROR_RATE`. Runs after Connexion's
security check (credentials are still required) and before request validation; the store is never touched.
Error statuses get a body in the vendor's own error shape; success statuses get the named example, the
response's first example, or a body generated from its schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mocks.dx.sample import sample
from mocks.dx.scenario import NO_SCENARIO, SCOPE_KEY, Scenario, Simulator
from mocks.dx.traffic import vendor_api
from mocks.http.errors import MockError, bad_request
from mocks.http.full_chain import FullChain
from mocks.state.fakedata import SchemaFaker
from mocks.vendor import Vendor

METHODS = ("get", "put", "post", "patch", "delete")
INJECTABLE = (429, *range(500, 600))  # what ERROR_RATE may answer, when the operation documents it
ERROR_TYPES = {429: "TooManyRequestsError", 502: "BadGatewayError", 503: "ServiceUnavailableError"}
RETRY_AFTER_SECONDS = "1"


@dataclass(frozen=True)
class Operation:
    api: str
    method: str
    path: str
    operation_id: str
    responses: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path} ({self.operation_id})"

    def statuses(self) -> list[int]:
        return sorted(int(code) for code in self.responses if code.isdigit())

    def examples(self, status: int) -> dict[str, Any]:
        """Named examples of one response, over all its media types, name -> value."""
        found: dict[str, Any] = {}
        for media in (self.responses[str(status)].get("content") or {}).values():
            found.update({name: ex.get("value") for name, ex in (media.get("examples") or {}).items()})
        return found


def operations_of(documents: dict[str, dict[str, Any]]) -> dict[tuple[str, str], Operation]:
    """(API name, operationId) -> operation, for every operation of every spec."""
    return {
        (api, op["operationId"]): Operation(api, method, path, op["operationId"], op.get("responses", {}))
        for api, document in documents.items()
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def choose(operation: Operation, scenario: Scenario) -> tuple[int, str | None]:
    """The status and example name a scenario asks for; a 400 naming the valid choices when it cannot be."""
    statuses = operation.statuses()
    if scenario.code is not None and scenario.code not in statuses:
        raise bad_request(
            f"Prefer code={scenario.code} is not documented for {operation.label}; "
            f"choose one of {', '.join(map(str, statuses))}"
        )
    candidates = [scenario.code] if scenario.code is not None else statuses
    if scenario.example is None:
        return candidates[0], None
    for status in candidates:
        if scenario.example in operation.examples(status):
            return status, scenario.example
    named = [f"{name} ({status})" for status in candidates for name in operation.examples(status)]
    raise bad_request(
        f"Prefer example={scenario.example!r} is not an example of {operation.label}"
        + (f" with status {scenario.code}" if scenario.code is not None else "")
        + f"; choose one of {', '.join(named) or '(none documented)'}"
    )


def _media(response: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    content = response.get("content") or {}
    media_type = next(iter(content), None)
    return media_type, (content[media_type] if media_type else {})


def _error_body(vendor: Vendor, status: int, path: str, message: str) -> dict[str, Any]:
    kind = vendor.errors.kind_of(status)
    error = MockError(message, kind or "server_error", None if kind else ERROR_TYPES.get(status, "MockError"))
    return vendor.errors.render(error, status, path)


def _success_body(operation: Operation, status: int, media: dict[str, Any], faker: SchemaFaker) -> Any:
    """The response's first named example, else its `example`, else a body generated from its schema."""
    examples = operation.examples(status)
    if examples:
        return next(iter(examples.values()))
    if "example" in media:
        return media["example"]
    return sample(media.get("schema", {}), faker, f"{operation.operation_id}:{status}")


def build(
    vendor: Vendor, operation: Operation, status: int, example: str | None, path: str, faker: SchemaFaker, why: str
) -> Response:
    """The documented response `status` of `operation` (of `vendor`), with `example` as its body when named."""
    response = operation.responses[str(status)]
    media_type, media = _media(response)
    body: Any = None
    if example is not None:
        body = operation.examples(status)[example]
    elif status >= 400:
        body = _error_body(vendor, status, path, f"{HTTPStatus(status).phrase} ({why})")
        media_type = media_type or vendor.errors.content_type
    elif media_type is not None:
        body = _success_body(operation, status, media, faker)
    headers = {
        name: str(sample(header.get("schema", {}), faker, f"{operation.operation_id}:{status}:{name}"))
        for name, header in (response.get("headers") or {}).items()
    }
    if status == 429:
        headers.setdefault("Retry-After", RETRY_AFTER_SECONDS)
    content = b"" if media_type is None else json.dumps(body).encode()
    return Response(content, status_code=status, headers=headers, media_type=media_type)


class ForcedResponseMiddleware:
    """ASGI middleware (after security, before validation): answer forced or injected responses."""

    def __init__(
        self,
        app: ASGIApp,
        operations: dict[tuple[str, str], Operation],
        simulator: Simulator,
        faker: SchemaFaker,
        vendors: Sequence[Vendor],
    ) -> None:
        self.app, self.operations, self.simulator, self.faker, self.vendors = app, operations, simulator, faker, vendors

    @classmethod
    def full_chain(cls, simulator: Simulator, vendors: Sequence[Vendor], **_: Any) -> FullChain:
        """A response forced by `Prefer` or `__code`/`__example`, or an API with injected errors
        (`ERROR_RATE`): this middleware must see the request."""
        config = simulator.config
        failing = frozenset(api.name for api in vendors if config.conditions_for(api.name).error_rate > 0)

        def needs(api: str, scope: Scope, headers: Mapping[bytes, bytes]) -> bool:
            return b"prefer" in headers or b"__" in scope["query_string"] or api in failing

        return FullChain("forced-response", needs)

    def _operation(self, scope: Scope) -> tuple[Vendor, Operation] | None:
        api = vendor_api(scope["path"], self.vendors) if scope["type"] == "http" else None
        routed = scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id")
        operation = self.operations.get((api.name, routed)) if api and routed else None
        return (api, operation) if api and operation else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._operation(scope)
        if found is None:
            await self.app(scope, receive, send)
            return
        vendor, operation = found
        scenario: Scenario = scope["extensions"].get(SCOPE_KEY, NO_SCENARIO)
        if scenario.problem:
            raise bad_request(f"Prefer {scenario.problem}")
        if scenario.forces_response:
            status, example = choose(operation, scenario)
            why = f"forced by Prefer code={status}" if example is None else f"example {example}"
        else:
            candidates = [s for s in operation.statuses() if s in INJECTABLE]
            injected = self.simulator.injected_status(operation.api, candidates)
            if injected is None:
                await self.app(scope, receive, send)
                return
            status, example, why = injected, None, "injected by ERROR_RATE"
        response = build(vendor, operation, status, example, scope["path"], self.faker, why)
        await response(scope, receive, send)
