"""The emails and SMS the mock 'sent'."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from mocks.state.clock import now_iso
from mocks.state.store import Collection


class Outbox:
    """Emails and SMS the mock 'sent' (nothing leaves the machine), oldest first, the newest `limit` kept.

    Kept in the store (so in the state file when there is one), outside `/__mock/state`.
    """

    def __init__(self, messages: Collection, lock: AbstractContextManager[Any], limit: int = 1000) -> None:
        self.messages, self._lock, self.limit = messages, lock, limit

    def record(self, api: str, channel: str, to: str, subject: str, body: str, **extra: Any) -> dict[str, Any]:
        message = {
            "api": api,
            "channel": channel,
            "to": to,
            "subject": subject,
            "body": body,
            "sentAt": now_iso(),
            **extra,
        }
        with self._lock:
            stored = self.messages.add(lambda key: {**message, "id": key})
            excess = len(self.messages) - self.limit
            for old in self.messages.slice(0, excess) if excess > 0 else []:
                self.messages.delete(old["id"])
        return dict(stored)

    def list(self, api: str | None = None) -> list[dict[str, Any]]:
        return [dict(m) for m in self.messages.values() if api is None or m["api"] == api]

    def clear(self) -> None:
        self.messages.clear()
