"""Outbound webhook delivery with retries, in the background, never delaying the API response.

Each event becomes one delivery per subscribed URL. A delivery is POSTed as `{id, type, payload}`;
a refused connection, a timeout or a non-2xx answer is retried after each delay of the configured
schedule. The delivery's log row (the vendor's WebhookLog fields) is updated after every attempt, and
every attempt is also kept individually for `/__mock/webhooks/attempts`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from mocks.context import now_iso
from mocks.store import Collection, Key, Record

SECRET_HEADER = "Impilo-Webhook-Secret"


class WebhookDispatcher:
    def __init__(
        self,
        subscriptions: Collection,
        logs: Collection,
        attempts: Collection,
        secret: Callable[[], str | None],
        schedule: tuple[float, ...],
        timeout: float,
        hosts: tuple[str, ...] = ("*",),
        events: Collection | None = None,
    ) -> None:
        self.subscriptions, self.logs, self.attempts = subscriptions, logs, attempts
        self._secret, self.schedule, self.timeout, self.hosts = secret, schedule, timeout, hosts
        self._tasks: set[asyncio.Task[None]] = set()
        # One client per event loop, reused: building one costs ~20 ms of CPU (SSL context) on the loop
        # that also serves the API, which made every subscribed webhook slow every request.
        self._clients: dict[int, httpx.AsyncClient] = {}
        # Event ids come from the store, so they stay unique across worker processes and restarts.
        self._events = events if events is not None else logs

    def emit(self, event_type: str, payload: dict[str, Any]) -> list[Record]:
        """Queue one delivery per webhook subscribed to `event_type`; returns their log rows."""
        targets = self.subscriptions.where(lambda w: w["type"] == event_type)
        if not targets:
            return []
        envelope = {"id": self._events.new_id(), "type": event_type, "payload": payload}
        rows = []
        for hook in targets:

            def build(key: Key, hook: Record = hook) -> Record:
                return {
                    "id": key,
                    "webhookId": hook["id"],
                    "webhookType": event_type,
                    "webhookUrl": hook["url"],
                    "payload": json.dumps(envelope),
                    "createTimestamp": now_iso(),
                    "lastResponseStatus": None,
                    "retryAttempts": 0,
                    "lastRetryTimestamp": None,
                    "delivered": False,
                }

            row = self.logs.add(build)
            rows.append(row)
            self._spawn(self._deliver(row, envelope))
        return rows

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the deliveries in flight (tests and shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _deliver(self, row: Record, envelope: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "impilo-mock-webhooks/1"}
        secret = self._secret()
        if secret:
            headers[SECRET_HEADER] = secret
        body = json.dumps(envelope).encode()
        if not self.allowed(row["webhookUrl"]):
            error = f"not delivered: host not allowed (allowed: {', '.join(self.hosts)}; set WEBHOOK_HOSTS)"
            self._record(row, 0, None, error)
            return
        delays = (0.0, *self.schedule)
        client = self._client()
        for attempt, delay in enumerate(delays):
            if delay:
                await asyncio.sleep(delay)
            status, failure = await self._attempt(client, row["webhookUrl"], body, headers)
            self._record(row, attempt, status, failure)
            if status is not None and 200 <= status < 300:
                return

    def _client(self) -> httpx.AsyncClient:
        loop = id(asyncio.get_running_loop())
        if loop not in self._clients:
            # No pool cap or pool wait: a burst of events must not queue behind a fixed number of
            # connections and time out before it is even sent (then retry, and add to the burst).
            timeout = httpx.Timeout(self.timeout, pool=None)
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
            self._clients[loop] = httpx.AsyncClient(timeout=timeout, limits=limits)
        return self._clients[loop]

    def allowed(self, url: str) -> bool:
        """Whether the delivery policy lets the mock contact `url`'s host (127.0.0.0/8 counts as loopback)."""
        host = (urlsplit(url).hostname or "").lower()
        return "*" in self.hosts or host in self.hosts or (host.startswith("127.") and "127.0.0.1" in self.hosts)

    @staticmethod
    async def _attempt(
        client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            return None, f"timeout: {exc!r}"
        except httpx.HTTPError as exc:
            return None, f"connection failed: {exc!r}"
        return response.status_code, None if response.is_success else f"HTTP {response.status_code}"

    def _record(self, row: Record, attempt: int, status: int | None, error: str | None) -> None:
        stamp = now_iso()
        updated = {
            **row,
            "lastResponseStatus": status if status is not None else 0,
            "retryAttempts": attempt,
            "lastRetryTimestamp": stamp if attempt else row["lastRetryTimestamp"],
            "delivered": error is None,
        }
        row.update(updated)
        self.logs.put(row["id"], row)
        self.attempts.add(
            lambda key: {
                "id": key,
                "logId": row["id"],
                "webhookId": row["webhookId"],
                "webhookType": row["webhookType"],
                "url": row["webhookUrl"],
                "attempt": attempt + 1,
                "status": status,
                "error": error,
                "at": stamp,
            }
        )
