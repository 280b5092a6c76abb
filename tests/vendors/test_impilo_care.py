"""Impilo over HTTP: link and unlink packed kits, fetch a patient by email, a patient's alert configuration."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import IMPILO_KEY, base, on_each_store, state

B = base("impilo")


def kits(client: TestClient) -> dict[int, dict[str, Any]]:
    return {kit["id"]: kit for kit in state(client, "impilo")["packed_kits"]}


@on_each_store
def test_impilo_packed_kit_is_linked_to_a_patient_and_unlinked_with_204(client: TestClient) -> None:
    external = client.get(f"{B}/patient/0", headers=IMPILO_KEY).json()["externalIdentifier"]
    linked = client.patch(f"{B}/kit/associate-kit", json={"packedKitId": 1, "patientExternalIdentifier": external},
                          headers=IMPILO_KEY)  # fmt: skip
    assert linked.status_code == 204 and linked.content == b""
    assert (kits(client)[1]["status"], kits(client)[1]["patientId"]) == ("WITH_PATIENT", 0)
    unlinked = client.patch(f"{B}/kit/dissociate-kit", json={"packedKitId": 1, "patientId": 0}, headers=IMPILO_KEY)
    assert unlinked.status_code == 204 and unlinked.content == b""
    assert (kits(client)[1]["status"], kits(client)[1]["patientId"]) == ("PACKED_AT_SITE", None)


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        pytest.param("associate-kit", {"packedKitId": 2, "patientId": 1234}, 409, "PACKED_AT_SITE",
                     id="link-a-kit-with-a-patient-is-409"),
        pytest.param("dissociate-kit", {"packedKitId": 1, "patientId": 1234}, 409, "WITH_PATIENT",
                     id="unlink-a-kit-at-its-site-is-409"),
        pytest.param("dissociate-kit", {"packedKitId": 2, "patientId": 0}, 409, "not with patient 0",
                     id="unlink-from-another-patient-is-409"),
        pytest.param("associate-kit", {"packedKitId": 1}, 400, "patientId or patientExternalIdentifier",
                     id="link-without-a-patient-is-400"),
        pytest.param("associate-kit", {"packedKitId": 999, "patientId": 1234}, 404, "Packed kit 999",
                     id="link-an-unknown-kit-is-404"),
        pytest.param("associate-kit", {"packedKitId": 1, "patientId": 999999}, 404, "Patient 999999",
                     id="link-to-an-unknown-patient-is-404"),
    ],
)  # fmt: skip
def test_impilo_kit_link_refuses_an_unmet_precondition_and_changes_nothing(
    client: TestClient, path: str, body: dict[str, Any], status: int, message: str
) -> None:
    before = kits(client)
    response = client.patch(f"{B}/kit/{path}", json=body, headers=IMPILO_KEY)
    assert response.status_code == status, response.text
    assert response.json()["status"] == status and message in response.json()["message"]
    assert kits(client) == before


def test_impilo_patient_is_fetched_by_email_whatever_its_case(client: TestClient) -> None:
    patient = client.get(f"{B}/patient/1234", headers=IMPILO_KEY).json()
    found = client.post(f"{B}/patient/email", json={"email": patient["email"].upper()}, headers=IMPILO_KEY)
    assert found.status_code == 200 and found.json() == patient
    missing = client.post(f"{B}/patient/email", json={"email": "nobody@example.com"}, headers=IMPILO_KEY)
    assert missing.status_code == 404 and "nobody@example.com" in missing.json()["message"]
    empty = client.post(f"{B}/patient/email", json={}, headers=IMPILO_KEY)
    assert empty.status_code == 400


@on_each_store
def test_impilo_alert_configuration_is_set_per_type_and_read_back(client: TestClient) -> None:
    assert client.get(f"{B}/patient/1234/alert-configuration", headers=IMPILO_KEY).json() == []
    first = {"enabled": True, "notifyHealthCoach": True, "config": {"rules": [{"systolicAbove": 160}]}}
    stored = client.put(f"{B}/patient/1234/alert-configuration", json=first, headers=IMPILO_KEY)
    assert stored.status_code == 200 and stored.json() == {**first, "alertConfigurationType": "bloodPressure"}
    weight = {"alertConfigurationType": "weight", "enabled": False, "notificationEmails": ["coach@example.com"]}
    client.put(f"{B}/patient/1234/alert-configuration", json=weight, headers=IMPILO_KEY)
    replaced = {"alertConfigurationType": "bloodPressure", "enabled": False}
    client.put(f"{B}/patient/1234/alert-configuration", json=replaced, headers=IMPILO_KEY)
    read = client.get(f"{B}/patient/1234/alert-configuration", headers=IMPILO_KEY).json()
    assert sorted(read, key=lambda c: c["alertConfigurationType"]) == [replaced, weight]
    assert client.get(f"{B}/patient/0/alert-configuration", headers=IMPILO_KEY).json() == []
    unknown = client.put(f"{B}/patient/999999/alert-configuration", json=first, headers=IMPILO_KEY)
    assert unknown.status_code == 404
