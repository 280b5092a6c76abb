"""What one mock app owns: config, store, fake-data source, outbox and webhook dispatcher.

Made once per `create_app` call and handed to each API's handler object; nothing lives at module level.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mocks.config import MockConfig
from mocks.fakedata import SchemaFaker
from mocks.store import Store


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Outbox:
    """Emails and SMS the mock 'sent' (nothing leaves the machine), newest last, bounded."""

    limit: int = 1000
    messages: deque[dict[str, Any]] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
            message["id"] = (self.messages[-1]["id"] + 1) if self.messages else 1
            self.messages.append(message)
            while len(self.messages) > self.limit:
                self.messages.popleft()
        return message

    def list(self, api: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self.messages if api is None or m["api"] == api]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()


@dataclass
class MockContext:
    config: MockConfig
    specs: dict[str, dict[str, Any]]
    store: Store = field(init=False)
    faker: SchemaFaker = field(init=False)
    outbox: Outbox = field(default_factory=Outbox)
    services: dict[str, Any] = field(default_factory=dict)

    def reset(self) -> None:
        """Back to the seed state: empty every collection and the outbox, then let each API seed itself."""
        with self.store.lock:
            self.store.clear()
            self.outbox.clear()
            for service in self.services.values():
                service.seed()

    def __post_init__(self) -> None:
        self.store = Store(self.config.seed)
        self.faker = SchemaFaker(self.config.seed)

    def schema(self, api: str, name: str) -> dict[str, Any]:
        """A resolved component schema of one API's spec, e.g. `schema("impilo", "Patient")`."""
        return self.specs[api]["components"]["schemas"][name]
