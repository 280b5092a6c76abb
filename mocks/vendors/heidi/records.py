"""Heidi's stored records, their lookups and the response views built from them.

Collections: `profiles` (24-hex ids), stored as the spec's `PatientProfile` fields; `sessions` (digit ids),
stored as the spec's `Session` fields plus `patient_profile_id`, the internal link to a profile that no
Heidi response shows.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from mocks.http.errors import MockError, not_found
from mocks.state.store import Record, Store

API = "heidi"

# The EHR vendor behind the mock's API key (vendor session example: "EHR Provider Name").
MOCK_EHR_PROVIDER = "EHR Provider Name"
# The Heidi account managing every profile (the vendor's list example shows this id as `managed_by`).
MOCK_ACCOUNT_ID = "5eb7cf5a86d9755df3a6c593"

# Request field -> response field where Heidi renames (sessions take `ehr_appointment_id`, show `ehr_appt_id`).
SESSION_RENAMES = {"ehr_appointment_id": "ehr_appt_id"}
SESSION_PATIENT_FIELDS = ("name", "gender", "dob")
INTERNAL_SESSION_FIELDS = ("patient_profile_id",)


class Records:
    """Typed access to the API's collections; lookups answer the vendor's 404s."""

    def __init__(self, store: Store) -> None:
        self.lock = store.lock
        self.profiles = store.collection(API, "profiles", id_kind="hex24")
        self.sessions = store.collection(API, "sessions", id_kind="digits")
        self.recordings = store.collection(API, "recordings", id_kind="digits")
        self.templates = store.collection(API, "templates", id_kind="hex24")
        self.documents = store.collection(API, "documents", id_kind="hex24")
        self.context_documents = store.collection(API, "context_documents", id_kind="hex24")
        self.accounts = store.collection(API, "accounts", id_kind="hex24")

    def profile(self, patient_profile_id: str) -> Record:
        profile = self.profiles.get(patient_profile_id)
        if profile is None:
            raise missing_profile()
        return profile

    def session(self, session_id: str) -> Record:
        session = self.sessions.get(session_id)
        if session is None:
            raise missing_session()
        return session

    def recording(self, session_id: str, recording_id: str) -> Record:
        """One recording of one session; another session's is as unknown as a missing one."""
        recording = self.recordings.get(recording_id)
        if recording is None or recording["session_id"] != session_id:
            raise not_found("Recording not found", "RecordingNotFoundError")
        return recording

    def template(self, template_id: str) -> Record:
        template = self.templates.get(template_id)
        if template is None:
            raise not_found("Template not found", "TemplateNotFoundError")
        return template

    def templates_of(self, category: str) -> list[Record]:
        return self.templates.where(lambda t: t["template_category"] == category)

    def recordings_of(self, session_id: str) -> list[Record]:
        """The session's recordings in the order they were started."""
        return self.recordings.where(lambda r: r["session_id"] == session_id)

    def session_counts(self) -> Counter[str]:
        """How many sessions each profile has (the list view's `session_count`)."""
        return Counter(s["patient_profile_id"] for s in self.sessions if s["patient_profile_id"])


def missing_profile() -> MockError:
    return not_found("Patient profile not found", "PatientProfileNotFoundError")


def missing_session() -> MockError:
    return not_found("Session not found", "SessionNotFoundError")


def naive(moment: datetime) -> str:
    """Heidi's timestamp format: UTC, microseconds, no timezone suffix (`2024-12-11T03:57:57.921000`)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def now_naive() -> str:
    return naive(datetime.now(UTC))


def pick(body: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The documented fields present in a request body (unknown fields are ignored, as Heidi does)."""
    return {name: body[name] for name in fields if name in body}


def new_profile(key: str, fields: dict[str, Any], profile_fields: list[str], now: str) -> Record:
    """A profile with every documented field, `None` where the client gave nothing."""
    record: Record = dict.fromkeys(profile_fields)
    record.update(
        id=key,
        source="EHR",
        managed_by=MOCK_ACCOUNT_ID,
        ehr_provider=MOCK_EHR_PROVIDER,
        remember_consent=None,
        created_at=now,
        updated_at=now,
    )
    record.update(fields)
    return record


