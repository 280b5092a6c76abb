"""Make devices act for a frontend: the vendor's test webhook, and mock-only controls under `/__mock/impilo`.

- `POST /__mock/impilo/devices/{id}/readings`: the device sends readings of its type, recorded like a
  `POST` of the reading path (same rules, same webhooks) with values around its patient's own baseline:
  `{}` one now; `{"count": n, "spanHours": h}` n readings spread over the last h hours (default 24);
  `{"everySeconds": s}` one every s seconds while the server runs, until `DELETE` of the same path.
- `POST /__mock/impilo/devices/{id}/events`: `{"type": "lowBattery" | "weakSignal" | "healthcheck"}`
  (`batteryPercentage` for a low battery) adds a device event and fires `device.<type>` webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mocks.context import MockContext
from mocks.dx.safejson import JSONResponse
from mocks.http.errors import KINDS, MockError
from mocks.state.clock import now_iso
from mocks.state.store import Record
from mocks.vendors.impilo.records import Records
from mocks.vendors.impilo.vitals import KIND_OF_ITEM_CLASS, baseline, source, values
from mocks.webhooks.emit import WebhookEmitter

Reply = tuple[Any, int]
EVENTS = ("lowBattery", "weakSignal", "healthcheck")
MAX_SERIES = 1000  # readings one call may add
MIN_EVERY = 0.05  # seconds between a trickle's readings, at least


class SimulationHandlers:
    context: MockContext
    records: Records
    webhooks: WebhookEmitter
    _trickles: dict[int, asyncio.Task[None]]  # device id -> its live trickle (Handlers.__init__)
    _record: Callable[[str, dict[str, Any]], dict[str, Any]]  # ReadingHandlers': record one reading

    async def test_blood_pressure_webhook(self, body: dict[str, Any], **_: Any) -> Reply:
        measured: dict[str, Any] = {k: body[k] for k in ("systolic", "diastolic", "heartRate") if k in body}
        payload: dict[str, Any] = {"readingTimestamp": now_iso(), **measured, "manual": False}
        if body.get("patientId") is not None:
            payload["patient"] = self.records.patient_view(self.records.patient(body["patientId"]))
        self.webhooks.emit("reading.bloodPressure", payload)
        return None, 204

    # --- /__mock/impilo/devices/{id}/... ---------------------------------------------------------------
    def _simulated(self, device: Record, at: datetime) -> dict[str, Any]:
        """A reading body as the device would send it at `at`, around its patient's baseline."""
        kind = self._kind_of(device)
        seed = self.context.faker.seed
        person = baseline(source(seed, f"impilo.vitals.{device.get('patientId')}"))
        local_hour = (at + timedelta(seconds=person.time_zone)).hour
        day = (at - datetime(2025, 1, 6, tzinfo=UTC)).total_seconds() / 86400
        stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        measured = values(kind, person, source(seed, f"impilo.sim.{device['id']}.{stamp}"), day, local_hour < 12)
        if "forcedExpiratoryVolume" in measured:
            measured["forcedExpiratoryVolumeInOneSecond"] = measured.pop("forcedExpiratoryVolume")
        measured.pop("heartRateUnit", None)
        return {"readingTimestamp": stamp, "deviceId": device["id"], "deviceTimeZoneOffset": person.time_zone,
                "manual": False, **measured}  # fmt: skip

    def _kind_of(self, device: Record) -> str:
        item_class = (self.records.items.get(device["itemId"]) or {}).get("itemClass")
        kind = KIND_OF_ITEM_CLASS.get(str(item_class))
        if kind is None:
            raise ValueError(f"device {device['id']} ({item_class}) takes no readings")
        return kind

    def _send_readings(self, device_id: int, moments: list[datetime]) -> list[dict[str, Any]]:
        device = self.records.devices.get(device_id)
        if device is None:
            raise LookupError(f"device {device_id} not found")
        kind = self._kind_of(device)
        return [self._record(kind, self._simulated(device, at)) for at in moments]

    async def _device_readings(self, request: Request) -> Response:
        device_id = int(request.path_params["device_id"])
        if request.method == "DELETE":
            task = self._trickles.pop(device_id, None)
            if task is not None:
                task.cancel()
            return JSONResponse({"stopped": task is not None})
        body = await _json_body(request)
        if body is None:
            return _problem(400, 'body must be a JSON object: {}, {"count", "spanHours"} or {"everySeconds"}')
        now = datetime.now(UTC)
        try:
            if "everySeconds" in body:
                every = float(body["everySeconds"])
                if not every >= MIN_EVERY:
                    return _problem(400, f"everySeconds must be at least {MIN_EVERY}")
                first = self._send_readings(device_id, [now])
                self._start_trickle(device_id, every)
                return JSONResponse({"readings": first, "everySeconds": every}, status_code=202)
            count, span = int(body.get("count", 1)), float(body.get("spanHours", 24))
            if not 1 <= count <= MAX_SERIES or span < 0:
                return _problem(400, f"count must be 1..{MAX_SERIES} and spanHours at least 0")
            step = timedelta(hours=span) / max(count - 1, 1)
            moments = [now - step * (count - 1 - i) for i in range(count)] if count > 1 else [now]
            return JSONResponse({"readings": self._send_readings(device_id, moments)}, status_code=201)
        except (TypeError, ValueError) as exc:
            return _problem(400, str(exc))
        except LookupError as exc:
            return _problem(404, str(exc))
        except MockError as exc:  # the API's own refusal (a disabled device, no patient): its status and words
            return _problem(KINDS[exc.kind][0], exc.message)

    def _start_trickle(self, device_id: int, every: float) -> None:
        old = self._trickles.pop(device_id, None)
        if old is not None:
            old.cancel()

        async def trickle() -> None:
            while True:
                await asyncio.sleep(every)
                with contextlib.suppress(LookupError, ValueError, MockError):  # a refusal skips one beat
                    self._send_readings(device_id, [datetime.now(UTC)])

        self._trickles[device_id] = asyncio.get_running_loop().create_task(trickle())

    async def _device_event(self, request: Request) -> Response:
        body = await _json_body(request)
        kind = (body or {}).get("type")
        battery = (body or {}).get("batteryPercentage", 9)
        if kind not in EVENTS or not (isinstance(battery, int) and 0 <= battery <= 100):
            return _problem(400, f'body must be {{"type": one of {list(EVENTS)}[, "batteryPercentage": 0..100]}}')
        with self.records.lock:
            device = self.records.devices.get(int(request.path_params["device_id"]))
            if device is None:
                return _problem(404, "device not found")
            at = now_iso()
            changed = {**device, "deviceEvents": [*device["deviceEvents"], {"type": kind, "eventTimestamp": at}]}
            if kind == "healthcheck":
                changed["lastHealthCheck"] = at
            self.records.devices.put(device["id"], changed)
            view = self.records.device_view(changed)
            payload: dict[str, Any] = {"device": view}
            if kind == "lowBattery":
                payload = {"batteryPercentage": battery, **payload}
            rows = self.webhooks.emit(f"device.{kind}", payload)
        return JSONResponse({"device": view, "webhooks": len(rows)}, status_code=201)


async def _json_body(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _problem(status: int, message: str) -> Response:
    return JSONResponse({"message": message}, status_code=status)
