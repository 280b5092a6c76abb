"""Impilo operation handlers: one async method per operationId, over the app's store.

One module per resource area, each a mixin of `Handlers`; each method takes the request's values, asks
`rules` and `records`, and returns (body, status).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from mocks.context import MockContext
from mocks.dx.fixtures import Kind
from mocks.vendors.impilo import fixtures
from mocks.vendors.impilo import seed as seeding
from mocks.vendors.impilo.handlers.care import CareHandlers
from mocks.vendors.impilo.handlers.catalogue import CatalogueHandlers
from mocks.vendors.impilo.handlers.devices import DeviceHandlers
from mocks.vendors.impilo.handlers.orders import OrderHandlers
from mocks.vendors.impilo.handlers.patients import PatientHandlers
from mocks.vendors.impilo.handlers.readings import ReadingHandlers
from mocks.vendors.impilo.handlers.simulation import SimulationHandlers
from mocks.vendors.impilo.handlers.webhooks import WebhookHandlers
from mocks.vendors.impilo.records import Records
from mocks.webhooks.emit import WebhookEmitter


class Handlers(
    PatientHandlers,
    CareHandlers,
    CatalogueHandlers,
    DeviceHandlers,
    ReadingHandlers,
    SimulationHandlers,
    OrderHandlers,
    WebhookHandlers,
):
    """The Impilo API of one mock app."""

    def __init__(self, context: MockContext) -> None:
        self.context = context
        self.records = records = Records(context.store)
        self._trickles = {}
        config = context.config
        self.webhooks = WebhookEmitter(
            records.webhooks, records.webhook_logs, records.webhook_attempts, secret=records.webhook_secret_value,
            schedule=config.webhook_retry_schedule, timeout=config.webhook_timeout_seconds,
            hosts=config.webhook_hosts, events=records.webhook_events, own_ports=config.own_ports,
        )  # fmt: skip

    def seed(self) -> None:
        seeding.seed(self.context, self.records)

    def fixtures(self) -> list[Kind]:
        """The collections state fixtures load and export, and how (mocks/dx/fixtures.py)."""
        return fixtures.kinds(self.context, self.records)

    def admin_routes(self) -> list[tuple[str, list[str], Callable[[Request], Any]]]:
        """The mock-only controls under `/__mock` this API adds."""
        return [
            ("/__mock/impilo/orders/{order_id:int}/status", ["POST"], self._advance_order),
            ("/__mock/impilo/returns/{return_id:int}/status", ["POST"], self._advance_return),
            ("/__mock/webhooks/attempts", ["GET"], self._webhook_attempts),
            ("/__mock/impilo/devices/{device_id:int}/readings", ["POST", "DELETE"], self._device_readings),
            ("/__mock/impilo/devices/{device_id:int}/events", ["POST"], self._device_event),
        ]