def new_session(key: str, profile: Record | None, ehr_appt_id: str | None, now: str) -> Record:
    """An empty scribe session, optionally linked to a profile."""
    return {
        "session_id": key,
        "session_name": None,
        "patient": {"name": "", "gender": None, "dob": None},
        "audio": [],
        "clinician_notes": [],
        "consult_note": None,
        "duration": 0,
        "created_at": now,
        "updated_at": now,
        "language_code": "en",
        "output_language_code": "en",
        "documents": None,
        "ehr_appt_id": ehr_appt_id,
        "ehr_provider": MOCK_EHR_PROVIDER,
        "ehr_patient_id": profile["ehr_patient_id"] if profile else None,
        "linked_sessions_for_context": [],
        "consent_obtained": None,
        "patient_profile_id": profile["id"] if profile else None,
    }


def session_changes(session: Record, body: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The stored-field changes one session PATCH body asks for (partial `patient` merges)."""
    changes = {SESSION_RENAMES.get(name, name): value for name, value in pick(body, fields).items()}
    if isinstance(changes.get("patient"), dict):
        changes["patient"] = {**session["patient"], **pick(changes["patient"], list(SESSION_PATIENT_FIELDS))}
    return changes


def profile_view(profile: Record) -> dict[str, Any]:
    return dict(profile)


def profile_list_item(profile: Record, session_count: int) -> dict[str, Any]:
    return {**profile, "session_count": session_count}


def session_view(session: Record) -> dict[str, Any]:
    return {name: value for name, value in session.items() if name not in INTERNAL_SESSION_FIELDS}


def linked_view(session: Record) -> dict[str, Any]:
    return {name: session[name] for name in ("session_id", "session_name", "created_at", "updated_at")}


def session_page(sessions: list[Record], page: int, page_size: int) -> dict[str, Any]:
    """Heidi's paging envelope (seen in third-party clients): `count` on this page, `total_count` in all,
    `has_next` / `has_previous`, and the sessions as GET shows them in `data`."""
    start = (page - 1) * page_size
    data = [session_view(s) for s in sessions[start : start + page_size]]
    return {
        "count": len(data),
        "total_count": len(sessions),
        "has_next": start + page_size < len(sessions),
        "has_previous": page > 1,
        "data": data,
    }


def new_recording(key: str, session_id: str, source: str, now: str) -> Record:
    """A recording: `USER_UPLOADED` (one whole file, finished at once) or `LIVE` (segments until `:finish`)."""
    status = "finished" if source == "USER_UPLOADED" else "in_progress"
    return {"recording_id": key, "session_id": session_id, "source": source, "status": status, "segments": [],
            "created_at": now}  # fmt: skip


def recorded_seconds(recordings: list[Record]) -> float:
    return sum(segment["seconds"] for recording in recordings for segment in recording["segments"])


def consult_note_record(body: dict[str, Any], status: str, result: str) -> Record:
    """A session's `consult_note` as the GET example shows it, from the generation request."""
    return {
        "status": status,
        "result": result,
        "heading": "Note",
        "brain": body.get("brain", "LEFT"),
        "voice_style": body.get("voice_style"),
        "generation_method": body.get("generation_method"),
        "template_id": body.get("template_id"),
        "ai_command_id": None,
        "ai_command_text": None,
        "feedback": None,
        "dictation_cleanup_mode": None,
    }


def document_view(document: Record) -> dict[str, Any]:
    """A document as the create and list answers show it (the list adds `index` and `generation_type`)."""
    return dict(document)


def linked_account(key: str, kinde_user_id: str, claims: dict[str, Any], now: str) -> Record:
    """The link of one API user (the JWT's `sub` and `email`) to a Heidi account, as Heidi shows it."""
    return {"_id": key, "user_id": kinde_user_id, "ehr_provider": MOCK_EHR_PROVIDER, "ehr_email": claims.get("email"),
            "ehr_user_id": claims.get("sub"), "deleted_at": None, "created_at": now, "updated_at": now}  # fmt: skip
