"""What the tests read of the mock's Impilo webhooks: its emitter, the vendor's logs, the attempts made."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient
from starlette.types import ASGIApp

from mocks import context_of
from mocks.webhooks.emit import WebhookEmitter
from tests.support.helpers import IMPILO_KEY, base


def dispatcher(client: TestClient) -> WebhookEmitter:
    """The emitter delivering the Impilo webhooks of the client's app."""
    return context_of(client.app).services["impilo"].webhooks  # type: ignore[arg-type,no-any-return]


def stop_deliveries(app: ASGIApp) -> None:
    """Stop the delivery threads of an app's webhook emitters, so none outlives the test that started it."""
    for service in context_of(app).services.values():  # type: ignore[arg-type]
        if isinstance(getattr(service, "webhooks", None), WebhookEmitter):
            service.webhooks.close()


def logs(client: TestClient) -> list[dict[str, Any]]:
    """Impilo's webhook logs (`GET /webhook/logs`), oldest first."""
    page = client.get(f"{base('impilo')}/webhook/logs", params={"size": 100}, headers=IMPILO_KEY).json()
    return sorted(page["content"], key=lambda row: row["id"])


def attempts(client: TestClient) -> list[dict[str, Any]]:
    """Every delivery attempt, answered or failed (`GET /__mock/webhooks/attempts`)."""
    return client.get("/__mock/webhooks/attempts").json()  # type: ignore[no-any-return]
