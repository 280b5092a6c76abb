"""Each rule specs/legit_health.yaml states in a description, as the mock answers it (the rules the other
Legit.Health test modules do not already cover)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.helpers import LEGIT_AUTH, base, state

B = base("legit_health")
UNKNOWN = "00000000-0000-4000-8000-000000000000"
LUCIA, DANIEL = "a449666c710c", "baa3cf93-6f1c"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def patient(client: TestClient, external_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = ok(
        client.get(f"{B}/patients", params={"externalIds[]": external_id}, headers=LEGIT_AUTH)
    )
    return found[0]


def outbox(client: TestClient) -> list[dict[str, Any]]:
    return client.get("/__mock/outbox", params={"api": "legit_health"}).json()


@pytest.mark.parametrize(("path", "external_id"), [("/patients", LUCIA), ("/practitioners", "dr-0042")])
def test_lists_by_external_id_answer_an_id_given_twice_once(client: TestClient, path: str, external_id: str) -> None:
    listed = ok(client.get(f"{B}{path}", params={"externalIds[]": [external_id, external_id]}, headers=LEGIT_AUTH))

    assert [item["externalId"] for item in listed] == [external_id]


def test_pausing_a_tracked_condition_ends_its_tracking(client: TestClient) -> None:
    daniel = patient(client, DANIEL)
    tracked = next(c for c in daniel["conditions"] if c["trackingFrequencyDays"] is not None)
    command = {"action": "pause", "conditionId": tracked["id"]}

    patched = ok(client.patch(f"{B}/patients/{daniel['id']}", json={"conditions": [command]}, headers=LEGIT_AUTH))

    paused = next(c for c in patched["conditions"] if c["id"] == tracked["id"])
    assert (paused["status"], paused["trackingFrequencyDays"]) == ("paused", None)


def test_finishing_the_active_episode_of_a_tracked_condition_ends_its_tracking(client: TestClient) -> None:
    daniel = patient(client, DANIEL)
    tracked = next(c for c in daniel["conditions"] if c["trackingFrequencyDays"] is not None)
    episodes = ok(client.get(f"{B}/conditions/{tracked['id']}/episodes-of-care", headers=LEGIT_AUTH))
    active = next(e for e in episodes if e["status"] == "active")

    body = {"externalId": "EP-END", "status": "finished"}
    ok(client.patch(f"{B}/episodes-of-care/{active['id']}", json=body, headers=LEGIT_AUTH))

    after = next(c for c in patient(client, DANIEL)["conditions"] if c["id"] == tracked["id"])
    assert (after["status"], after["trackingFrequencyDays"]) == ("paused", None)


def test_patch_patient_sends_an_sms_verification_when_a_pending_patient_gets_a_new_phone(client: TestClient) -> None:
    daniel = patient(client, DANIEL)

    ok(client.patch(f"{B}/patients/{daniel['id']}", json={"phone": "+44 7700 900999"}, headers=LEGIT_AUTH))

    assert [(m["channel"], m["to"]) for m in outbox(client)] == [("sms", "+44 7700 900999")]


@pytest.mark.parametrize("owner", ["patients/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f",
                                   "practitioners/6b1d2c3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e"])  # fmt: skip
def test_auth_tokens_expire_one_hour_after_they_are_issued(client: TestClient, owner: str) -> None:
    issued = datetime.now(UTC)

    tokens = ok(client.get(f"{B}/{owner}/auth-tokens", headers=LEGIT_AUTH))

    expires = datetime.fromisoformat(tokens["expiresAt"].replace("Z", "+00:00"))
    assert abs(expires - (issued + timedelta(hours=1))) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("PATCH", f"/patients/{UNKNOWN}", {"firstName": "X"}, id="patch-patient"),
        pytest.param("GET", f"/patients/{UNKNOWN}/auth-tokens?sendLinkToPatientByEmail=true", None,
                     id="patient-auth-tokens"),
        pytest.param("GET", f"/practitioners/{UNKNOWN}/auth-tokens?sendLinkToPractitionerByEmail=true", None,
                     id="practitioner-auth-tokens"),
        pytest.param("POST", f"/conditions/{UNKNOWN}/episodes-of-care", {}, id="create-episode"),
        pytest.param("PATCH", f"/episodes-of-care/{UNKNOWN}", {"externalId": "EP-1"}, id="patch-episode"),
        pytest.param("POST", f"/episodes-of-care/{UNKNOWN}/encounters", {"planned_for": "2030-01-01T00:00:00Z"},
                     id="create-encounter"),
    ],
)  # fmt: skip
def test_writes_on_an_unknown_path_id_answer_404_and_change_nothing(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = state(client, "legit_health")

    response = client.request(method, f"{B}{path}", json=body, headers=LEGIT_AUTH)

    assert response.status_code == 404 and UNKNOWN in response.json()["detail"], response.text
    assert state(client, "legit_health") == before
    assert outbox(client) == []


def test_create_practitioner_ignores_unknown_and_server_owned_fields(client: TestClient) -> None:
    body = {"externalId": "dr-extra", "email": "extra@example.org", "id": UNKNOWN, "verificationStatus": "verified",
            "title": "Dr"}  # fmt: skip

    created = ok(client.post(f"{B}/practitioners", json=body, headers=LEGIT_AUTH), 201)

    assert created["id"] != UNKNOWN and created["verificationStatus"] == "pending" and "title" not in created
