"""Acme handlers: one method per operationId of acme.yaml, state in the app's store."""

from __future__ import annotations

from typing import Any

from mocks.context import MockContext
from mocks.http.errors import not_found
from tests.vendors.fictional.acme.seed import seed_widgets

Reply = tuple[Any, int]


class Handlers:
    def __init__(self, context: MockContext) -> None:
        self.widgets = context.store.collection("acme", "widgets")

    def seed(self) -> None:
        seed_widgets(self.widgets)

    async def create_widget(self, body: dict[str, Any], **_: Any) -> Reply:
        fields = {"name": body["name"], "size": body.get("size", 1)}
        return self.widgets.add(lambda key: {"id": key, **fields}), 201

    async def list_widgets(self, limit: int = 20, **_: Any) -> Reply:
        return self.widgets.slice(0, limit), 200

    async def get_widget(self, widget_id: int, **_: Any) -> Reply:
        widget = self.widgets.get(widget_id)
        if widget is None:
            raise not_found(f"No widget {widget_id}")
        return widget, 200
