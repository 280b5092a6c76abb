"""Impilo's vendor rules broken one at a time (see tests/support/drift.py)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.support import drift
from tests.support.drift import _read_body, on_path


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
