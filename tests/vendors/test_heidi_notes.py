"""Heidi consult notes as a client sees them: templates, the streamed note, custom templates."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.helpers import base, heidi_token, state
from tests.support.live import LiveServer

BASE = base("heidi")
SESSIONS = f"{BASE}/sessions"
H_AND_P = "659b8042fe093d6592b41ef7"  # the vendor page's template id
NOTE = {
    "generation_method": "TEMPLATE",
    "addition": "",
    "template_id": H_AND_P,
    "voice_style": "GOLDILOCKS",
    "brain": "LEFT",
}  # fmt: skip  (the vendor page's request)

MakeClient = Callable[..., TestClient]


@pytest.fixture
def quick(make_client: MakeClient) -> TestClient:
    """A mock that streams without pauses between pieces."""
    return make_client(credentials={"heidi": {"stream_chunk_ms": 0}})


def pieces(lines: Iterable[str]) -> list[str]:
    """The `data` of each server-sent event of a streamed note."""
    events = [line for line in lines if line]
    assert all(line.startswith("data: ") for line in events), events[:3]
    return [json.loads(line[len("data: ") :])["data"] for line in events]


def stream_note(
    client: TestClient, session_id: str, body: dict[str, Any], **headers: str
) -> tuple[int, str, list[str]]:
    with client.stream(
        "POST", f"{SESSIONS}/{session_id}/consult-note", json=body, headers={**heidi_token(client), **headers}
    ) as response:
        lines = list(response.iter_lines())
        return response.status_code, response.headers["content-type"], pieces(lines)


def consult_note(client: TestClient, session_id: str) -> dict[str, Any]:
    return client.get(f"{SESSIONS}/{session_id}", headers=heidi_token(client)).json()["session"]["consult_note"]  # type: ignore[no-any-return]


def test_consult_note_templates_list_heidis_documented_template(client: TestClient, heidi_auth: dict[str, str]) -> None:
    templates = client.get(f"{BASE}/templates/consult-note-templates", headers=heidi_auth).json()["templates"]

    assert {t["template_category"] for t in templates} == {"CONSULT_NOTE_TEMPLATE"}
    h_and_p = next(t for t in templates if t["id"] == H_AND_P)
    assert (h_and_p["name"], h_and_p["author_name"]) == ("H & P", "Heidi")


def test_consult_note_streams_data_pieces_that_the_session_then_holds(quick: TestClient) -> None:
    status, content_type, sent = stream_note(quick, "0987654321", {**NOTE, "voice_style": "MY_VOICE"})

    assert (status, content_type.split(";")[0]) == (200, "text/event-stream")
    assert len(sent) > 3
    note = consult_note(quick, "0987654321")
    assert note["result"] == "".join(sent)
    assert (note["status"], note["voice_style"], note["template_id"]) == ("CREATED", "MY_VOICE", H_AND_P)
    assert "## Assessment" in note["result"]


def test_consult_note_is_written_from_the_transcript_when_audio_was_received(quick: TestClient) -> None:
    auth = heidi_token(quick)
    audio = {"file": ("consult.mp3", b"\xff" * 16_000 * 120, "audio/mpeg")}
    quick.post(f"{SESSIONS}/0987654321/upload-audio", files=audio, headers=auth)
    transcript = quick.get(f"{SESSIONS}/0987654321/transcript", headers=auth).json()["transcript"]

    note = "".join(stream_note(quick, "0987654321", NOTE)[2])

    complaint = transcript.splitlines()[1].removeprefix("Patient: I've had ").split(" for ")[0]
    assert f"with {complaint}" in note
    assert "No audio received" not in note


def test_consult_note_is_html_when_asked(quick: TestClient) -> None:
    note = "".join(stream_note(quick, "0987654321", {**NOTE, "content_type": "HTML"})[2])

    assert note.startswith("<h2>") and "## " not in note


def test_consult_note_stream_is_the_same_when_delayed_with_prefer(quick: TestClient) -> None:
    plain = stream_note(quick, "0987654321", NOTE)

    delayed = stream_note(quick, "0987654321", NOTE, Prefer="delay=30")

    assert delayed == plain


@pytest.mark.parametrize(
    ("session_id", "body", "status", "error_type"),
    [
        pytest.param("999", NOTE, 404, "SessionNotFoundError", id="unknown-session"),
        pytest.param("0987654321", {**NOTE, "template_id": "nope"}, 404, "TemplateNotFoundError",
                     id="unknown-template"),
        pytest.param("0987654321", {k: v for k, v in NOTE.items() if k != "template_id"}, 422,
                     "RequestValidationError", id="template-method-without-template"),
        pytest.param("0987654321", {**NOTE, "voice_style": "CHATTY"}, 422, "RequestValidationError", id="bad-voice"),
        pytest.param("0987654321", {k: v for k, v in NOTE.items() if k != "addition"}, 422,
                     "RequestValidationError", id="addition-missing"),
    ],
)  # fmt: skip
def test_consult_note_answers_4xx_in_heidi_shape_and_changes_nothing_when_asked_wrongly(
    client: TestClient, heidi_auth: dict[str, str], session_id: str, body: dict[str, Any], status: int, error_type: str
) -> None:
    before = state(client, "heidi")

    response = client.post(f"{SESSIONS}/{session_id}/consult-note", json=body, headers=heidi_auth)

    assert response.status_code == status, response.text
    assert response.json()["detail"]["type"] == error_type
    assert state(client, "heidi") == before


def test_custom_template_answers_409_until_a_note_was_generated(quick: TestClient) -> None:
    auth = heidi_token(quick)
    session_id = quick.post(SESSIONS, headers=auth).json()["session_id"]

    response = quick.post(
        f"{SESSIONS}/{session_id}/client-customised-template/response", json={"plan": "x"}, headers=auth
    )

    assert response.status_code == 409
    assert response.json()["detail"]["type"] == "ConsultNoteNotGeneratedError"


def test_custom_template_is_filled_from_the_note_keeping_its_structure(quick: TestClient) -> None:
    auth = heidi_token(quick)
    stream_note(quick, "0987654321", NOTE)
    template = {"assessment": "The diagnosis", "plan": ["Next steps"], "details": {"exam": "Findings"}, "score": 3}

    response = quick.post(f"{SESSIONS}/0987654321/client-customised-template/response", json=template, headers=auth)

    assert response.status_code == 200
    filled = response.json()
    note = consult_note(quick, "0987654321")["result"]
    assert filled["assessment"] in note
    assert isinstance(filled["plan"], list) and filled["plan"][0].rstrip(".") in note
    assert filled["details"]["exam"] in note and filled["score"] == 3


def test_consult_note_is_served_by_connexions_chain_not_the_compiled_path(quick: TestClient) -> None:
    """Deliberately one path: the compiled plans answer JSON only, so a streamed answer goes to Connexion."""
    before = quick.get("/__mock/summary").json()["fastPath"]["declined"].get("no-plan", 0)

    stream_note(quick, "0987654321", NOTE)

    assert quick.get("/__mock/summary").json()["fastPath"]["declined"]["no-plan"] == before + 1


def test_consult_note_arrives_in_chunks_over_real_http() -> None:
    with LiveServer(seed=0) as server, httpx.Client(base_url=server.url) as http:
        token = http.get(f"{BASE}/jwt", params={"email": "test@heidihealth.com", "third_party_internal_id": "1"},
                         headers={"Heidi-Api-Key": "mock-heidi-api-key"}).json()["token"]  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        audio = {"file": ("a.mp3", b"\xff" * 64_000, "audio/mpeg")}
        upload = http.post(f"{SESSIONS}/0987654321/upload-audio", files=audio, headers=auth)
        with http.stream("POST", f"{SESSIONS}/0987654321/consult-note", json=NOTE, headers=auth) as response:
            headers = response.headers
            sent = pieces(response.iter_lines())
        session = http.get(f"{SESSIONS}/0987654321", headers=auth).json()["session"]

    assert upload.status_code == 200
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert session["consult_note"]["result"] == "".join(sent) and len(sent) > 3


def test_ask_heidi_streams_a_summary_of_the_session_with_its_context_notes(quick: TestClient) -> None:
    auth = heidi_token(quick)
    quick.patch(f"{SESSIONS}/0987654321", json={"clinician_notes": ["Allergies: penicillin"]}, headers=auth)
    before = state(quick, "heidi")
    ask = {"ai_command_text": "Summarise and note allergies.", "content": "", "content_type": "MARKDOWN"}

    with quick.stream("POST", f"{SESSIONS}/0987654321/ask-ai", json=ask, headers=auth) as response:
        answer = "".join(pieces(response.iter_lines()))

    assert response.status_code == 200
    assert answer.startswith("**Summarise and note allergies.**") and "- Noted: Allergies: penicillin" in answer
    assert state(quick, "heidi") == before


def test_custom_template_nested_beyond_the_mocks_limit_answers_422(quick: TestClient) -> None:
    auth = heidi_token(quick)
    deep: dict[str, Any] = {"plan": "Next steps"}
    for _ in range(40):
        deep = {"section": deep}

    response = quick.post(f"{SESSIONS}/1234567890/client-customised-template/response", json=deep, headers=auth)

    assert response.status_code == 422
    assert "deeper than 32 levels" in response.json()["detail"]["msg"]
