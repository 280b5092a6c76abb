"""The mock's error taxonomy and the one place that renders it in each vendor's own shape.

Handlers, validators and security checks raise `MockError` subclasses; `render` turns one into the body
Impilo, Heidi or Legit.Health would send, chosen by the API that owns the request path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from mocks.apis import api_for_path


@dataclass(frozen=True)
class Violation:
    """One reason a request was rejected: where (`body.firstName`, `query.size`) and what was wrong."""

    location: str
    message: str


@dataclass
class MockError(Exception):
    """Base of every error the mock answers with. `kind` picks the vendor's status and type name."""

    message: str
    kind: str = "bad_request"
    error_type: str | None = None
    violations: Sequence[Violation] = field(default_factory=tuple)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def bad_request(message: str, error_type: str | None = None) -> MockError:
    return MockError(message, "bad_request", error_type)


SUMMARY_LIMIT = 5  # violations spelled out in the one-line message; the full list is in the body
# Violations listed in one answer: a limit of the mock, so that one body cannot make it collect (and answer)
# millions of them. Validators stop looking once they found one more than this.
MAX_VIOLATIONS = 50


def validation_failed(violations: Sequence[Violation]) -> MockError:
    """The error listing the first `MAX_VIOLATIONS` of `violations`, saying so when there were more."""
    listed = violations[:MAX_VIOLATIONS]
    shown = "; ".join(f"{v.location}: {v.message}" for v in listed[:SUMMARY_LIMIT])
    more = len(listed) - SUMMARY_LIMIT
    summary = f"{shown}; and {more} more" if more > 0 else shown
    if len(violations) > MAX_VIOLATIONS:
        summary += f"; and more violations not listed (the mock lists at most {MAX_VIOLATIONS})"
    return MockError(f"Request validation failed: {summary}", "validation", None, tuple(listed))


def unauthorized(message: str, error_type: str | None = None) -> MockError:
    return MockError(message, "unauthorized", error_type)


def not_found(message: str, error_type: str | None = None) -> MockError:
    return MockError(message, "not_found", error_type)


def conflict(message: str, error_type: str | None = None) -> MockError:
    return MockError(message, "conflict", error_type)


# kind -> (status for Impilo, Heidi, Legit.Health, default error type name)
KINDS: dict[str, tuple[int, int, int, str]] = {
    "bad_request": (400, 400, 400, "BadRequestError"),
    "validation": (400, 422, 400, "RequestValidationError"),
    "unauthorized": (401, 401, 401, "InvalidTokenError"),
    "forbidden": (403, 403, 403, "ForbiddenError"),
    "not_found": (404, 404, 404, "NotFoundError"),
    "method_not_allowed": (405, 405, 405, "MethodNotAllowedError"),
    "not_acceptable": (406, 406, 406, "NotAcceptableError"),
    "timeout": (408, 408, 408, "RequestTimeoutError"),
    "conflict": (409, 409, 409, "ConflictError"),
    "too_large": (413, 413, 413, "PayloadTooLargeError"),
    "unsupported_media_type": (415, 415, 415, "UnsupportedMediaTypeError"),
    "server_error": (500, 500, 500, "InternalServerError"),
}
API_COLUMN = {"impilo": 0, "heidi": 1, "legit_health": 2}


def status_of(error: MockError, api: str | None) -> int:
    return int(KINDS[error.kind][API_COLUMN.get(api or "impilo", 0)])


def _impilo(error: MockError, status: int, path: str) -> dict[str, Any]:
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": error.message,
        "path": path,
        "errors": [{"field": v.location, "message": v.message} for v in error.violations],
    }


def _loc(location: str) -> list[str | int]:
    """FastAPI-style location: `body.identifiers.0.value` -> ["body", "identifiers", 0, "value"]."""
    return [int(part) if part.isascii() and part.isdigit() else part for part in location.split(".")]


def _heidi(error: MockError, status: int, path: str) -> dict[str, Any]:
    detail: dict[str, Any] = {"msg": error.message, "type": error.error_type or KINDS[error.kind][3]}
    if error.violations:
        detail["errors"] = [{"loc": _loc(v.location), "msg": v.message} for v in error.violations]
    return {"detail": detail}


def _legit_health(error: MockError, status: int, path: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://tools.ietf.org/html/rfc9110#status.{status}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": error.message,
    }
    if error.violations:
        body["violations"] = [{"propertyPath": v.location, "message": v.message} for v in error.violations]
    return body


Renderer = Callable[[MockError, int, str], dict[str, Any]]
RENDERERS: dict[str, tuple[Renderer, str]] = {
    "impilo": (_impilo, "application/json"),
    "heidi": (_heidi, "application/json"),
    "legit_health": (_legit_health, "application/problem+json"),
}


def render(error: MockError, api: str | None, path: str) -> tuple[int, bytes, str, dict[str, str]]:
    """Status, body bytes, content type and extra headers for one error, in the owning vendor's shape."""
    status = status_of(error, api)
    renderer, content_type = RENDERERS.get(api or "", (_impilo, "application/json"))
    body = renderer(error, status, path)
    return status, json.dumps(body).encode(), content_type, dict(error.headers)


def error_messages(error: MockError, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two ASGI messages (start, body) answering a request for `path` with `error`, in the shape of the
    API owning the path: for the layers outside Connexion (the Host guard, the body deadline)."""
    api = api_for_path(path)
    status, body, content_type, headers = render(error, api.name if api else None, path)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw += [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    return {"type": "http.response.start", "status": status, "headers": raw}, {
        "type": "http.response.body",
        "body": body,
    }
