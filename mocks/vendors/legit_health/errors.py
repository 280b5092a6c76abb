"""Legit.Health's error body: an RFC 9457 problem (`application/problem+json`), Symfony's `violations`."""

from __future__ import annotations

from typing import Any

from mocks.http.errors import MockError, phrase


def render(error: MockError, status: int, path: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://tools.ietf.org/html/rfc9110#status.{status}",
        "title": phrase(status),
        "status": status,
        "detail": error.message,
    }
    if error.violations:
        body["violations"] = [{"propertyPath": v.location, "message": v.message} for v in error.violations]
    return body
