"""Impilo's page envelope `{content, page, size, total, first, last}` (1-based pages)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mocks.state.store import Collection


def page_of(records: Sequence[Any], page: int, size: int, view: Callable[[Any], Any] = lambda r: r) -> dict[str, Any]:
    total = len(records)
    start = (page - 1) * size
    content = [view(record) for record in records[start : start + size]]
    return {
        "content": content,
        "page": page,
        "size": size,
        "total": total,
        "first": page == 1,
        "last": start + size >= total,
    }


def page_of_collection(
    collection: Collection, page: int, size: int, view: Callable[[Any], Any] = lambda r: r
) -> dict[str, Any]:
    """The same envelope straight from a collection: no scan, so a page costs the same at 1k or 100k."""
    total, start = len(collection), (page - 1) * size
    content = [view(record) for record in collection.slice(start, start + size)]
    return {"content": content, "page": page, "size": size, "total": total, "first": page == 1,
            "last": start + size >= total}  # fmt: skip


def matches(record: dict[str, Any], checks: dict[str, tuple[Callable[[dict[str, Any], Any], bool], Any]]) -> bool:
    """True when every given filter (value not None) accepts the record."""
    return all(test(record, value) for test, value in checks.values() if value is not None)
