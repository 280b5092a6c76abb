"""Legit.Health practitioners as a client sees them: connect, read back, log in by link, and be named by
patients and encounters."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.helpers import LEGIT_AUTH, base, on_each_store, state

B = base("legit_health")
MARTA = "6b1d2c3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e"  # seed: the spec's example practitioner, Lucía's
UNKNOWN = "00000000-0000-4000-8000-000000000000"
NEW_PRACTITIONER = {
    "externalId": "dr-7001",
    "firstName": "Iris",
    "lastName": "Campos",
    "email": "iris.campos@example.com",
    "speciality": "dermatology",
}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    return body


def outbox(client: TestClient) -> list[dict[str, Any]]:
    return client.get("/__mock/outbox", params={"api": "legit_health"}).json()


def connect(client: TestClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return ok(client.post(f"{B}/practitioners", json=body or NEW_PRACTITIONER, headers=LEGIT_AUTH), 201)


# --- createPractitioner, getPractitioner, getPractitioners ---


@on_each_store
def test_create_practitioner_is_readable_by_id_and_external_id_when_connected(client: TestClient) -> None:
    created = connect(client)

    assert {k: created[k] for k in NEW_PRACTITIONER} == NEW_PRACTITIONER
    assert created["verificationStatus"] == "pending"
    assert ok(client.get(f"{B}/practitioners/{created['id']}", headers=LEGIT_AUTH)) == created
    listed = ok(client.get(f"{B}/practitioners", params={"externalIds[]": ["dr-7001", "nobody"]}, headers=LEGIT_AUTH))
    assert listed == [created]


def test_create_practitioner_sends_one_verification_email_when_connected(client: TestClient) -> None:
    created = connect(client)

    (message,) = outbox(client)
    assert (message["channel"], message["to"], message["kind"]) == ("email", NEW_PRACTITIONER["email"], "verification")
    assert message["practitionerId"] == created["id"]


def test_create_practitioner_fills_nulls_when_only_id_and_email_given(client: TestClient) -> None:
    created = connect(client, {"externalId": "dr-min", "email": "dr.min@example.org"})

    assert [created[k] for k in ("firstName", "lastName", "speciality")] == [None, None, None]


def test_get_practitioner_specialties_lists_every_code_create_practitioner_accepts(client: TestClient) -> None:
    specialities = ok(client.get(f"{B}/practitioner-specialties", headers=LEGIT_AUTH))

    assert {"code": "dermatology", "name": "Dermatology"} in specialities
    for number, speciality in enumerate(specialities):
        body = {"externalId": f"dr-s{number}", "email": f"s{number}@example.org", "speciality": speciality["code"]}
        assert connect(client, body)["speciality"] == speciality["code"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        pytest.param({**NEW_PRACTITIONER, "speciality": "wizardry"}, 409, "getPractitionerSpecialties",
                     id="unlisted-speciality-409"),
        pytest.param({"externalId": "dr-no-email"}, 400, "email", id="no-email-400"),
        pytest.param({**NEW_PRACTITIONER, "externalId": "dr-0042"}, 409, "dr-0042", id="taken-external-id-409"),
    ],
)  # fmt: skip
def test_create_practitioner_answers_4xx_and_changes_nothing_when_body_is_refused(
    client: TestClient, body: dict[str, Any], status: int, says: str
) -> None:
    before = state(client, "legit_health")

    refused = problem(client.post(f"{B}/practitioners", json=body, headers=LEGIT_AUTH), status)

    assert says in refused["detail"]
    assert state(client, "legit_health") == before
    assert outbox(client) == []


def test_get_practitioner_answers_404_when_id_is_unknown(client: TestClient) -> None:
    assert UNKNOWN in problem(client.get(f"{B}/practitioners/{UNKNOWN}", headers=LEGIT_AUTH), 404)["detail"]


def test_seed_holds_the_spec_example_practitioner_when_server_is_fresh(client: TestClient) -> None:
    marta = ok(client.get(f"{B}/practitioners/{MARTA}", headers=LEGIT_AUTH))

    assert (marta["externalId"], marta["speciality"], marta["verificationStatus"]) == ("dr-0042", "dermatology",
                                                                                       "verified")  # fmt: skip
    lucia = ok(client.get(f"{B}/patients", params={"externalIds[]": "a449666c710c"}, headers=LEGIT_AUTH))[0]
    assert lucia["practitionerId"] == MARTA


def test_seed_references_name_existing_practitioners_when_server_is_fresh(client: TestClient) -> None:
    seeded = state(client, "legit_health")
    practitioners = {p["id"] for p in seeded["practitioners"]}
    patients = {p["id"]: p for p in seeded["patients"]}
    episodes = {e["id"]: e for e in seeded["episodesOfCare"]}

    assert len(practitioners) == 5
    assert {p["practitionerId"] for p in patients.values()} - {None} <= practitioners
    for encounter in seeded["encounters"]:
        patient = patients[episodes[encounter["episodeOfCareId"]]["patientId"]]
        assert encounter["practitionerId"] == patient["practitionerId"]


# --- getPractitionerAuthTokens ---


def test_get_practitioner_auth_tokens_returns_login_link_built_from_tokens_when_called(client: TestClient) -> None:
    tokens = ok(client.get(f"{B}/practitioners/{MARTA}/auth-tokens", headers=LEGIT_AUTH))

    link = urlsplit(tokens["loginLink"])
    assert (link.scheme, link.netloc, link.path) == ("https", "app.legit.health", "/u/home")
    assert parse_qs(link.query) == {"token": [tokens["token"]], "refresh_token": [tokens["refresh_token"]]}
    assert outbox(client) == []


def test_get_practitioner_auth_tokens_emails_login_link_when_send_link_is_true(client: TestClient) -> None:
    tokens = ok(
        client.get(
            f"{B}/practitioners/{MARTA}/auth-tokens",
            params={"sendLinkToPractitionerByEmail": "true"},
            headers=LEGIT_AUTH,
        )
    )

    (message,) = outbox(client)
    assert (message["to"], message["kind"], message["link"]) == ("marta.vidal@example.com", "loginLink",
                                                                 tokens["loginLink"])  # fmt: skip
    assert message["practitionerId"] == MARTA and tokens["loginLink"] in message["body"]


def test_get_practitioner_auth_tokens_answers_404_and_sends_nothing_when_practitioner_is_unknown(
    client: TestClient,
) -> None:
    url = f"{B}/practitioners/{UNKNOWN}/auth-tokens?sendLinkToPractitionerByEmail=true"

    problem(client.get(url, headers=LEGIT_AUTH), 404)

    assert outbox(client) == []


# --- patients and encounters naming their practitioner ---


def test_practitioner_then_patient_flow_links_both_and_logs_both_in_when_followed(client: TestClient) -> None:
    practitioner = connect(client)
    patient_body = {"externalId": "hrm-flow", "email": "flow@example.org", "practitionerId": practitioner["id"]}

    patient = ok(client.post(f"{B}/patients", json=patient_body, headers=LEGIT_AUTH), 201)
    doctor_link = ok(client.get(f"{B}/practitioners/{practitioner['id']}/auth-tokens", headers=LEGIT_AUTH))
    patient_link = ok(client.get(f"{B}/patients/{patient['id']}/auth-tokens", headers=LEGIT_AUTH))

    assert patient["practitionerId"] == practitioner["id"]
    assert doctor_link["token"] != patient_link["token"]
    assert [m["to"] for m in outbox(client)] == ["iris.campos@example.com", "flow@example.org"]


def test_create_patient_stores_the_practitioner_id_in_lower_case_when_sent_upper_case(client: TestClient) -> None:
    body = {"externalId": "hrm-upper", "phone": "+1-202-555-0150", "practitionerId": MARTA.upper()}

    assert ok(client.post(f"{B}/patients", json=body, headers=LEGIT_AUTH), 201)["practitionerId"] == MARTA


def _patient_id(client: TestClient) -> str:
    return str(ok(client.get(f"{B}/patients", params={"externalIds[]": "a449666c710c"}, headers=LEGIT_AUTH))[0]["id"])


def _episode_id(client: TestClient) -> str:
    lucia = ok(client.get(f"{B}/patients", params={"externalIds[]": "a449666c710c"}, headers=LEGIT_AUTH))[0]
    condition = lucia["conditions"][0]["id"]
    return str(ok(client.get(f"{B}/conditions/{condition}/episodes-of-care", headers=LEGIT_AUTH))[0]["id"])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("POST", lambda c: "/patients",
                     {"externalId": "hrm-orphan", "email": "o@example.org", "practitionerId": UNKNOWN},
                     id="create-patient"),
        pytest.param("PATCH", lambda c: f"/patients/{_patient_id(c)}",
                     {"firstName": "Changed", "practitionerId": UNKNOWN}, id="patch-patient"),
        pytest.param("POST", lambda c: f"/episodes-of-care/{_episode_id(c)}/encounters",
                     {"planned_for": "2030-01-01T10:00:00Z", "practitionerId": UNKNOWN}, id="create-encounter"),
    ],
)  # fmt: skip
def test_body_naming_an_unknown_practitioner_answers_409_and_changes_nothing(
    client: TestClient, method: str, path: Any, body: dict[str, Any]
) -> None:
    url = B + path(client)
    before = state(client, "legit_health")

    refused = problem(client.request(method, url, json=body, headers=LEGIT_AUTH), 409)

    assert UNKNOWN in refused["detail"] and "createPractitioner" in refused["detail"]
    assert state(client, "legit_health") == before
    assert outbox(client) == []


def test_patch_patient_moves_the_patient_to_another_practitioner_when_practitioner_id_given(
    client: TestClient,
) -> None:
    practitioner = connect(client)

    body = {"practitionerId": practitioner["id"]}

    patched = ok(client.patch(f"{B}/patients/{_patient_id(client)}", json=body, headers=LEGIT_AUTH))

    assert patched["practitionerId"] == practitioner["id"]


def test_create_encounter_keeps_the_practitioner_it_names_and_null_when_none(client: TestClient) -> None:
    url = f"{B}/episodes-of-care/{_episode_id(client)}/encounters"

    named = ok(client.post(url, json={"planned_for": "2030-01-01T10:00:00Z", "practitionerId": MARTA},
                           headers=LEGIT_AUTH), 201)  # fmt: skip
    unnamed = ok(client.post(url, json={"planned_for": "2030-01-02T10:00:00Z"}, headers=LEGIT_AUTH), 201)

    assert (named["practitionerId"], unnamed["practitionerId"]) == (MARTA, None)
    assert ok(client.get(f"{B}/encounters/{named['id']}", headers=LEGIT_AUTH)) == named


def test_patch_patient_track_schedules_encounters_with_the_patients_practitioner(client: TestClient) -> None:
    lucia = ok(client.get(f"{B}/patients", params={"externalIds[]": "a449666c710c"}, headers=LEGIT_AUTH))[0]
    condition = lucia["conditions"][0]["id"]
    command = {"action": "track", "conditionId": condition, "trackingFrequencyDays": 7, "occurrences": 2}
    before = {e["id"] for e in state(client, "legit_health")["encounters"]}

    ok(client.patch(f"{B}/patients/{lucia['id']}", json={"conditions": [command]}, headers=LEGIT_AUTH))

    added = [e for e in state(client, "legit_health")["encounters"] if e["id"] not in before]
    assert [e["practitionerId"] for e in added] == [MARTA, MARTA]
