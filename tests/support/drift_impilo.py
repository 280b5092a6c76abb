"""Impilo's vendor rules broken one at a time (see tests/support/drift.py)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.http.errors import conflict
from tests.support.drift import Handler, Reply, _read_body, on_path, with_handler


def _order_rule_broken(order: Any) -> bool:
    if not isinstance(order, dict):
        return False
    one_party = ("patient" in order) != ("site" in order)
    lines = any(isinstance(order.get(name), list) and order[name] for name in ("orderItems", "orderKits"))
    return not (one_party and lines)


def order_rules_not_enforced() -> ASGIApp:
    """createOrder accepts orders for both or neither of patient and site, or without lines."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def lenient(scope: Scope, receive: Receive, send: Send) -> None:
            raw = await _read_body(receive)
            try:
                order = json.loads(raw)
            except ValueError:
                order = None
            if _order_rule_broken(order):
                await JSONResponse({"id": 1, **order, "currentStatus": "pending"}, status_code=201)(
                    scope, receive, send
                )
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}

            await app(scope, replay, send)

        return lenient

    return on_path("impilo", "POST", "/order", wrap)


def created_patient_filled_with_fake_data() -> Any:
    """createPatient completes the patient with made-up values for every field it was not sent."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def filled(*args: Any, **kwargs: Any) -> Reply:
            body, status = await original(*args, **kwargs)
            fake = handlers.context.faker.fill(handlers.context.schema("impilo", "Patient"), "drift.patient", {})
            return {**fake, **body}, status

        return filled

    return with_handler("impilo", "create_patient", make)


def unknown_patient_site_is_a_conflict() -> Any:
    """A patient body naming a site that does not exist is answered 409 instead of the one rule's 404."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def conflicting(*args: Any, body: dict[str, Any], **kwargs: Any) -> Reply:
            site = body.get("site") or {}
            if "id" in site and handlers.records.sites.get(site["id"]) is None:
                raise conflict(f"Site {site['id']} does not exist; create it first (POST /site)")
            return tuple(await original(*args, body=body, **kwargs))

        return conflicting

    return with_handler("impilo", "create_patient", make)
