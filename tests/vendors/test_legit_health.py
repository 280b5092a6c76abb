"""The Legit.Health mock as a client sees it: bearer auth, patients, conditions, episodes, encounters, outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.helpers import LEGIT_AUTH, base, on_each_store, state
from tests.support.live import LiveServer

B = base("legit_health")
LUCIA = "a449666c710c"  # seed: verified, email, one active condition (EA90.1 armLeft)
DANIEL = "baa3cf93-6f1c"  # seed: pending, no email, a paused EA80 and an ED80 tracked every 14 days
UNKNOWN = "00000000-0000-4000-8000-000000000000"
PROBLEM = "application/problem+json"
NEW_PATIENT = {
    "externalId": "hrm-000123",
    "firstName": "Ana",
    "lastName": "Ruiz",
    "email": "ana.ruiz@example.com",
    "phone": "+1-202-555-0142",
    "birthDate": "1990-05-17",
    "gender": "female",
    "language": "es",
    "conditions": [
        {"pathologyCode": "ED80", "bodySite": "headFront"},
        {"pathologyCode": "EA80", "bodySite": "elbowLeft"},
    ],
}

MakeClient = Callable[..., TestClient]


# --- helpers ---


def outbox(client: TestClient) -> list[dict[str, Any]]:
    return client.get("/__mock/outbox", params={"api": "legit_health"}).json()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def seed_patient(client: TestClient, external_id: str) -> dict[str, Any]:
    patients = ok(client.get(f"{B}/patients", params={"externalIds[]": external_id}, headers=LEGIT_AUTH))
    return patients[0]


def condition_of(client: TestClient, external_id: str, pathology_code: str) -> dict[str, Any]:
    conditions = seed_patient(client, external_id)["conditions"]
    return next(c for c in conditions if c["pathologyCode"] == pathology_code)


def episodes(client: TestClient, condition_id: str) -> list[dict[str, Any]]:
    return ok(client.get(f"{B}/conditions/{condition_id}/episodes-of-care", headers=LEGIT_AUTH))


def encounters(client: TestClient, episode_id: str) -> list[dict[str, Any]]:
    return ok(client.get(f"{B}/episodes-of-care/{episode_id}/encounters", headers=LEGIT_AUTH))


def active_episodes(client: TestClient, condition_id: str) -> list[dict[str, Any]]:
    return [e for e in episodes(client, condition_id) if e["status"] == "active"]


def patch_patient(client: TestClient, patient_id: str, body: dict[str, Any]) -> httpx.Response:
    return client.patch(f"{B}/patients/{patient_id}", json=body, headers=LEGIT_AUTH)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


# --- authentication ---


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing-token"),
        pytest.param({"Authorization": "Bearer not-the-token"}, id="wrong-token"),
        pytest.param({"Authorization": "Basic bW9jazptb2Nr"}, id="wrong-scheme"),
    ],
)
def test_auth_rejects_request_with_401_problem_when_token_missing_or_wrong(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.get(f"{B}/patients", params={"externalIds[]": LUCIA}, headers=headers)

    body = assert_problem(response, 401)
    assert body["title"] == "Unauthorized"


# --- seed ---


def test_get_patients_returns_both_seed_patients_when_vendor_query_sent_verbatim(
    fresh_server: LiveServer,
) -> None:
    url = f"{fresh_server.url}{B}/patients?externalIds[]=a449666c710c&externalIds[]=baa3cf93-6f1c"

    response = httpx.get(url, headers=LEGIT_AUTH)

    assert response.status_code == 200
    assert [p["externalId"] for p in response.json()] == [LUCIA, DANIEL]


def test_get_patients_keeps_query_order_and_skips_unknown_ids_when_ids_are_mixed(client: TestClient) -> None:
    query = [("externalIds[]", DANIEL), ("externalIds[]", "not-connected"), ("externalIds[]", LUCIA)]

    patients = ok(client.get(f"{B}/patients", params=query, headers=LEGIT_AUTH))

    assert [p["externalId"] for p in patients] == [DANIEL, LUCIA]


def test_get_patients_returns_empty_list_when_no_id_is_known(client: TestClient) -> None:
    assert ok(client.get(f"{B}/patients", params={"externalIds[]": "nobody"}, headers=LEGIT_AUTH)) == []


def test_seed_vendor_patients_match_the_documented_story_when_server_is_fresh(client: TestClient) -> None:
    lucia, daniel = seed_patient(client, LUCIA), seed_patient(client, DANIEL)

    assert (lucia["firstName"], lucia["verificationStatus"], lucia["email"]) == (
        "Lucía",
        "verified",
        "lucia.moreno@example.com",
    )
    assert [(c["pathologyCode"], c["bodySite"], c["status"]) for c in lucia["conditions"]] == [
        ("EA90.1", "armLeft", "active")
    ]
    assert (daniel["email"], daniel["verificationStatus"]) == (None, "pending")
    assert [(c["pathologyCode"], c["status"], c["trackingFrequencyDays"]) for c in daniel["conditions"]] == [
        ("EA80", "paused", None),
        ("ED80", "active", 14),
    ]


def test_seed_references_are_consistent_when_server_is_fresh(client: TestClient) -> None:
    seeded = state(client, "legit_health")
    patients = {p["id"]: p for p in seeded["patients"]}
    conditions = {c["id"]: c for c in seeded["conditions"]}
    episodes_by_id = {e["id"]: e for e in seeded["episodesOfCare"]}

    assert len(patients) == 22
    assert len({p["externalId"] for p in patients.values()}) == 22
    assert {c["patientId"] for c in conditions.values()} == set(patients)
    assert {"EA90.1", "ED80", "EA80"} <= {c["pathologyCode"] for c in conditions.values()}
    for episode in episodes_by_id.values():
        assert conditions[episode["conditionId"]]["patientId"] == episode["patientId"]
        assert (episode["finishedAt"] is None) == (episode["status"] == "active")
    for encounter in seeded["encounters"]:
        assert encounter["episodeOfCareId"] in episodes_by_id
        expected = "scheduled" if moment(encounter["planned_for"]) > moment(encounter["createdAt"]) else "ready"
        assert encounter["status"] == expected
    for condition in conditions.values():
        actives = [e for e in episodes_by_id.values() if e["conditionId"] == condition["id"] and not e["finishedAt"]]
        assert len(actives) <= 1
        assert condition["status"] == ("active" if actives else "paused")


def test_seed_state_is_identical_when_same_seed_restarts_and_differs_when_seed_changes(
    make_client: MakeClient,
) -> None:
    first, again, other = (state(make_client(seed=s), "legit_health") for s in (5, 5, 6))

    assert first == again
    assert first["patients"] != other["patients"]


def test_reset_restores_seed_state_and_empties_outbox_when_called(client: TestClient) -> None:
    before = state(client, "legit_health")
    ok(client.post(f"{B}/patients", json=NEW_PATIENT, headers=LEGIT_AUTH), 201)

    assert client.post("/__mock/reset").status_code == 200

    assert state(client, "legit_health") == before
    assert outbox(client) == []


# --- createPatient / getPatient ---


@on_each_store
def test_create_patient_is_readable_with_active_episodes_when_created_with_conditions(client: TestClient) -> None:
    created = ok(client.post(f"{B}/patients", json=NEW_PATIENT, headers=LEGIT_AUTH), 201)

    sent = {k: v for k, v in NEW_PATIENT.items() if k != "conditions"}
    assert {k: created[k] for k in sent} == sent
    assert created["verificationStatus"] == "pending"
    assert [(c["pathologyCode"], c["bodySite"], c["status"]) for c in created["conditions"]] == [
        ("ED80", "headFront", "active"),
        ("EA80", "elbowLeft", "active"),
    ]
    assert ok(client.get(f"{B}/patients/{created['id']}", headers=LEGIT_AUTH)) == created
    assert seed_patient(client, NEW_PATIENT["externalId"]) == created
    for condition in created["conditions"]:
        (episode,) = episodes(client, condition["id"])
        assert (episode["status"], episode["patientId"], episode["finishedAt"]) == ("active", created["id"], None)


def test_create_patient_sends_verification_email_and_sms_when_contact_data_given(client: TestClient) -> None:
    created = ok(client.post(f"{B}/patients", json=NEW_PATIENT, headers=LEGIT_AUTH), 201)

    sent = {(m["channel"], m["to"], m["patientId"]) for m in outbox(client)}
    assert sent == {
        ("email", "ana.ruiz@example.com", created["id"]),
        ("sms", "+1-202-555-0142", created["id"]),
    }


@pytest.mark.parametrize(
    ("contact", "channels"),
    [
        pytest.param({"email": "only.mail@example.org"}, ["email"], id="email-only-gets-email"),
        pytest.param({"phone": "+1-415-555-0100"}, ["sms"], id="phone-only-gets-sms"),
    ],
)
def test_create_patient_sends_one_verification_per_channel_when_contact_data_partial(
    client: TestClient, contact: dict[str, str], channels: list[str]
) -> None:
    ok(client.post(f"{B}/patients", json={"externalId": "hrm-partial", **contact}, headers=LEGIT_AUTH), 201)

    assert [m["channel"] for m in outbox(client)] == channels


def test_create_patient_fills_nulls_and_unknown_gender_when_body_is_minimal(client: TestClient) -> None:
    body = {"externalId": "hrm-min", "phone": "+1-415-555-0101"}

    created = ok(client.post(f"{B}/patients", json=body, headers=LEGIT_AUTH), 201)

    assert created["conditions"] == []
    assert created["gender"] == "unknown"
    assert [created[k] for k in ("firstName", "lastName", "email", "birthDate", "language")] == [None] * 5


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"externalId": "hrm-no-contact"}, id="id-only"),
        pytest.param(
            {k: v for k, v in NEW_PATIENT.items() if k not in ("email", "phone")}, id="full-body-without-contact"
        ),
    ],
)
def test_create_patient_answers_400_saying_contact_is_required_and_changes_nothing_when_no_email_nor_phone(
    client: TestClient, body: dict[str, Any]
) -> None:
    before = state(client, "legit_health")

    problem = assert_problem(client.post(f"{B}/patients", json=body, headers=LEGIT_AUTH), 400)

    assert any("Contact information is required" in v["message"] for v in problem["violations"])
    assert "Contact information is required" in problem["detail"]
    assert state(client, "legit_health") == before
    assert outbox(client) == []


def test_create_patient_ignores_unknown_and_server_owned_fields_when_client_sends_them(client: TestClient) -> None:
    body = {"externalId": "hrm-extra", "email": "extra@example.org", "id": UNKNOWN, "verificationStatus": "verified",
            "nickname": "Ana"}  # fmt: skip

    created = ok(client.post(f"{B}/patients", json=body, headers=LEGIT_AUTH), 201)

    assert created["id"] != UNKNOWN
    assert created["verificationStatus"] == "pending"
    assert "nickname" not in created


@on_each_store
def test_create_patient_conflicts_and_changes_nothing_when_external_id_exists(client: TestClient) -> None:
    before = state(client, "legit_health")

    response = client.post(f"{B}/patients", json={**NEW_PATIENT, "externalId": LUCIA}, headers=LEGIT_AUTH)

    body = assert_problem(response, 409)
    assert LUCIA in body["detail"]
    assert state(client, "legit_health") == before
    assert outbox(client) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "paths"),
    [
        pytest.param(
            "POST",
            "/patients",
            {
                "firstName": 7,
                "email": "not-an-email",
                "birthDate": "1990-13-40",
                "conditions": [{"pathologyCode": "psoriasis", "bodySite": "moon"}],
            },
            {
                "body",
                "body.firstName",
                "body.email",
                "body.birthDate",
                "body.conditions.0.pathologyCode",
                "body.conditions.0.bodySite",
            },
            id="create-patient-every-bad-field",
        ),
        pytest.param(
            "PATCH",
            f"/patients/{UNKNOWN}",
            {"language": 34, "conditions": [{"action": "explode"}]},
            {"body.language", "body.conditions.0"},
            id="patch-patient-bad-language-and-action",
        ),
        pytest.param(
            "POST",
            f"/episodes-of-care/{UNKNOWN}/encounters",
            {"planned_for": "tomorrow", "notes": 5},
            {"body.planned_for", "body.notes"},
            id="create-encounter-bad-date-and-notes",
        ),
        pytest.param(
            "PATCH",
            f"/episodes-of-care/{UNKNOWN}",
            {"status": "paused"},
            {"body", "body.status"},
            id="patch-episode-missing-external-id-bad-status",
        ),
    ],
)
def test_validation_lists_every_violation_and_changes_nothing_when_body_is_invalid(
    client: TestClient, method: str, path: str, body: dict[str, Any], paths: set[str]
) -> None:
    before = state(client, "legit_health")

    response = client.request(method, f"{B}{path}", json=body, headers=LEGIT_AUTH)

    problem = assert_problem(response, 400)
    assert {v["propertyPath"] for v in problem["violations"]} == paths
    assert state(client, "legit_health") == before
    assert outbox(client) == []


def test_validation_rejects_with_400_when_path_id_is_not_a_uuid(client: TestClient) -> None:
    problem = assert_problem(client.get(f"{B}/patients/12345", headers=LEGIT_AUTH), 400)

    assert [v["propertyPath"] for v in problem["violations"]] == ["path.patientId"]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(f"/patients/{UNKNOWN}", id="patient"),
        pytest.param(f"/patients/{UNKNOWN}/auth-tokens", id="auth-tokens"),
        pytest.param(f"/conditions/{UNKNOWN}/episodes-of-care", id="episodes-of-condition"),
        pytest.param(f"/episodes-of-care/{UNKNOWN}", id="episode"),
        pytest.param(f"/episodes-of-care/{UNKNOWN}/encounters", id="encounters-of-episode"),
        pytest.param(f"/encounters/{UNKNOWN}", id="encounter"),
    ],
)
def test_reads_answer_404_problem_when_id_is_unknown(client: TestClient, path: str) -> None:
    body = assert_problem(client.get(f"{B}{path}", headers=LEGIT_AUTH), 404)

    assert UNKNOWN in body["detail"]


# --- getPatientsAuthTokens ---


def test_get_patients_auth_tokens_returns_login_link_built_from_tokens_when_called(client: TestClient) -> None:
    patient = seed_patient(client, LUCIA)

    tokens = ok(client.get(f"{B}/patients/{patient['id']}/auth-tokens", headers=LEGIT_AUTH))

    assert tokens["token"] and tokens["refresh_token"]
    expected = f"https://app.legit.health/u/home?token={tokens['token']}&refresh_token={tokens['refresh_token']}"
    assert tokens["loginLink"] == expected
    assert parse_qs(urlsplit(tokens["loginLink"]).query) == {
        "token": [tokens["token"]],
        "refresh_token": [tokens["refresh_token"]],
    }
    assert moment(tokens["expiresAt"]) > datetime.now(UTC)
    assert outbox(client) == []


def test_get_patients_auth_tokens_issues_fresh_tokens_when_called_twice(client: TestClient) -> None:
    url = f"{B}/patients/{seed_patient(client, LUCIA)['id']}/auth-tokens"

    first, second = ok(client.get(url, headers=LEGIT_AUTH)), ok(client.get(url, headers=LEGIT_AUTH))

    assert first["token"] != second["token"] and first["refresh_token"] != second["refresh_token"]


def test_get_patients_auth_tokens_emails_login_link_when_send_link_is_true(client: TestClient) -> None:
    patient = seed_patient(client, LUCIA)

    tokens = ok(
        client.get(
            f"{B}/patients/{patient['id']}/auth-tokens",
            params={"sendLinkToPatientByEmail": "true"},
            headers=LEGIT_AUTH,
        )
    )

    (message,) = outbox(client)
    assert (message["channel"], message["to"], message["patientId"]) == ("email", patient["email"], patient["id"])
    assert tokens["loginLink"] in message["body"]


def test_get_patients_auth_tokens_answers_409_and_sends_nothing_when_patient_has_no_email(
    client: TestClient,
) -> None:
    url = f"{B}/patients/{seed_patient(client, DANIEL)['id']}/auth-tokens"

    response = client.get(url, params={"sendLinkToPatientByEmail": "true"}, headers=LEGIT_AUTH)

    assert "no email" in assert_problem(response, 409)["detail"]
    assert outbox(client) == []
    assert client.get(url, headers=LEGIT_AUTH).status_code == 200


# --- episodes of care ---


def test_create_episode_of_care_conflicts_when_condition_already_has_an_active_one(client: TestClient) -> None:
    condition = condition_of(client, LUCIA, "EA90.1")
    before = episodes(client, condition["id"])

    response = client.post(
        f"{B}/conditions/{condition['id']}/episodes-of-care", json={"status": "active"}, headers=LEGIT_AUTH
    )

    assert "active episode" in assert_problem(response, 409)["detail"]
    assert episodes(client, condition["id"]) == before


def test_create_episode_of_care_opens_active_episode_when_condition_is_paused_and_body_absent(
    client: TestClient,
) -> None:
    condition = condition_of(client, DANIEL, "EA80")

    created = ok(client.post(f"{B}/conditions/{condition['id']}/episodes-of-care", headers=LEGIT_AUTH), 201)

    assert (created["status"], created["finishedAt"], created["conditionId"]) == ("active", None, condition["id"])
    assert episodes(client, condition["id"])[-1] == created
    assert condition_of(client, DANIEL, "EA80")["status"] == "active"


def test_create_episode_of_care_records_closed_episode_when_status_is_finished(client: TestClient) -> None:
    condition = condition_of(client, LUCIA, "EA90.1")

    created = ok(
        client.post(
            f"{B}/conditions/{condition['id']}/episodes-of-care",
            json={"status": "finished", "externalId": "EP-2024-0001"},
            headers=LEGIT_AUTH,
        ),
        201,
    )

    assert (created["status"], created["externalId"]) == ("finished", "EP-2024-0001")
    assert created["finishedAt"] == created["startedAt"]
    assert len(active_episodes(client, condition["id"])) == 1
    assert ok(client.get(f"{B}/episodes-of-care/{created['id']}", headers=LEGIT_AUTH)) == created


def test_get_episodes_of_care_lists_oldest_first_when_condition_was_reopened(client: TestClient) -> None:
    condition = condition_of(client, DANIEL, "EA80")
    ok(client.post(f"{B}/conditions/{condition['id']}/episodes-of-care", json={}, headers=LEGIT_AUTH), 201)

    listed = episodes(client, condition["id"])

    assert [e["status"] for e in listed] == ["finished", "active"]
    assert moment(listed[0]["startedAt"]) < moment(listed[1]["startedAt"])


def test_patch_episode_of_care_stores_external_id_when_recommended_flow_is_followed(client: TestClient) -> None:
    condition = condition_of(client, LUCIA, "EA90.1")
    (episode,) = episodes(client, condition["id"])

    patched = ok(
        client.patch(f"{B}/episodes-of-care/{episode['id']}", json={"externalId": "EP-2026-0107"}, headers=LEGIT_AUTH)
    )

    assert patched == {**episode, "externalId": "EP-2026-0107"}
    assert ok(client.get(f"{B}/episodes-of-care/{episode['id']}", headers=LEGIT_AUTH)) == patched
    assert episodes(client, condition["id"]) == [patched]
    assert {e["externalId"] for e in state(client, "legit_health")["episodesOfCare"] if e["id"] == episode["id"]} == {
        "EP-2026-0107"
    }


def test_patch_episode_of_care_finishes_episode_and_pauses_condition_when_status_finished(
    client: TestClient,
) -> None:
    condition = condition_of(client, LUCIA, "EA90.1")
    (episode,) = episodes(client, condition["id"])

    patched = ok(
        client.patch(
            f"{B}/episodes-of-care/{episode['id']}",
            json={"externalId": "EP-1", "status": "finished"},
            headers=LEGIT_AUTH,
        )
    )

    assert patched["status"] == "finished" and patched["finishedAt"] is not None
    assert condition_of(client, LUCIA, "EA90.1")["status"] == "paused"


def test_patch_episode_of_care_conflicts_when_reactivating_beside_another_active_one(client: TestClient) -> None:
    condition = condition_of(client, DANIEL, "EA80")
    (finished,) = episodes(client, condition["id"])
    ok(client.post(f"{B}/conditions/{condition['id']}/episodes-of-care", headers=LEGIT_AUTH), 201)

    response = client.patch(
        f"{B}/episodes-of-care/{finished['id']}", json={"externalId": "EP-9", "status": "active"}, headers=LEGIT_AUTH
    )

    assert_problem(response, 409)
    assert ok(client.get(f"{B}/episodes-of-care/{finished['id']}", headers=LEGIT_AUTH)) == finished


# --- encounters ---


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        pytest.param(timedelta(days=10), "scheduled", id="future-is-scheduled"),
        pytest.param(timedelta(days=-3), "ready", id="past-is-ready"),
    ],
)
def test_create_encounter_sets_status_from_planned_for_when_created(
    client: TestClient, offset: timedelta, status: str
) -> None:
    (episode,) = episodes(client, condition_of(client, LUCIA, "EA90.1")["id"])
    planned = (datetime.now(UTC) + offset).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    body = {"planned_for": planned, "externalId": "VIS-1", "notes": "Photo of the left forearm."}

    created = ok(client.post(f"{B}/episodes-of-care/{episode['id']}/encounters", json=body, headers=LEGIT_AUTH), 201)

    assert created["status"] == status
    assert {k: created[k] for k in body} == body
    assert ok(client.get(f"{B}/encounters/{created['id']}", headers=LEGIT_AUTH)) == created
    assert created in encounters(client, episode["id"])


@on_each_store
def test_get_encounters_orders_by_planned_for_when_created_out_of_order(client: TestClient) -> None:
    (episode,) = episodes(client, condition_of(client, LUCIA, "EA90.1")["id"])
    url = f"{B}/episodes-of-care/{episode['id']}/encounters"
    for planned in ("2031-03-01T10:00:00Z", "2030-01-01T10:00:00+02:00", "2030-06-01T10:00:00Z"):
        ok(client.post(url, json={"planned_for": planned}, headers=LEGIT_AUTH), 201)

    listed = [moment(e["planned_for"]) for e in encounters(client, episode["id"])]

    assert listed == sorted(listed)


# --- patchPatient ---


def test_patch_patient_add_opens_condition_with_active_episode_when_action_is_add(client: TestClient) -> None:
    patient = seed_patient(client, LUCIA)
    command = {"action": "add", "pathologyCode": "EA80", "bodySite": "elbowRight"}

    patched = ok(patch_patient(client, patient["id"], {"conditions": [command]}))

    assert patched["conditions"][:-1] == patient["conditions"]
    added = patched["conditions"][-1]
    assert (added["pathologyCode"], added["bodySite"], added["status"]) == ("EA80", "elbowRight", "active")
    assert [e["status"] for e in episodes(client, added["id"])] == ["active"]


@on_each_store
def test_patch_patient_pause_finishes_active_episode_when_action_is_pause(client: TestClient) -> None:
    patient = seed_patient(client, LUCIA)
    condition_id = patient["conditions"][0]["id"]

    patched = ok(
        patch_patient(client, patient["id"], {"conditions": [{"action": "pause", "conditionId": condition_id}]})
    )

    assert patched["conditions"][0]["status"] == "paused"
    (episode,) = episodes(client, condition_id)
    assert episode["status"] == "finished" and episode["finishedAt"] is not None


def test_patch_patient_pause_changes_no_episode_when_condition_has_no_active_one(client: TestClient) -> None:
    patient, condition = seed_patient(client, DANIEL), condition_of(client, DANIEL, "EA80")
    before = episodes(client, condition["id"])

    patched = ok(
        patch_patient(client, patient["id"], {"conditions": [{"action": "pause", "conditionId": condition["id"]}]})
    )

    assert patched["conditions"] == patient["conditions"]
    assert episodes(client, condition["id"]) == before


def test_patch_patient_track_schedules_encounters_at_frequency_when_action_is_track(client: TestClient) -> None:
    patient = seed_patient(client, LUCIA)
    condition_id = patient["conditions"][0]["id"]
    (episode,) = episodes(client, condition_id)
    before = encounters(client, episode["id"])
    command = {"action": "track", "conditionId": condition_id, "trackingFrequencyDays": 14, "occurrences": 3}
    started = datetime.now(UTC)

    patched = ok(patch_patient(client, patient["id"], {"conditions": [command]}))

    assert patched["conditions"][0]["trackingFrequencyDays"] == 14
    assert episodes(client, condition_id) == [episode]  # the active episode is reused
    new = [e for e in encounters(client, episode["id"]) if e not in before]
    planned = [moment(e["planned_for"]) for e in new]
    assert [e["status"] for e in new] == ["scheduled"] * 3
    assert [b - a for a, b in pairwise(planned)] == [timedelta(days=14)] * 2
    assert abs(planned[0] - (started + timedelta(days=14))) < timedelta(minutes=1)


def test_patch_patient_track_opens_active_episode_when_condition_is_paused(client: TestClient) -> None:
    patient, condition = seed_patient(client, DANIEL), condition_of(client, DANIEL, "EA80")
    command = {"action": "track", "conditionId": condition["id"], "trackingFrequencyDays": 7}

    patched = ok(patch_patient(client, patient["id"], {"conditions": [command]}))

    tracked = next(c for c in patched["conditions"] if c["id"] == condition["id"])
    assert (tracked["status"], tracked["trackingFrequencyDays"]) == ("active", 7)
    (active,) = active_episodes(client, condition["id"])
    assert len(encounters(client, active["id"])) == 4  # `occurrences` defaults to 4


def test_patch_patient_edits_only_given_fields_when_basic_information_sent(client: TestClient) -> None:
    patient = seed_patient(client, LUCIA)
    edit = {"lastName": "Moreno Vidal", "language": "en", "externalId": "cannot-change"}

    patched = ok(patch_patient(client, patient["id"], edit))

    unchanged = {k: v for k, v in patient.items() if k not in ("lastName", "language", "updatedAt")}
    assert {k: patched[k] for k in unchanged} == unchanged
    assert (patched["lastName"], patched["language"]) == ("Moreno Vidal", "en")
    assert moment(patched["updatedAt"]) > moment(patient["updatedAt"])
    assert seed_patient(client, LUCIA) == patched
    assert outbox(client) == []  # Lucía is already verified


def test_patch_patient_sends_verification_when_pending_patient_gets_an_email(client: TestClient) -> None:
    patient = seed_patient(client, DANIEL)

    ok(patch_patient(client, patient["id"], {"email": "daniel.okafor@example.org"}))

    assert [(m["channel"], m["to"]) for m in outbox(client)] == [("email", "daniel.okafor@example.org")]


def test_patch_patient_answers_409_and_changes_nothing_when_condition_is_not_the_patients(
    client: TestClient,
) -> None:
    lucia, daniel_condition = seed_patient(client, LUCIA), condition_of(client, DANIEL, "ED80")
    before = state(client, "legit_health")
    body = {
        "firstName": "Changed",
        "conditions": [
            {"action": "add", "pathologyCode": "ED80", "bodySite": "headFront"},
            {"action": "pause", "conditionId": daniel_condition["id"]},
        ],
    }

    response = patch_patient(client, lucia["id"], body)

    assert daniel_condition["id"] in assert_problem(response, 409)["detail"]
    assert state(client, "legit_health") == before
