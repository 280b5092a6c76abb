"""Impilo's webhook management operations (subscriptions, logs, secret) as a handler mixin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mocks.context import MockContext
from mocks.http.errors import bad_request, conflict, not_found
from mocks.state.store import Collection, Record
from mocks.vendors.impilo.paging import matches, page_of
from mocks.webhooks.emit import WebhookEmitter

LOG_FIELDS = ("id", "webhookId", "webhookType", "webhookUrl", "payload", "createTimestamp", "lastResponseStatus",
              "retryAttempts", "lastRetryTimestamp")  # fmt: skip


def _between(field: str, low: bool) -> Callable[[Record, Any], bool]:
    def test(record: Record, value: Any) -> bool:
        stored = record.get(field)
        if stored is None:
            return False
        stamp = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return stored >= stamp if low else stored < stamp

    return test


class WebhookApi:
    context: MockContext
    c: dict[str, Collection]
    webhooks: WebhookEmitter

    def _webhook_or_404(self, webhook_id: int) -> Record:
        record = self.c["webhooks"].get(webhook_id)
        if record is None:
            raise not_found(f"Webhook {webhook_id} not found")
        return record

    async def _check_url(self, url: str) -> None:
        """400 for a URL the delivery policy would never send to and that is a disguise or an attack (the
        mock itself, a name posing as loopback, a private address not allowed); see `mocks.webhooks.policy`.
        Resolves names on the event loop, so before the store's lock is taken."""
        refusal = await self.webhooks.policy.refusal(url)
        if refusal is not None:
            raise bad_request(refusal)

    async def create_webhook(self, body: dict[str, Any], **_: Any) -> tuple[Any, int]:
        await self._check_url(body["url"])
        hooks = self.c["webhooks"]
        with self.context.store.lock:
            if hooks.where(lambda w: w["type"] == body["type"] and w["url"] == body["url"]):
                raise conflict(f"A {body['type']} webhook for {body['url']} already exists")
            return hooks.add(lambda key: {"id": key, "type": body["type"], "url": body["url"]}), 200

    async def list_webhooks(self, page: int = 1, size: int = 15, type_: str | None = None, **_: Any) -> tuple[Any, int]:
        found = self.c["webhooks"].where(lambda w: type_ is None or w["type"] == type_)
        return page_of(found, page, size), 200

    async def update_webhook(self, webhook_id: int, body: dict[str, Any], **_: Any) -> tuple[Any, int]:
        self._webhook_or_404(webhook_id)  # an unknown id is a 404 whatever the URL
        await self._check_url(body["url"])
        with self.context.store.lock:
            record = self._webhook_or_404(webhook_id)
            if body["url"] == record["url"]:
                raise bad_request("The new webhook URL is the same as the existing one")
            updated = {**record, "url": body["url"], "type": body.get("type", record["type"])}
            return self.c["webhooks"].put(webhook_id, updated), 200

    async def delete_webhook(self, webhook_id: int, **_: Any) -> tuple[Any, int]:
        if self.c["webhooks"].delete(webhook_id) is None:  # one step: found and deleted, or 404
            raise not_found(f"Webhook {webhook_id} not found")
        return None, 204

    async def list_webhook_logs(self, page: int = 1, size: int = 15, **q: Any) -> tuple[Any, int]:
        checks = {
            "type": (lambda r, v: r["webhookType"] == v, q.get("webhook_type")),
            "retryMin": (lambda r, v: r["retryAttempts"] >= v, q.get("retry_attempts_min")),
            "retryMax": (lambda r, v: r["retryAttempts"] <= v, q.get("retry_attempts_max")),
            "status": (lambda r, v: r["lastResponseStatus"] == v, q.get("last_response_status")),
            "start": (_between("createTimestamp", True), q.get("start_timestamp")),
            "end": (_between("createTimestamp", False), q.get("end_timestamp")),
            "startRetry": (_between("lastRetryTimestamp", True), q.get("start_last_retry_timestamp")),
            "endRetry": (_between("lastRetryTimestamp", False), q.get("end_last_retry_timestamp")),
        }
        found = self.c["webhook_logs"].where(lambda r: matches(r, checks))
        return page_of(found, page, size, lambda r: {k: r[k] for k in LOG_FIELDS}), 200

    async def create_webhook_secret(self, body: dict[str, Any], **_: Any) -> tuple[Any, int]:
        secrets = self.c["webhook_secret"]
        with self.context.store.lock:
            if secrets.get(1) is not None:
                raise conflict("A webhook secret already exists")
            secrets.put(1, {"secret": body["secret"]})
        return {"secret": body["secret"]}, 200
