"""Impilo's error body: a Spring Boot style object, field errors listed under `errors`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mocks.http.errors import MockError, phrase


def render(error: MockError, status: int, path: str) -> dict[str, Any]:
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "status": status,
        "error": phrase(status),
        "message": error.message,
        "path": path,
        "errors": [{"field": v.location, "message": v.message} for v in error.violations],
    }
