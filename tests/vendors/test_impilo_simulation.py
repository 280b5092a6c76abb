"""Impilo webhooks for devices and readings, the vendor's test webhook, and the mock-only device simulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from starlette.testclient import TestClient

import specs
from tests.support.helpers import IMPILO_KEY, base, wait_until
from tests.support.webhooks import logs

B = base("impilo")
SIM = "/__mock/impilo/devices"
HOOK = "http://127.0.0.1:9/hook"


def subscribe(client: TestClient, *types: str) -> None:
    for kind in types:
        assert client.post(f"{B}/webhook", json={"type": kind, "url": HOOK}, headers=IMPILO_KEY).status_code == 200


def delivery_schema(event_type: str) -> dict[str, Any]:
    """The body schema the spec declares for one webhook type (a callback of createWebhook)."""
    callbacks = specs.load("impilo")["paths"]["/webhook"]["post"]["callbacks"]
    for callback in callbacks.values():
        operation = next(iter(callback.values()))["post"]
        if operation["summary"] == f"{event_type} delivery":
            return operation["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]
    raise KeyError(event_type)


def assert_declared(row: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(row["payload"])
    errors = list(
        OAS30Validator(delivery_schema(row["webhookType"]), format_checker=oas30_format_checker).iter_errors(body)
    )
    assert errors == [], (row["webhookType"], [e.message for e in errors])
    return body  # type: ignore[no-any-return]


def test_impilo_device_and_reading_webhooks_carry_the_payloads_the_spec_declares(client: TestClient) -> None:
    subscribe(client, "device.associationCreated", "device.associationRemoved", "device.lowBattery",
              "device.weakSignal", "device.healthcheck", "reading.bloodPressure", "reading.weight")  # fmt: skip
    client.patch(f"{B}/device/associate-patient", json={"deviceId": 101, "patientId": 1234}, headers=IMPILO_KEY)
    client.post(f"{SIM}/101/readings", json={})
    client.post(f"{SIM}/103/readings", json={})
    for event in ("lowBattery", "weakSignal", "healthcheck"):
        assert client.post(f"{SIM}/101/events", json={"type": event}).status_code == 201
    client.patch(f"{B}/device/disassociate-patient", json={"deviceId": 101, "patientId": 1234}, headers=IMPILO_KEY)
    rows = logs(client)
    assert [r["webhookType"] for r in rows] == [
        "device.associationCreated", "reading.bloodPressure", "reading.weight", "device.lowBattery",
        "device.weakSignal", "device.healthcheck", "device.associationRemoved",
    ]  # fmt: skip
    bodies = [assert_declared(row) for row in rows]
    assert bodies[3]["payload"]["batteryPercentage"] == 9 and bodies[3]["payload"]["device"]["id"] == 101
    assert bodies[1]["payload"]["patient"]["id"] == 1234 and bodies[1]["payload"]["site"]["id"] == 1234


def test_impilo_test_blood_pressure_webhook_fires_without_recording_a_reading(client: TestClient) -> None:
    subscribe(client, "reading.bloodPressure")
    before = client.get(f"{B}/blood-pressure-reading", headers=IMPILO_KEY).json()["total"]
    body = {"patientId": 1234, "systolic": 120, "diastolic": 80, "heartRate": 100}
    response = client.post(f"{B}/test/blood-pressure-webhook", json=body, headers=IMPILO_KEY)
    assert response.status_code == 204 and response.content == b""
    [row] = logs(client)
    payload = assert_declared(row)["payload"]
    assert (payload["systolic"], payload["diastolic"], payload["patient"]["id"]) == (120, 80, 1234)
    assert client.get(f"{B}/blood-pressure-reading", headers=IMPILO_KEY).json()["total"] == before
    unknown = client.post(f"{B}/test/blood-pressure-webhook", json={"patientId": 999999}, headers=IMPILO_KEY)
    assert unknown.status_code == 404 and len(logs(client)) == 1


def test_impilo_simulated_series_spreads_plausible_readings_over_the_span_and_lists_them(client: TestClient) -> None:
    response = client.post(f"{SIM}/102/readings", json={"count": 5, "spanHours": 48})
    assert response.status_code == 201, response.text
    sent = response.json()["readings"]
    stamps = [r["readingTimestamp"] for r in sent]
    assert len(sent) == 5 and stamps == sorted(stamps) and stamps[0] < stamps[-1]
    assert all(90 <= r["systolic"] <= 200 and r["device"]["id"] == 102 for r in sent)
    listed = client.get(f"{B}/blood-pressure-reading", params={"deviceId": 102, "startTimestamp": stamps[0]},
                        headers=IMPILO_KEY).json()  # fmt: skip
    assert [r["id"] for r in listed["content"]] == [r["id"] for r in sent]


@pytest.mark.parametrize(
    ("device", "body", "status", "message"),
    [
        pytest.param(106, {}, 409, "disabled", id="device-with-readings-disabled-is-refused-like-the-api"),
        pytest.param(101, {}, 409, "not associated with a patient", id="device-without-a-patient-is-refused"),
        pytest.param(999, {}, 404, "device 999 not found", id="unknown-device-is-404"),
        pytest.param(102, {"count": 0}, 400, "count must be", id="empty-series-is-400"),
        pytest.param(102, {"everySeconds": 0}, 400, "everySeconds", id="too-fast-trickle-is-400"),
    ],
)  # fmt: skip
def test_impilo_simulated_reading_is_refused_with_a_clear_message(
    client: TestClient, device: int, body: dict[str, Any], status: int, message: str
) -> None:
    response = client.post(f"{SIM}/{device}/readings", json=body)
    assert response.status_code == status and message in response.json()["message"]


def test_impilo_live_trickle_keeps_recording_until_stopped(client: TestClient) -> None:
    def count() -> int:
        return int(client.get(f"{B}/weight-reading", params={"deviceId": 103}, headers=IMPILO_KEY).json()["total"])

    before = count()
    started = client.post(f"{SIM}/103/readings", json={"everySeconds": 0.05})
    assert started.status_code == 202 and len(started.json()["readings"]) == 1
    assert wait_until(lambda: count() >= before + 3, timeout=20)
    assert client.delete(f"{SIM}/103/readings").json() == {"stopped": True}
    assert client.delete(f"{SIM}/103/readings").json() == {"stopped": False}


def test_impilo_device_event_is_recorded_and_health_check_moves_last_health_check(client: TestClient) -> None:
    before = client.get(f"{B}/device/104", headers=IMPILO_KEY).json()
    response = client.post(f"{SIM}/104/events", json={"type": "healthcheck"})
    assert response.status_code == 201
    after = client.get(f"{B}/device/104", headers=IMPILO_KEY).json()
    assert after["deviceEvents"][-1]["type"] == "healthcheck"
    assert after["lastHealthCheck"] == after["deviceEvents"][-1]["eventTimestamp"] != before["lastHealthCheck"]
    assert client.post(f"{SIM}/104/events", json={"type": "explode"}).status_code == 400
    assert client.post(f"{SIM}/104/events", json={"type": "lowBattery", "batteryPercentage": "x"}).status_code == 400
