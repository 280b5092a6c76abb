"""Acme's error body: `{"code": "NOT_FOUND", "reason": "...", "problems": [{"at", "why"}]}`."""

from __future__ import annotations

from typing import Any

from mocks.http.errors import MockError

STATUSES = {"validation": 422}


def render(error: MockError, status: int, path: str) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.kind.upper(), "reason": error.message}
    if error.violations:
        body["problems"] = [{"at": v.location, "why": v.message} for v in error.violations]
    return body
