"""Impilo devices over HTTP: validate an identifier, associate and disassociate a patient, disable readings."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import IMPILO_KEY, base, on_each_store, state
from tests.support.webhooks import logs

B = base("impilo")


def patch(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return client.patch(f"{B}/device/{path}", json=body, headers=IMPILO_KEY)


def test_impilo_validate_device_answers_the_device_for_a_known_identifier_and_invalid_otherwise(
    client: TestClient,
) -> None:
    known = client.get(f"{B}/device/validate/SN-0101", headers=IMPILO_KEY)
    assert known.status_code == 200
    assert known.json()["valid"] is True and known.json()["device"]["id"] == 101
    unknown = client.get(f"{B}/device/validate/NOT-A-SERIAL", headers=IMPILO_KEY)
    assert unknown.status_code == 200 and unknown.json() == {"valid": False}


def test_impilo_seed_has_devices_in_every_status_consistent_with_sites_and_patients(client: TestClient) -> None:
    devices = state(client, "impilo")["devices"]
    assert {d["currentStatus"] for d in devices} >= {"availableAtSite", "withPatient", "available", "decommissioned"}
    for device in devices:
        assert (device["patientId"] is not None) == (device["currentStatus"] == "withPatient"), device
        if device["currentStatus"] in ("availableAtSite", "withPatient"):
            assert device["siteId"] is not None, device


@on_each_store
def test_impilo_device_association_round_trip_changes_status_events_and_fires_webhooks(client: TestClient) -> None:
    for kind in ("device.associationCreated", "device.associationRemoved"):
        client.post(f"{B}/webhook", json={"type": kind, "url": "http://127.0.0.1:9/hook"}, headers=IMPILO_KEY)
    external = client.get(f"{B}/patient/1234", headers=IMPILO_KEY).json()["externalIdentifier"]

    associated = patch(
        client, "associate-patient", {"deviceIdentifier": "SN-0101", "patientExternalIdentifier": external}
    )
    assert associated.status_code == 200, associated.text
    device = associated.json()
    assert device["currentStatus"] == "withPatient" and device["currentPatient"]["id"] == 1234
    assert device["deviceEvents"][-1]["type"] == "associationCreated"
    assert client.get(f"{B}/device/101", headers=IMPILO_KEY).json() == device

    removed = patch(client, "disassociate-patient", {"deviceId": 101, "patientId": 1234})
    assert removed.status_code == 200, removed.text
    device = removed.json()
    assert device["currentStatus"] == "availableAtSite" and "currentPatient" not in device
    assert device["site"]["id"] == 1234 and device["deviceEvents"][-1]["type"] == "associationRemoved"
    assert [row["webhookType"] for row in logs(client)] == ["device.associationCreated", "device.associationRemoved"]


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        pytest.param("associate-patient", {"deviceId": 102, "patientId": 1234}, 409, "availableAtSite",
                     id="associate-a-device-already-with-a-patient-is-409"),
        pytest.param("associate-patient", {"deviceId": 108, "patientId": 1234}, 409, "customer site",
                     id="associate-a-device-at-impilo-is-409"),
        pytest.param("associate-patient", {"patientId": 1234}, 400, "deviceId or deviceIdentifier",
                     id="associate-without-a-device-is-400"),
        pytest.param("associate-patient", {"deviceId": 101}, 400, "patientId or patientExternalIdentifier",
                     id="associate-without-a-patient-is-400"),
        pytest.param("associate-patient", {"deviceId": 999999, "patientId": 1234}, 404, "Device 999999",
                     id="associate-an-unknown-device-is-404"),
        pytest.param("associate-patient", {"deviceIdentifier": "NOPE", "patientId": 1234}, 404, "NOPE",
                     id="associate-an-unknown-identifier-is-404"),
        pytest.param("associate-patient", {"deviceId": 101, "patientId": 999999}, 404, "Patient 999999",
                     id="associate-an-unknown-patient-is-404"),
        pytest.param("disassociate-patient", {"deviceId": 102, "patientId": 0}, 409, "not with patient 0",
                     id="disassociate-from-another-patient-is-409"),
        pytest.param("disassociate-patient", {"deviceId": 101, "patientId": 1234}, 409, "withPatient",
                     id="disassociate-a-device-at-its-site-is-409"),
        pytest.param("disable-readings", {"deviceId": 106}, 409, "already disabled",
                     id="disable-readings-twice-is-409"),
        pytest.param("enable-readings", {"deviceId": 101}, 409, "already enabled",
                     id="enable-readings-when-enabled-is-409"),
        pytest.param("disable-readings", {}, 400, "deviceId or deviceIdentifier",
                     id="disable-readings-without-a-device-is-400"),
    ],
)  # fmt: skip
def test_impilo_device_operation_refuses_an_unmet_precondition_in_impilo_shape_and_changes_nothing(
    client: TestClient, path: str, body: dict[str, Any], status: int, message: str
) -> None:
    before = state(client, "impilo")["devices"]
    response = patch(client, path, body)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["status"] == status and message in error["message"] and error["path"] == f"{B}/device/{path}"
    assert state(client, "impilo")["devices"] == before


def test_impilo_disable_then_enable_readings_flips_the_device_flag(client: TestClient) -> None:
    disabled = patch(client, "disable-readings", {"deviceId": 102, "deviceIdentifier": "SN-0102"})
    assert disabled.status_code == 200 and disabled.json()["disabledReadings"] is True
    assert client.get(f"{B}/device/102", headers=IMPILO_KEY).json()["disabledReadings"] is True
    enabled = patch(client, "enable-readings", {"deviceIdentifier": "SN-0102"})
    assert enabled.status_code == 200 and enabled.json()["disabledReadings"] is False


def test_impilo_device_named_by_id_and_identifier_is_the_one_with_the_id(client: TestClient) -> None:
    response = patch(client, "disable-readings", {"deviceId": 102, "deviceIdentifier": "SN-0103"})
    assert response.status_code == 200 and response.json()["id"] == 102
    assert client.get(f"{B}/device/103", headers=IMPILO_KEY).json()["disabledReadings"] is False
