"""The Heidi mock is never stricter than Heidi: ids of any form, no invented bounds, Heidi's full enums."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

import specs
from tests.support.helpers import base, state

BASE = base("heidi")
SESSIONS = f"{BASE}/sessions"
PROFILES = f"{BASE}/patient-profiles"
JOHN = "5eb7cf5a86d9755df3a6c593"
REAL_LONG_ID = "209429578973190336673242710141917128963"  # a 39-digit session id seen in public clients
SESSION_NOT_FOUND = {"detail": {"msg": "Session not found", "type": "SessionNotFoundError"}}
PROFILE_NOT_FOUND = {"detail": {"msg": "Patient profile not found", "type": "PatientProfileNotFoundError"}}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", f"{SESSIONS}/{REAL_LONG_ID}", None, id="get-39-digit-id"),
        pytest.param("PATCH", f"{SESSIONS}/{REAL_LONG_ID}", {"duration": 5}, id="patch-39-digit-id"),
        pytest.param("GET", f"{SESSIONS}/12ab", None, id="get-non-numeric-id"),
        pytest.param(
            "PATCH", f"{SESSIONS}/1234567890", {"linked_sessions_for_context": [REAL_LONG_ID]}, id="context-39-digits"
        ),
        pytest.param("POST", f"{PROFILES}/{JOHN}/sessions", {"session_ids": [REAL_LONG_ID]}, id="link-39-digits"),
        pytest.param("POST", f"{PROFILES}/{JOHN}/sessions", {"session_ids": ["abc"]}, id="link-non-numeric"),
    ],
)
def test_unknown_session_of_any_form_answers_404_session_not_found_and_changes_nothing(
    client: TestClient, heidi_auth: dict[str, str], method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = state(client, "heidi")

    response = client.request(method, path, json=body, headers=heidi_auth)

    assert response.status_code == 404, response.text
    assert response.json() == SESSION_NOT_FOUND
    assert state(client, "heidi") == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", f"{PROFILES}/not-a-hex-id", None, id="get-non-hex-id"),
        pytest.param("POST", SESSIONS, {"patient_profile_id": "XYZ"}, id="create-session-for-non-hex-id"),
    ],
)
def test_unknown_profile_of_any_form_answers_404_profile_not_found(
    client: TestClient, heidi_auth: dict[str, str], method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = client.request(method, path, json=body, headers=heidi_auth)

    assert response.status_code == 404, response.text
    assert response.json() == PROFILE_NOT_FOUND


def test_update_session_answers_session_envelope_when_clinician_notes_are_patched(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    notes = ["Medication history: paracetamol", "Allergies: penicillin"]  # the vendor context page's example

    response = client.patch(f"{SESSIONS}/1234567890", json={"clinician_notes": notes}, headers=heidi_auth)

    assert response.status_code == 200
    assert response.json()["session"]["clinician_notes"] == notes


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"duration": 0, "language_code": "x" * 300, "output_language_code": ""}, id="long-language"),
        pytest.param({"clinician_notes": ["n"] * 150}, id="many-notes"),
        pytest.param({"patient": {"name": "N" * 400, "dob": "15/01/1990"}}, id="free-text-patient"),
    ],
)
def test_update_session_accepts_values_no_heidi_source_bounds(
    client: TestClient, heidi_auth: dict[str, str], body: dict[str, Any]
) -> None:
    response = client.patch(f"{SESSIONS}/1234567890", json=body, headers=heidi_auth)

    assert response.status_code == 200, response.text
    session = response.json()["session"]
    assert {name: session[name] for name in body if name != "patient"} == {
        name: value for name, value in body.items() if name != "patient"
    }


def test_update_patient_profile_applies_create_fields_the_patch_list_leaves_out(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    response = client.patch(
        f"{PROFILES}/{JOHN}", json={"ehr_patient_id": "EHR-NEW", "patient_sex_code": 2}, headers=heidi_auth
    )

    assert response.status_code == 200
    assert client.get(f"{PROFILES}/{JOHN}", headers=heidi_auth).json()["data"]["ehr_patient_id"] == "EHR-NEW"


def test_create_patient_profile_accepts_an_email_heidi_does_not_validate(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    response = client.post(PROFILES, json={"email": "front desk"}, headers=heidi_auth)

    assert response.status_code == 200, response.text
    assert response.json()["data"]["email"] == "front desk"


def test_spec_voice_style_lists_every_value_heidi_documents() -> None:
    schemas = specs.load("heidi")["components"]["schemas"]

    assert set(schemas["ConsultNote"]["properties"]["voice_style"]["enum"]) >= {
        "GOLDILOCKS", "DETAILED", "BRIEF", "SUPER_DETAILED", "MY_VOICE",
    }  # fmt: skip
