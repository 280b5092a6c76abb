"""The Heidi Health mock as a client sees it: JWT auth, patient profiles, sessions, errors and seed data."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from mocks.vendors.heidi import VENDOR as HEIDI
from tests.support.examples import example, example_json
from tests.support.helpers import HEIDI_KEY, base, heidi_token, on_each_store, state

BASE = base("heidi")
PROFILES = f"{BASE}/patient-profiles"
SESSIONS = f"{BASE}/sessions"
JOHN = "5eb7cf5a86d9755df3a6c593"
JANE = "5eb7cf5a86d9755df3a6c594"
UNKNOWN_PROFILE = "ffffffffffffffffffffffff"
UNKNOWN_SESSION = "99999999999999999999"
SECRET = HEIDI.defaults()["jwt_secret"]
NAIVE_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
PROFILE_NOT_FOUND = example_json("heidi", "get-patient-profile-not-found.response.json")
SESSION_NOT_FOUND = {"detail": {"msg": "Session not found", "type": "SessionNotFoundError"}}

MakeClient = Callable[..., TestClient]


def profile_ids(client: TestClient, auth: dict[str, str], **filters: str) -> list[str]:
    response = client.get(PROFILES, params=filters, headers=auth)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def session_count(client: TestClient, auth: dict[str, str], profile_id: str) -> int:
    items = client.get(PROFILES, headers=auth).json()["data"]
    return next(item["session_count"] for item in items if item["id"] == profile_id)


def subset(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {name: actual.get(name) for name in expected}


def token(exp: datetime, secret: str = SECRET) -> dict[str, str]:
    claims = {"sub": "ehr-user-1", "email": "test@heidihealth.com", "exp": int(exp.timestamp())}
    return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}


# Authentication


def test_get_jwt_issues_user_token_when_api_key_is_right(client: TestClient) -> None:
    response = client.get(
        f"{BASE}/jwt", params={"email": "test@heidihealth.com", "third_party_internal_id": "42"}, headers=HEIDI_KEY
    )

    assert response.status_code == 200
    body = response.json()
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
    assert (claims["email"], claims["sub"]) == ("test@heidihealth.com", "42")
    assert body["expiration_time"].endswith("Z")
    expires = datetime.fromisoformat(body["expiration_time"].replace("Z", "+00:00"))
    assert abs(expires.timestamp() - claims["exp"]) < 1


def test_get_jwt_token_opens_bearer_operations_when_used(client: TestClient) -> None:
    response = client.get(f"{PROFILES}/{JOHN}", headers=heidi_token(client))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "headers", "error_type"),
    [
        pytest.param("/jwt", {"Heidi-Api-Key": "wrong"}, "InvalidApiKeyError", id="wrong-api-key"),
        pytest.param("/jwt", {}, "InvalidTokenError", id="missing-api-key"),
        pytest.param("/patient-profiles", {}, "InvalidTokenError", id="missing-token"),
        pytest.param(
            "/patient-profiles", {"Authorization": "Bearer not.a.jwt"}, "InvalidTokenError", id="malformed-token"
        ),
        pytest.param(
            "/patient-profiles",
            token(datetime.now(UTC) + timedelta(hours=1), secret="another-signing-secret-that-the-mock-does-not-know"),
            "InvalidTokenError",
            id="token-signed-with-other-secret",
        ),
        pytest.param(
            "/sessions/1234567890",
            token(datetime.now(UTC) - timedelta(minutes=5)),
            "TokenExpiredError",
            id="expired-token",
        ),
        pytest.param("/patient-profiles", HEIDI_KEY, "InvalidTokenError", id="api-key-instead-of-token"),
    ],
)
def test_auth_rejects_with_401_in_heidi_shape_when_credentials_are_bad(
    client: TestClient, path: str, headers: dict[str, str], error_type: str
) -> None:
    params = {"email": "test@heidihealth.com", "third_party_internal_id": "42"} if path == "/jwt" else {}

    response = client.get(f"{BASE}{path}", params=params, headers=headers)

    assert response.status_code == 401
    detail = response.json()["detail"]
    assert detail["type"] == error_type
    assert isinstance(detail["msg"], str) and detail["msg"]


def test_auth_rejects_token_when_it_expired_under_a_short_ttl(make_client: MakeClient) -> None:
    client = make_client(credentials={"heidi": {"jwt_ttl_seconds": -60}})

    response = client.get(PROFILES, headers=heidi_token(client))

    assert response.status_code == 401
    assert response.json()["detail"]["type"] == "TokenExpiredError"


# Patient profiles


@on_each_store
def test_create_patient_profile_is_retrievable_and_listed_when_created(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    sent = {"first_name": "Ada", "last_name": "Lovelace", "gender": "FEMALE", "ehr_patient_id": "EHR-ADA"}

    created = client.post(PROFILES, json=sent, headers=heidi_auth)

    assert created.status_code == 200
    profile = created.json()["data"]
    assert re.fullmatch(r"[0-9a-f]{24}", profile["id"])
    assert subset(profile, sent) == sent
    assert profile["birth_date"] is None
    assert NAIVE_TIMESTAMP.match(profile["created_at"]) and profile["created_at"] == profile["updated_at"]
    fetched = client.get(f"{PROFILES}/{profile['id']}", headers=heidi_auth)
    assert fetched.status_code == 200 and fetched.json()["data"] == profile
    listed = client.get(PROFILES, params={"ehr_patient_id": "EHR-ADA"}, headers=heidi_auth).json()["data"]
    assert listed == [{**profile, "session_count": 0}]


def test_create_patient_profile_accepts_empty_body_when_all_fields_are_optional(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    response = client.post(PROFILES, json={}, headers=heidi_auth)

    assert response.status_code == 200
    assert response.json()["data"]["first_name"] is None


@on_each_store
def test_update_patient_profile_changes_only_given_fields_when_patched(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    before = client.get(f"{PROFILES}/{JOHN}", headers=heidi_auth).json()["data"]

    response = client.patch(
        f"{PROFILES}/{JOHN}", json={"last_name": "Smith", "remember_consent": True}, headers=heidi_auth
    )

    assert response.status_code == 200
    after = response.json()["data"]
    assert (after["last_name"], after["remember_consent"]) == ("Smith", True)
    unchanged = {k: v for k, v in before.items() if k not in ("last_name", "remember_consent", "updated_at")}
    assert subset(after, unchanged) == unchanged
    assert after["updated_at"] > before["updated_at"] and NAIVE_TIMESTAMP.match(after["updated_at"])
    assert client.get(f"{PROFILES}/{JOHN}", headers=heidi_auth).json()["data"] == after


def test_update_patient_profile_ignores_unknown_fields_when_sent(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    response = client.patch(f"{PROFILES}/{JOHN}", json={"shoe_size": 44}, headers=heidi_auth)

    assert response.status_code == 200
    assert "shoe_size" not in response.json()["data"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", f"{PROFILES}/{UNKNOWN_PROFILE}", None, id="get"),
        pytest.param("PATCH", f"{PROFILES}/{UNKNOWN_PROFILE}", {"first_name": "X"}, id="patch"),
        pytest.param("POST", f"{PROFILES}/{UNKNOWN_PROFILE}/sessions", {"session_ids": ["1234567890"]}, id="link"),
        pytest.param("POST", SESSIONS, {"patient_profile_id": UNKNOWN_PROFILE}, id="create-session-for-it"),
    ],
)
def test_profile_operations_answer_404_when_profile_does_not_exist(
    client: TestClient, heidi_auth: dict[str, str], method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = state(client, "heidi")

    response = client.request(method, path, json=body, headers=heidi_auth)

    assert response.status_code == 404
    assert response.json() == PROFILE_NOT_FOUND
    assert state(client, "heidi") == before


@on_each_store
def test_batch_delete_removes_profiles_and_unlinks_sessions_when_ids_exist(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    linked = [s["session_id"] for s in state(client, "heidi")["sessions"] if s["patient_profile_id"] == JOHN]
    assert linked

    response = client.request(
        "DELETE", f"{PROFILES}:batch-delete", json={"patient_profile_ids": [JOHN, JANE]}, headers=heidi_auth
    )

    assert response.status_code == 200
    assert response.json() == {"is_success": True}
    for profile_id in (JOHN, JANE):
        assert client.get(f"{PROFILES}/{profile_id}", headers=heidi_auth).json() == PROFILE_NOT_FOUND
    assert not {JOHN, JANE} & set(profile_ids(client, heidi_auth))
    sessions = {s["session_id"]: s for s in state(client, "heidi")["sessions"]}
    assert all(sessions[session_id]["patient_profile_id"] is None for session_id in linked)
    assert client.get(f"{SESSIONS}/{linked[0]}", headers=heidi_auth).status_code == 200


def test_batch_delete_ignores_unknown_ids_when_mixed_with_known_ones(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    count = len(profile_ids(client, heidi_auth))

    response = client.request(
        "DELETE",
        f"{PROFILES}:batch-delete",
        json={"patient_profile_ids": [UNKNOWN_PROFILE, JANE]},
        headers=heidi_auth,
    )

    assert response.status_code == 200 and response.json() == {"is_success": True}
    assert len(profile_ids(client, heidi_auth)) == count - 1


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({"ehr_patient_id": "EHR123456"}, [JOHN], id="by-ehr-patient-id"),
        pytest.param({"ehr_patient_id": "EHR12345"}, [], id="no-prefix-match"),
        pytest.param({"ehr_patient_id": "EHR654321", "ehr_provider": "EHR Provider Name"}, [JANE], id="both"),
        pytest.param({"ehr_patient_id": "EHR654321", "ehr_provider": "Other EHR"}, [], id="both-one-mismatch"),
    ],
)
def test_list_patient_profiles_filters_by_exact_match_when_filters_given(
    client: TestClient, heidi_auth: dict[str, str], filters: dict[str, str], expected: list[str]
) -> None:
    assert profile_ids(client, heidi_auth, **filters) == expected


def test_list_patient_profiles_filters_by_ehr_provider_when_given(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    everything = client.get(PROFILES, headers=heidi_auth).json()["data"]
    provider = everything[-1]["ehr_provider"]

    filtered = client.get(PROFILES, params={"ehr_provider": provider}, headers=heidi_auth).json()["data"]

    assert filtered == [item for item in everything if item["ehr_provider"] == provider]
    assert 0 < len(filtered) < len(everything)


# Linking


def test_link_sessions_increases_session_count_when_sessions_exist(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    before = session_count(client, heidi_auth, JANE)

    response = client.post(
        f"{PROFILES}/{JANE}/sessions", json={"session_ids": ["1234567890", "0987654321"]}, headers=heidi_auth
    )

    assert response.status_code == 200
    assert [item["session_id"] for item in response.json()["data"]] == ["1234567890", "0987654321"]
    assert session_count(client, heidi_auth, JANE) == before + 2


def test_link_sessions_moves_session_when_it_was_linked_to_another_profile(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    john_sessions = [s["session_id"] for s in state(client, "heidi")["sessions"] if s["patient_profile_id"] == JOHN]

    client.post(f"{PROFILES}/{JANE}/sessions", json={"session_ids": john_sessions[:1]}, headers=heidi_auth)

    assert session_count(client, heidi_auth, JOHN) == len(john_sessions) - 1
    assert session_count(client, heidi_auth, JANE) == 1


def test_link_sessions_links_nothing_when_one_session_is_missing(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    before = state(client, "heidi")

    response = client.post(
        f"{PROFILES}/{JANE}/sessions", json={"session_ids": ["1234567890", UNKNOWN_SESSION]}, headers=heidi_auth
    )

    assert response.status_code == 404
    assert response.json() == SESSION_NOT_FOUND
    assert state(client, "heidi") == before
    assert session_count(client, heidi_auth, JANE) == 0


# Sessions


def test_create_session_is_retrievable_when_created_without_body(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    response = client.post(SESSIONS, headers=heidi_auth)

    assert response.status_code == 200
    session_id = response.json()["session_id"]
    assert re.fullmatch(r"[0-9]{1,20}", session_id)
    fetched = client.get(f"{SESSIONS}/{session_id}", headers=heidi_auth)
    assert fetched.status_code == 200
    session = fetched.json()["session"]
    assert session["session_id"] == session_id
    assert NAIVE_TIMESTAMP.match(session["created_at"]) and NAIVE_TIMESTAMP.match(session["updated_at"])
    assert "patient_profile_id" not in session


def test_create_session_links_profile_and_appointment_when_given(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    before = session_count(client, heidi_auth, JANE)

    response = client.post(
        SESSIONS, json={"patient_profile_id": JANE, "ehr_appointment_id": "APPT-1"}, headers=heidi_auth
    )

    session = client.get(f"{SESSIONS}/{response.json()['session_id']}", headers=heidi_auth).json()["session"]
    assert (session["ehr_appt_id"], session["ehr_patient_id"]) == ("APPT-1", "EHR654321")
    assert session_count(client, heidi_auth, JANE) == before + 1


@on_each_store
def test_update_session_changes_only_given_fields_when_patched(client: TestClient, heidi_auth: dict[str, str]) -> None:
    before = client.get(f"{SESSIONS}/1234567890", headers=heidi_auth).json()["session"]

    response = client.patch(
        f"{SESSIONS}/1234567890",
        json={"duration": 600, "patient": {"name": "John Doe"}, "ehr_appointment_id": "APPT-9"},
        headers=heidi_auth,
    )

    assert response.status_code == 200
    after = response.json()["session"]
    assert (after["duration"], after["ehr_appt_id"]) == (600, "APPT-9")
    assert after["patient"] == {"name": "John Doe", "gender": None, "dob": None}
    changed = ("duration", "patient", "ehr_appt_id", "updated_at")
    unchanged = {k: v for k, v in before.items() if k not in changed}
    assert subset(after, unchanged) == unchanged
    assert after["updated_at"] > before["updated_at"] and NAIVE_TIMESTAMP.match(after["updated_at"])
    assert client.get(f"{SESSIONS}/1234567890", headers=heidi_auth).json()["session"] == after


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", f"{SESSIONS}/{UNKNOWN_SESSION}", None, id="get"),
        pytest.param("PATCH", f"{SESSIONS}/{UNKNOWN_SESSION}", {"duration": 5}, id="patch"),
        pytest.param(
            "PATCH",
            f"{SESSIONS}/1234567890",
            {"duration": 5, "linked_sessions_for_context": [UNKNOWN_SESSION]},
            id="patch-with-unknown-context-session",
        ),
    ],
)
def test_session_operations_answer_404_when_session_does_not_exist(
    client: TestClient, heidi_auth: dict[str, str], method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = state(client, "heidi")

    response = client.request(method, path, json=body, headers=heidi_auth)

    assert response.status_code == 404
    assert response.json() == SESSION_NOT_FOUND
    assert state(client, "heidi") == before


# Validation


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("POST", PROFILES, {"gender": "male"}, id="profile-gender-not-in-enum"),
        pytest.param("POST", PROFILES, {"birth_date": "15/01/1990"}, id="profile-birth-date-not-a-date"),
        pytest.param("POST", PROFILES, {"first_name": 42}, id="profile-name-not-a-string"),
        pytest.param("PATCH", f"{PROFILES}/{JOHN}", {"remember_consent": "yes"}, id="patch-consent-not-bool"),
        pytest.param("GET", f"{PROFILES}?page=2", None, id="unknown-query-parameter"),
        pytest.param("DELETE", f"{PROFILES}:batch-delete", {}, id="batch-delete-ids-missing"),
        pytest.param("PATCH", f"{SESSIONS}/1234567890", None, id="session-patch-body-missing"),
        pytest.param("PATCH", f"{SESSIONS}/1234567890", {"duration": "long"}, id="session-duration-not-integer"),
        pytest.param("POST", f"{PROFILES}/{JOHN}/sessions", {"session_ids": [1]}, id="link-id-not-a-string"),
        pytest.param("GET", f"{BASE}/jwt?third_party_internal_id=1", None, id="jwt-email-missing"),
    ],
)
def test_validation_answers_422_in_heidi_shape_and_changes_nothing_when_request_is_invalid(
    client: TestClient, heidi_auth: dict[str, str], method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = state(client, "heidi")
    headers = {**heidi_auth, **HEIDI_KEY}

    response = client.request(method, path, json=body, headers=headers)

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["type"] == "RequestValidationError"
    assert isinstance(detail["msg"], str) and detail["msg"]
    assert state(client, "heidi") == before


# Seed data and determinism


def test_seed_has_twenty_generated_profiles_and_sessions_plus_fixed_records_when_started(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    seeded = state(client, "heidi")

    assert len(seeded["profiles"]) == 22 and len(seeded["sessions"]) == 22
    assert {JOHN, JANE} <= {p["id"] for p in seeded["profiles"]}
    assert {"1234567890", "0987654321"} <= {s["session_id"] for s in seeded["sessions"]}
    assert any(s["patient_profile_id"] not in (None, JOHN) for s in seeded["sessions"])
    assert all(p["email"].endswith(("@example.com", "@example.org")) for p in seeded["profiles"])
    generated = [p for p in seeded["profiles"] if p["id"] not in (JOHN, JANE)]
    assert all(re.fullmatch(r"\+1-\d{3}-555-01\d{2}", p["phone"]) for p in generated)


def test_seed_gives_identical_profiles_when_two_apps_share_a_seed(make_client: MakeClient) -> None:
    first, second, other = make_client(seed=5), make_client(seed=5), make_client(seed=6)

    def listing(client: TestClient) -> list[dict[str, Any]]:
        return client.get(PROFILES, headers=heidi_token(client)).json()["data"]

    assert listing(first) == listing(second)
    assert listing(first) != listing(other)
    fixed = [item for item in listing(other) if item["id"] in (JOHN, JANE)]
    assert fixed == [item for item in listing(first) if item["id"] in (JOHN, JANE)]


def test_reset_restores_seed_state_when_data_was_changed(client: TestClient, heidi_auth: dict[str, str]) -> None:
    seeded = state(client, "heidi")
    client.patch(f"{PROFILES}/{JOHN}", json={"last_name": "Smith"}, headers=heidi_auth)
    client.post(SESSIONS, headers=heidi_auth)

    assert client.post("/__mock/reset").status_code == 200

    assert state(client, "heidi") == seeded


# The vendor page's examples (tests/data/heidi/), each request sent verbatim to a fresh mock


def documented(operation: str) -> dict[str, Any]:
    """The answer the vendor page documents for `operation`."""
    return example_json("heidi", f"{operation}.response.json")  # type: ignore[no-any-return]


def check_create(body: dict[str, Any]) -> None:
    expected = {k: v for k, v in documented("create-patient-profile")["data"].items() if k != "id"}
    assert subset(body["data"], expected) == expected
    assert re.fullmatch(r"[0-9a-f]{24}", body["data"]["id"])


def check_update(body: dict[str, Any]) -> None:
    expected = documented("update-patient-profile")["data"]
    assert subset(body["data"], expected) == expected


def check_delete(body: dict[str, Any]) -> None:
    assert body == documented("batch-delete-patient-profiles")


def check_link(body: dict[str, Any]) -> None:
    assert body == documented("link-sessions")


def check_list(body: dict[str, Any]) -> None:
    [expected] = documented("list-patient-profiles")["data"]
    john = next(item for item in body["data"] if item["id"] == expected["id"])
    assert subset(john, expected) == expected


def check_get(body: dict[str, Any]) -> None:
    expected = documented("get-patient-profile")["data"]
    assert subset(body["data"], expected) == expected


@pytest.mark.parametrize(
    ("method", "path", "sent", "check"),
    [
        pytest.param("POST", "/patient-profiles", "create-patient-profile", check_create, id="create-patient-profile"),
        pytest.param(
            "PATCH",
            "/patient-profiles/5eb7cf5a86d9755df3a6c593",
            "update-patient-profile",
            check_update,
            id="update-profile",
        ),
        pytest.param(
            "DELETE", "/patient-profiles:batch-delete", "batch-delete-patient-profiles", check_delete, id="batch-delete"
        ),
        pytest.param(
            "POST",
            "/patient-profiles/5eb7cf5a86d9755df3a6c593/sessions",
            "link-sessions",
            check_link,
            id="link-sessions",
        ),
        pytest.param("GET", "/patient-profiles", None, check_list, id="list-patient-profiles"),
        pytest.param("GET", "/patient-profiles/5eb7cf5a86d9755df3a6c593", None, check_get, id="get-profile"),
    ],
)
def test_seed_page_example_answers_as_documented_when_sent_verbatim_to_a_fresh_mock(
    make_client: MakeClient,
    method: str,
    path: str,
    sent: str | None,
    check: Callable[[dict[str, Any]], None],
) -> None:
    client = make_client()
    headers = {**heidi_token(client), "Content-Type": "application/json"}
    raw_body = example("heidi", f"{sent}.request.json") if sent else None

    response = client.request(method, f"{BASE}{path}", content=raw_body, headers=headers)

    assert response.status_code == 200, response.text
    check(response.json())


def test_seed_page_not_found_example_answers_as_documented_when_profile_is_unknown(
    make_client: MakeClient,
) -> None:
    client = make_client()

    response = client.get(f"{PROFILES}/{UNKNOWN_PROFILE}", headers=heidi_token(client))

    assert response.status_code == 404
    assert response.json() == documented("get-patient-profile-not-found")


def test_session_keeps_an_integer_beyond_64_bits_exactly_when_patched(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    url = f"{base('heidi')}/sessions/1234567890"
    huge = 445063466220306493345890304
    assert client.patch(url, json={"duration": huge}, headers=heidi_auth).status_code == 200
    assert client.get(url, headers=heidi_auth).json()["session"]["duration"] == huge
