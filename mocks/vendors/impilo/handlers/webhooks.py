"""Impilo's webhook management: subscriptions, delivery logs and the shared secret."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mocks.context import MockContext
from mocks.dx import safejson
from mocks.http.errors import bad_request, not_found
from mocks.vendors.impilo import rules
from mocks.vendors.impilo.records import API, Records, between, log_view, matches, page_of
from mocks.webhooks.emit import WebhookEmitter

Reply = tuple[Any, int]


class WebhookHandlers:
    context: MockContext
    records: Records
    webhooks: WebhookEmitter

    async def _check_url(self, url: str) -> None:
        """400 for a URL the delivery policy would never send to and that is a disguise or an attack (the
        mock itself, a name posing as loopback, a private address not allowed); see `mocks.webhooks.policy`.
        Resolves names on the event loop, so before the store's lock is taken."""
        refusal = await self.webhooks.policy.refusal(url)
        if refusal is not None:
            raise bad_request(refusal)

    async def create_webhook(self, body: dict[str, Any], **_: Any) -> Reply:
        await self._check_url(body["url"])
        with self.records.lock:
            rules.check_new_webhook(self.records, body["type"], body["url"])
            return self.records.webhooks.add(lambda key: {"id": key, "type": body["type"], "url": body["url"]}), 200

    async def list_webhooks(self, page: int = 1, size: int = 15, type_: str | None = None, **_: Any) -> Reply:
        found = self.records.webhooks.where(lambda w: type_ is None or w["type"] == type_)
        return page_of(found, page, size), 200

    async def update_webhook(self, webhook_id: int, body: dict[str, Any], **_: Any) -> Reply:
        self.records.webhook(webhook_id)  # an unknown id is a 404 whatever the URL
        await self._check_url(body["url"])
        with self.records.lock:
            record = self.records.webhook(webhook_id)
            rules.check_url_changes(record, body["url"])
            updated = {**record, "url": body["url"], "type": body.get("type", record["type"])}
            return self.records.webhooks.put(webhook_id, updated), 200

    async def delete_webhook(self, webhook_id: int, **_: Any) -> Reply:
        if self.records.webhooks.delete(webhook_id) is None:  # one step: found and deleted, or 404
            raise not_found(f"Webhook {webhook_id} not found")
        return None, 204

    async def list_webhook_logs(self, page: int = 1, size: int = 15, **q: Any) -> Reply:
        checks = {
            "type": (lambda r, v: r["webhookType"] == v, q.get("webhook_type")),
            "retryMin": (lambda r, v: r["retryAttempts"] >= v, q.get("retry_attempts_min")),
            "retryMax": (lambda r, v: r["retryAttempts"] <= v, q.get("retry_attempts_max")),
            "status": (lambda r, v: r["lastResponseStatus"] == v, q.get("last_response_status")),
            "start": (between("createTimestamp", True), q.get("start_timestamp")),
            "end": (between("createTimestamp", False), q.get("end_timestamp")),
            "startRetry": (between("lastRetryTimestamp", True), q.get("start_last_retry_timestamp")),
            "endRetry": (between("lastRetryTimestamp", False), q.get("end_last_retry_timestamp")),
        }
        found = self.records.webhook_logs.where(lambda r: matches(r, checks))
        return page_of(found, page, size, log_view), 200

    async def create_webhook_secret(self, body: dict[str, Any], **_: Any) -> Reply:
        """The secret sent, or (optional in the vendor reference) one Impilo chooses: drawn from the seed."""
        with self.records.lock:
            rules.check_no_secret(self.records)
            secret = body["secret"] if "secret" in body else self.context.faker.reseed(f"{API}.webhook-secret").sha1()
            self.records.webhook_secret.put(1, {"secret": secret})
        return {"secret": secret}, 200

    async def _webhook_attempts(self, request: Request) -> Response:
        """`GET /__mock/webhooks/attempts`: every delivery attempt, for tests and the landing page."""
        return safejson.JSONResponse(self.records.webhook_attempts.export())
