"""Impilo's readings: record, list and fetch, one path (and three operations) per reading type.

The vendor's operations differ only in the reading type, so each operationId's method is made by one of
three factories; `_record`, `_list` and `_get` hold the behaviour once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from mocks.vendors.impilo import rules
from mocks.vendors.impilo.records import Records, matches, page_of
from mocks.vendors.impilo.vitals import UNITS
from mocks.webhooks.emit import WebhookEmitter

Reply = tuple[Any, int]
Method = Callable[..., Awaitable[Reply]]
# Reading types with a documented webhook type (`reading.<type>`); heart rate (variability) have none.
WEBHOOK_KINDS = frozenset({"bloodPressure", "bloodGlucose", "weight", "bloodOxygen", "temperature", "peakFlow",
                           "sleepMatActivity", "sleepMatDuration"})  # fmt: skip
NOT_STORED = ("deviceId", "deviceIdentifier", "patientId")


def utc_stamp(value: Any) -> str:
    """An ISO-8601 instant as the vendor's UTC timestamps are written (`...T09:00:00.000Z`); a value
    without a zone is taken as UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _recorder(kind: str) -> Method:
    async def record(self: ReadingHandlers, body: dict[str, Any], **_: Any) -> Reply:
        return self._record(kind, body), 200

    return record


def _lister(kind: str) -> Method:
    async def list_(self: ReadingHandlers, page: int = 1, size: int = 15, **query: Any) -> Reply:
        return self._list(kind, page, size, query), 200

    return list_


def _getter(kind: str) -> Method:
    async def get(self: ReadingHandlers, reading_id: int, **_: Any) -> Reply:
        return self.records.reading_view(self.records.reading(kind, reading_id)), 200

    return get


class ReadingHandlers:
    records: Records
    webhooks: WebhookEmitter

    def _record(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.records.lock:
            device, patient = rules.reading_source(self.records, body)
            given = {k: v for k, v in body.items() if k not in NOT_STORED}
            if "forcedExpiratoryVolumeInOneSecond" in given:  # the vendor's response names it differently
                given["forcedExpiratoryVolume"] = given.pop("forcedExpiratoryVolumeInOneSecond")
            units = {**UNITS.get(kind, {}), **({"heartRateUnit": "bpm"} if "heartRate" in given and kind in
                     ("bloodPressure", "bloodOxygen") else {})}  # fmt: skip
            record = self.records.readings[kind].add(lambda key: {
                "id": key, **given, "readingTimestamp": utc_stamp(body["readingTimestamp"]), **units,
                "patientId": patient["id"], "deviceId": device["id"] if device else None,
                "itemId": device["itemId"] if device else None,
            })  # fmt: skip
            view = self.records.reading_view(record)
            if kind in WEBHOOK_KINDS:
                site = (device or {}).get("siteId") or patient.get("siteId")
                self.webhooks.emit(f"reading.{kind}", lambda: {**view, **self._site_of(site)})
            return view

    def _site_of(self, site_id: int | None) -> dict[str, Any]:
        site = self.records.site_view(site_id)
        return {"site": site} if site is not None else {}

    def _list(self, kind: str, page: int, size: int, q: dict[str, Any]) -> dict[str, Any]:
        external = q.get("external_identifier")
        by_external = self.records.patients.find_unique("externalIdentifier", external) if external else None
        start, end = q.get("start_timestamp"), q.get("end_timestamp")
        checks = {
            "patient": (lambda r, v: r["patientId"] == v, q.get("patient_id")),
            "external": (lambda r, v: by_external is not None and r["patientId"] == by_external["id"], external),
            "device": (lambda r, v: r.get("deviceId") == v, q.get("device_id")),
            "start": (lambda r, v: r["readingTimestamp"] >= v, utc_stamp(start) if start is not None else None),
            "end": (lambda r, v: r["readingTimestamp"] < v, utc_stamp(end) if end is not None else None),
        }
        found = self.records.readings[kind].where(lambda r: matches(r, checks))
        found.sort(key=lambda r: (r["readingTimestamp"], r["id"]), reverse=bool(q.get("sort_descending")))
        return page_of(found, page, size, self.records.reading_view)

    record_blood_pressure_reading = _recorder("bloodPressure")
    list_blood_pressure_readings = _lister("bloodPressure")
    get_blood_pressure_reading = _getter("bloodPressure")
    record_blood_glucose_reading = _recorder("bloodGlucose")
    list_blood_glucose_readings = _lister("bloodGlucose")
    get_blood_glucose_reading = _getter("bloodGlucose")
    record_weight_reading = _recorder("weight")
    list_weight_readings = _lister("weight")
    get_weight_reading = _getter("weight")
    record_blood_oxygen_reading = _recorder("bloodOxygen")
    list_blood_oxygen_readings = _lister("bloodOxygen")
    get_blood_oxygen_reading = _getter("bloodOxygen")
    record_temperature_reading = _recorder("temperature")
    list_temperature_readings = _lister("temperature")
    get_temperature_reading = _getter("temperature")
    record_heart_rate_reading = _recorder("heartRate")
    list_heart_rate_readings = _lister("heartRate")
    get_heart_rate_reading = _getter("heartRate")
    record_heart_rate_variability_reading = _recorder("heartRateVariability")
    list_heart_rate_variability_readings = _lister("heartRateVariability")
    get_heart_rate_variability_reading = _getter("heartRateVariability")
    record_peak_flow_reading = _recorder("peakFlow")
    list_peak_flow_readings = _lister("peakFlow")
    get_peak_flow_reading = _getter("peakFlow")
    record_sleep_mat_activity_reading = _recorder("sleepMatActivity")
    list_sleep_mat_activity_readings = _lister("sleepMatActivity")
    get_sleep_mat_activity_reading = _getter("sleepMatActivity")
    record_sleep_mat_duration_reading = _recorder("sleepMatDuration")
    list_sleep_mat_duration_readings = _lister("sleepMatDuration")
    get_sleep_mat_duration_reading = _getter("sleepMatDuration")
