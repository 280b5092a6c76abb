"""Heidi's seed data as a client finds it: sessions at every stage of the scribe flow, linked to profiles."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.support.helpers import base, state

SESSIONS = f"{base('heidi')}/sessions"


def stage_of(client: TestClient, auth: dict[str, str], session: dict[str, Any]) -> str:
    session_id = session["session_id"]
    documents = client.get(f"{SESSIONS}/{session_id}/documents", headers=auth).json()["documents"]
    transcript = client.get(f"{SESSIONS}/{session_id}/transcript", headers=auth).json()["transcript"]
    note = session["consult_note"]
    if documents:
        return "documented"
    if note and note["status"] == "CREATED":
        return "noted"
    return "transcribed" if transcript else "new"


def test_seed_has_profile_linked_sessions_at_every_stage(client: TestClient, heidi_auth: dict[str, str]) -> None:
    stored = {s["session_id"]: s for s in state(client, "heidi")["sessions"]}
    generated = [s for s in stored.values() if s["session_id"] not in ("1234567890", "0987654321")]

    linked_stages = {
        stage_of(client, heidi_auth, client.get(f"{SESSIONS}/{s['session_id']}", headers=heidi_auth).json()["session"])
        for s in generated
        if s["patient_profile_id"]
    }

    assert linked_stages == {"new", "transcribed", "noted", "documented"}


def test_seeded_note_is_written_from_the_seeded_transcript(client: TestClient, heidi_auth: dict[str, str]) -> None:
    noted = next(
        s for s in state(client, "heidi")["sessions"]
        if s["consult_note"] and s["consult_note"]["status"] == "CREATED" and s["audio"]
    )  # fmt: skip
    transcript = client.get(f"{SESSIONS}/{noted['session_id']}/transcript", headers=heidi_auth).json()["transcript"]

    complaint = transcript.splitlines()[1].removeprefix("Patient: I've had ").split(" for ")[0]
    assert f"with {complaint}" in noted["consult_note"]["result"]


def test_seed_documents_sessions_answer_as_the_vendor_pages_show(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    for session_id, name in (("1234567890", "Session 123"), ("0987654321", "Session 124")):
        session = client.get(f"{SESSIONS}/{session_id}", headers=heidi_auth).json()["session"]
        assert (session["session_name"], session["consult_note"]["status"], session["duration"]) == (
            name,
            "CREATED",
            16,
        )
    attachments = client.get(f"{SESSIONS}/1234567890/context-documents", headers=heidi_auth).json()["data"]
    assert [a["filename"] for a in attachments] == ["referral.pdf"]
