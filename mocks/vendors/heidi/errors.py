"""Heidi's error body: FastAPI's `{"detail": ...}`, with a type name, and `loc` lists for violations."""

from __future__ import annotations

from typing import Any

from mocks.http.errors import MockError, type_name

STATUSES = {"validation": 422}  # FastAPI answers request validation with 422


def _loc(location: str) -> list[str | int]:
    """FastAPI-style location: `body.identifiers.0.value` -> ["body", "identifiers", 0, "value"]."""
    return [int(part) if part.isascii() and part.isdigit() else part for part in location.split(".")]


def render(error: MockError, status: int, path: str) -> dict[str, Any]:
    detail: dict[str, Any] = {"msg": error.message, "type": type_name(error)}
    if error.violations:
        detail["errors"] = [{"loc": _loc(v.location), "msg": v.message} for v in error.violations]
    return {"detail": detail}
