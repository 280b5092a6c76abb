"""Heidi audio and transcripts as a client sees them: uploads, segments, the synthetic conversation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import base, heidi_token, state

SESSIONS = f"{base('heidi')}/sessions"
JOHN = "5eb7cf5a86d9755df3a6c593"
SECOND = 16_000  # bytes the mock takes for one second of audio (128 kbit/s)

MakeClient = Callable[..., TestClient]


def audio(seconds: float, media_type: str = "audio/mpeg", name: str = "consult.mp3") -> dict[str, Any]:
    return {"file": (name, b"\xff" * int(seconds * SECOND), media_type)}


def new_session(client: TestClient, auth: dict[str, str]) -> str:
    session_id = client.post(SESSIONS, json={"patient_profile_id": JOHN}, headers=auth).json()["session_id"]
    patient = {"name": "John Doe", "gender": "MALE", "dob": "1990-01-15"}
    client.patch(f"{SESSIONS}/{session_id}", json={"patient": patient}, headers=auth)
    return session_id


def transcript(client: TestClient, auth: dict[str, str], session_id: str) -> str:
    response = client.get(f"{SESSIONS}/{session_id}/transcript", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["transcript"]  # type: ignore[no-any-return]


def test_transcript_is_empty_before_any_audio(client: TestClient, heidi_auth: dict[str, str]) -> None:
    assert transcript(client, heidi_auth, new_session(client, heidi_auth)) == ""


def test_upload_audio_answers_the_stored_record_and_lists_it_on_the_session(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    session_id = new_session(client, heidi_auth)

    response = client.post(f"{SESSIONS}/{session_id}/upload-audio", files=audio(60), headers=heidi_auth)

    assert response.status_code == 200, response.text
    uploaded = response.json()["uploaded_audio"]
    assert (uploaded["index"], uploaded["status"], uploaded["access_url"]) == (0, "INITIALIZED", None)
    session = client.get(f"{SESSIONS}/{session_id}", headers=heidi_auth).json()["session"]
    assert session["audio"] == [uploaded]


def test_transcript_is_a_conversation_for_the_session_patient_when_audio_was_uploaded(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    session_id = new_session(client, heidi_auth)
    client.post(f"{SESSIONS}/{session_id}/upload-audio", files=audio(90), headers=heidi_auth)

    lines = transcript(client, heidi_auth, session_id).splitlines()

    assert lines[0].startswith("Clinician: Hi John")
    assert {line.split(":")[0] for line in lines} == {"Clinician", "Patient"}
    assert any("history of hypertension" in line for line in lines)  # John's profile context


def test_transcript_grows_with_more_audio_and_keeps_what_it_said(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    session_id = new_session(client, heidi_auth)
    client.post(f"{SESSIONS}/{session_id}/upload-audio", files=audio(30), headers=heidi_auth)
    short = transcript(client, heidi_auth, session_id)

    client.post(f"{SESSIONS}/{session_id}/upload-audio", files=audio(120), headers=heidi_auth)
    longer = transcript(client, heidi_auth, session_id)

    assert longer.startswith(short) and len(longer.splitlines()) > len(short.splitlines())


def test_upload_audio_takes_its_length_from_start_and_end_time_when_given(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    first, second = new_session(client, heidi_auth), new_session(client, heidi_auth)
    times = {"start_time": "2024-12-11T03:57:57Z", "end_time": "2024-12-11T04:12:57Z"}  # the vendor example

    client.post(f"{SESSIONS}/{first}/upload-audio", files=audio(1), data=times, headers=heidi_auth)
    client.post(f"{SESSIONS}/{second}/upload-audio", files=audio(1), headers=heidi_auth)

    assert len(transcript(client, heidi_auth, first).splitlines()) > len(
        transcript(client, heidi_auth, second).splitlines()
    )


def test_transcript_is_the_same_for_the_same_session_and_seed(make_client: MakeClient) -> None:
    def heard(client: TestClient) -> str:
        auth = heidi_token(client)
        client.post(f"{SESSIONS}/1234567890/upload-audio", files=audio(120), headers=auth)
        return transcript(client, auth, "1234567890")

    assert heard(make_client(seed=3)) == heard(make_client(seed=3))


def test_segments_build_a_live_transcript_until_the_recording_is_finished(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    session_id = new_session(client, heidi_auth)
    started = client.post(f"{SESSIONS}/{session_id}/restful-segment-transcription", headers=heidi_auth)
    recording = started.json()["recording_id"]
    segment = f"{SESSIONS}/{session_id}/restful-segment-transcription/{recording}"
    for index in ("0", "1"):
        sent = client.post(f"{segment}:transcribe", files=audio(45), data={"index": index}, headers=heidi_auth)
        assert sent.json() == {"is_success": True}

    live = client.get(f"{SESSIONS}/{session_id}/transcript/live", headers=heidi_auth).json()
    finished = client.post(f"{segment}:finish", headers=heidi_auth)
    after = client.get(f"{SESSIONS}/{session_id}/transcript/live", headers=heidi_auth).json()
    done = client.get(
        f"{SESSIONS}/{session_id}/transcript/live", params={"recording_status": "finished"}, headers=heidi_auth
    ).json()

    assert [(c["index"], c["duration"], c["source"]) for c in live["chunks"]] == [(0, 45.0, "LIVE"), (1, 45.0, "LIVE")]
    assert live["transcript"] == transcript(client, heidi_auth, session_id)
    assert finished.json() == {"is_success": True}
    assert after["chunks"] == [] and done["chunks"] == live["chunks"]


@pytest.mark.parametrize(
    ("files", "status", "error_type"),
    [
        pytest.param(audio(1, "text/plain", "notes.txt"), 415, "UnsupportedMediaTypeError", id="not-audio"),
        pytest.param(audio(1, "application/octet-stream"), 415, "UnsupportedMediaTypeError", id="untyped-part"),
        pytest.param({"other": ("a.mp3", b"x", "audio/mpeg")}, 422, "RequestValidationError", id="no-file-part"),
        pytest.param(audio(2), 413, "PayloadTooLargeError", id="over-the-limit"),
    ],
)
def test_upload_audio_answers_4xx_in_heidi_shape_and_stores_nothing_when_the_file_is_wrong(
    make_client: MakeClient, files: dict[str, Any], status: int, error_type: str
) -> None:
    client = make_client(credentials={"heidi": {"max_upload_bytes": SECOND}})
    auth = heidi_token(client)
    before = state(client, "heidi")

    response = client.post(f"{SESSIONS}/1234567890/upload-audio", files=files, data={"x": "1"}, headers=auth)

    assert response.status_code == status, response.text
    assert response.json()["detail"]["type"] == error_type
    assert state(client, "heidi") == before


@pytest.mark.parametrize(
    ("path", "error_type"),
    [
        pytest.param("/999/upload-audio", "SessionNotFoundError", id="upload-to-unknown-session"),
        pytest.param("/1234567890/restful-segment-transcription/999:transcribe", "RecordingNotFoundError",
                     id="segment-of-unknown-recording"),
    ],
)  # fmt: skip
def test_audio_answers_404_when_the_session_or_recording_does_not_exist(
    client: TestClient, heidi_auth: dict[str, str], path: str, error_type: str
) -> None:
    response = client.post(f"{SESSIONS}{path}", files=audio(1), headers=heidi_auth)

    assert response.status_code == 404
    assert response.json()["detail"]["type"] == error_type


def test_multipart_operations_are_served_by_connexions_chain_not_the_compiled_path(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    """Deliberately one path: the compiled plans take JSON bodies only, so multipart goes to Connexion."""
    before = client.get("/__mock/summary").json()["fastPath"]["declined"].get("no-plan", 0)

    client.post(f"{SESSIONS}/1234567890/upload-audio", files=audio(1), headers=heidi_auth)

    assert client.get("/__mock/summary").json()["fastPath"]["declined"]["no-plan"] == before + 1
