"""The mock's error taxonomy and the one place that renders it in an API's own shape.

Handlers, validators and security checks raise `MockError` subclasses; `render` turns one into the body the
API owning the request path would send, by that API's `ErrorShape` (each vendor's row holds one), or into
`NEUTRAL` where no API owns the path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol


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


# kind -> (status, default error type name). A vendor answering a kind with another status says so in its
# `ErrorShape.statuses` (Heidi: validation -> 422). The order matters: a status maps back to its first kind.
KINDS: dict[str, tuple[int, str]] = {
    "bad_request": (400, "BadRequestError"),
    "validation": (400, "RequestValidationError"),
    "unauthorized": (401, "InvalidTokenError"),
    "forbidden": (403, "ForbiddenError"),
    "not_found": (404, "NotFoundError"),
    "method_not_allowed": (405, "MethodNotAllowedError"),
    "not_acceptable": (406, "NotAcceptableError"),
    "timeout": (408, "RequestTimeoutError"),
    "conflict": (409, "ConflictError"),
    "too_large": (413, "PayloadTooLargeError"),
    "unsupported_media_type": (415, "UnsupportedMediaTypeError"),
    "server_error": (500, "InternalServerError"),
    "bad_gateway": (502, "BadGatewayError"),  # the validating proxy's upstream could not be reached
}

Renderer = Callable[[MockError, int, str], dict[str, Any]]


def type_name(error: MockError) -> str:
    """The error's own type name, else its kind's default (`NotFoundError`)."""
    return error.error_type or KINDS[error.kind][1]


def phrase(status: int) -> str:
    """The reason phrase of a status ("Not Found"); "Error" for a status HTTP does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _neutral(error: MockError, status: int, path: str) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "error": phrase(status), "message": error.message}
    if error.violations:
        body["violations"] = [{"location": v.location, "message": v.message} for v in error.violations]
    return body


@dataclass(frozen=True)
class ErrorShape:
    """How one API words its errors: the body `render` writes, its content type, and the statuses by kind
    that differ from `KINDS`."""

    render: Renderer
    content_type: str
    statuses: Mapping[str, int] = field(default_factory=dict)

    def status_of(self, error: MockError) -> int:
        return self.statuses.get(error.kind, KINDS[error.kind][0])

    def kind_of(self, status: int) -> str | None:
        """The first kind this shape answers with `status` (None when no kind has it: 429, 503 ...)."""
        return next((kind for kind, (default, _) in KINDS.items() if self.statuses.get(kind, default) == status), None)


# The shape of errors on paths no API owns (a 404 outside every base path, a refused Host for `/__mock/state`):
# `{"status", "error" (reason phrase), "message"}` as the mock's own routes answer (`{"message"}`), with
# `violations` [{location, message}] when there are any.
NEUTRAL = ErrorShape(_neutral, "application/json")


class Owner(Protocol):
    """An API as error rendering sees it (`mocks.vendor.Vendor` is one): the paths it owns, its error shape."""

    @property
    def errors(self) -> ErrorShape: ...

    def owns(self, path: str) -> bool: ...


def shape_for(path: str, owners: Iterable[Owner]) -> ErrorShape | None:
    """The error shape of the API owning `path`, None when no API does."""
    return next((owner.errors for owner in owners if owner.owns(path)), None)


def render(error: MockError, shape: ErrorShape | None, path: str) -> tuple[int, bytes, str, dict[str, str]]:
    """Status, body bytes, content type and extra headers for one error, in `shape` (`NEUTRAL` if None)."""
    shape = shape or NEUTRAL
    status = shape.status_of(error)
    body = shape.render(error, status, path)
    return status, json.dumps(body).encode(), shape.content_type, dict(error.headers)


def error_messages(error: MockError, path: str, owners: Iterable[Owner]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two ASGI messages (start, body) answering a request for `path` with `error`, in the shape of the
    API of `owners` owning the path: for the layers outside Connexion (the Host guard, the body deadline)."""
    status, body, content_type, headers = render(error, shape_for(path, owners), path)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw += [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    return {"type": "http.response.start", "status": status, "headers": raw}, {
        "type": "http.response.body",
        "body": body,
    }
