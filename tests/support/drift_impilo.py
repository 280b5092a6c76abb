"""Impilo's vendor rules broken one at a time (see tests/support/drift.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.http.errors import bad_request, conflict, not_found
from tests.support import drift
from tests.support.drift import Handler, Reply, _read_body, handlers_of, on_path, with_handler, with_result


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


def association_precondition_not_enforced() -> ASGIApp:
    """associateDevice gives a device to a patient whatever its status (here: one already with a patient)."""

    def make(handlers: Any, original: Any) -> Any:
        async def lenient(*args: Any, body: dict[str, Any], **kwargs: Any) -> Any:
            records = handlers.records
            by_id = records.devices.get(body["deviceId"]) if body.get("deviceId") is not None else None
            device = by_id or records.device_by_identifier(str(body.get("deviceIdentifier")))
            if device is not None and device["currentStatus"] == "withPatient":
                handlers.records.devices.put(device["id"], {**device, "currentStatus": "availableAtSite"})
            return await original(*args, body=body, **kwargs)

        return lenient

    return drift.with_handler("impilo", "associate_device", make)


def disabled_readings_recorded() -> ASGIApp:
    """recordBloodPressureReading saves readings of a device whose readings are disabled."""

    def make(handlers: Any, original: Any) -> Any:
        async def lenient(*args: Any, body: dict[str, Any], **kwargs: Any) -> Any:
            device = handlers.records.devices.get(body.get("deviceId")) if body.get("deviceId") is not None else None
            if device is None or not device.get("disabledReadings"):
                return await original(*args, body=body, **kwargs)
            handlers.records.devices.put(device["id"], {**device, "disabledReadings": False})
            try:
                return await original(*args, body=body, **kwargs)
            finally:
                handlers.records.devices.put(device["id"], device)

        return lenient

    return drift.with_handler("impilo", "record_blood_pressure_reading", make)


def kit_link_precondition_not_enforced() -> ASGIApp:
    """linkKitToPatient links a packed kit whatever its status (here: one already with a patient)."""

    def make(handlers: Any, original: Any) -> Any:
        async def lenient(*args: Any, body: dict[str, Any], **kwargs: Any) -> Any:
            kit = handlers.records.packed_kits.get(body.get("packedKitId"))
            if kit is not None and kit["status"] == "WITH_PATIENT":
                handlers.records.packed_kits.put(kit["id"], {**kit, "status": "PACKED_AT_SITE"})
            return await original(*args, body=body, **kwargs)

        return lenient

    return drift.with_handler("impilo", "link_kit_to_patient", make)


def created_patient_filled_with_fake_data() -> Any:
    """createPatient completes the patient with made-up values for every field it was not sent."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def filled(*args: Any, **kwargs: Any) -> Reply:
            body, status = await original(*args, **kwargs)
            fake = handlers.context.faker.fill(handlers.context.schema("impilo", "Patient"), "drift.patient", {})
            return {**body, **{k: v for k, v in fake.items() if body.get(k) is None}}, status

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


def _refusing(method: str, refuses: Callable[[dict[str, Any]], str | None]) -> Any:
    """A mock whose Impilo `method` answers 400 with the message `refuses(body)` gives, when it gives one."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def strict(*args: Any, body: dict[str, Any], **kwargs: Any) -> Reply:
            message = refuses(body)
            if message:
                raise bad_request(message)
            return tuple(await original(*args, body=body, **kwargs))

        return strict

    return with_handler("impilo", method, make)


def order_line_count_required() -> Any:
    """createOrder refuses an order line without `count` (the guide requires only the item's or kit's id)."""
    return _refusing("create_order", lambda body: next((
        "count is required" for name in ("orderItems", "orderKits") for line in body.get(name) or []
        if isinstance(line, dict) and "count" not in line
    ), None))  # fmt: skip


def webhook_secret_required() -> Any:
    """createWebhookSecret refuses a body without `secret` (the vendor reference marks it optional)."""
    return _refusing("create_webhook_secret", lambda body: None if "secret" in body else "secret is required")


def webhook_payload_with_undeclared_field() -> Any:
    """Patient webhooks carry `updatedAt`, which the Patient schema of their callbacks does not declare (the
    logs show what was delivered)."""
    delivered = {
        "id": 1,
        "type": "patient.created",
        "payload": {"id": 1, "firstName": "Emily", "lastName": "Clark", "updatedAt": "2026-01-01T00:00:00Z"},
    }
    log = {"id": 1, "webhookId": 1, "webhookType": "patient.created", "webhookUrl": "http://127.0.0.1:9/hook",
           "payload": json.dumps(delivered), "createTimestamp": "2026-01-01T00:00:00.000Z", "lastResponseStatus": 200,
           "retryAttempts": 0, "lastRetryTimestamp": None}  # fmt: skip
    return with_result("impilo", "list_webhook_logs", lambda body, status: ({**body, "content": [log]}, status))


def loaner_kit_rules_not_enforced() -> Any:
    """Kit reads show kit 1005 as a loaner, but orders treat it as an ordinary kit (no loaner-kit rules)."""
    app = with_result("impilo", "list_kits", lambda body, status: ({**body, "content": [
        {**kit, "loaner": True} if kit["id"] == 1005 else kit for kit in body["content"]]}, status))  # fmt: skip
    records = handlers_of(app, "impilo").records
    records.kits.put(1005, {**records.kits.get(1005), "loaner": False})
    return app


def identifier_with_slash_not_found() -> Any:
    """GET /patient/identifier/{identifier} misses identifiers holding `/` (routing on the decoded path)."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def sliced(*args: Any, identifier: str, **kwargs: Any) -> Reply:
            if "/" in identifier:
                raise not_found("No such path")
            return tuple(await original(*args, identifier=identifier, **kwargs))

        return sliced

    app = with_handler("impilo", "get_patient_by_external_identifier", make)

    def slashed(handlers: Any, original: Handler) -> Handler:  # every created patient's identifier holds a `/`
        async def create(*args: Any, body: dict[str, Any], **kwargs: Any) -> Reply:
            given = {**body, "externalIdentifier": f"{body.get('externalIdentifier', '')}a/b"}
            return tuple(await original(*args, body=given, **kwargs))

        return create

    handlers = handlers_of(app, "impilo")
    handlers.create_patient = slashed(handlers, handlers.create_patient)
    return app
