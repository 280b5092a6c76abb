"""Heidi's business rules: what the schema cannot say, each with where it comes from (specs/heidi.yaml)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from starlette.datastructures import UploadFile

from mocks.http.errors import MockError, Violation, validation_failed
from mocks.state.store import Record
from mocks.vendors.heidi import content
from mocks.vendors.heidi.records import Records, recorded_seconds


def existing_sessions(records: Records, session_ids: Iterable[str]) -> list[Record]:
    """Every named session, or `404 SessionNotFoundError` for the first that does not exist, before anything
    changes (linkSessionsToPatientProfile; updateSession's `linked_sessions_for_context`)."""
    return [records.session(session_id) for session_id in session_ids]


def profile_to_link(records: Records, patient_profile_id: str | None) -> Record | None:
    """The profile a new session links to: none when not given, else it must exist (`404
    PatientProfileNotFoundError`; createSession)."""
    return None if patient_profile_id is None else records.profile(patient_profile_id)


def delete_profiles(records: Records, patient_profile_ids: set[str]) -> None:
    """Deletes the listed profiles and unlinks their sessions; unknown ids are ignored and the call still
    succeeds (batchDeletePatientProfiles: a choice, the vendor does not say)."""
    for patient_profile_id in patient_profile_ids:
        records.profiles.delete(patient_profile_id)
    for session in records.sessions.where(lambda s: s["patient_profile_id"] in patient_profile_ids):
        records.sessions.put(session["session_id"], {**session, "patient_profile_id": None})


BYTES_PER_SECOND = 16_000  # 128 kbit/s: how long an upload is taken to be when no times are given


def audio_file(upload: Any, limit: int, field: str = "file") -> UploadFile:
    """The uploaded audio part of a multipart body: required (`422`), an `audio/*` part (`415`, the vendor's
    words "only audio file is allowed"), at most `limit` bytes (`413`, the mock's limit; Heidi states none).
    Connexion does not validate multipart bodies, so this is where they are checked."""
    if not isinstance(upload, UploadFile):
        raise validation_failed([Violation(f"body.{field}", "a file part is required")])
    media_type = (upload.content_type or "").split(";")[0].strip().lower()
    if not media_type.startswith("audio/"):
        raise MockError("only audio file is allowed", "unsupported_media_type")
    too_large(upload, limit)
    return upload


def too_large(upload: UploadFile, limit: int) -> None:
    if (upload.size or 0) > limit:
        raise MockError(f"The file is larger than {limit} bytes (a limit of this mock)", "too_large")


def audio_seconds(size: int, start_time: Any = None, end_time: Any = None) -> float:
    """How long an upload is: `end_time - start_time` when both are ISO 8601 times in order, else its size at
    128 kbit/s (at least one second). The mock decodes no audio (uploadSessionAudio, transcribeSegment)."""
    try:
        span = (datetime.fromisoformat(str(end_time)) - datetime.fromisoformat(str(start_time))).total_seconds()
    except (TypeError, ValueError):
        span = 0.0
    return span if span > 0 else max(1.0, size / BYTES_PER_SECOND)


def segment_index(value: Any, fallback: int) -> int:
    """A segment's `index` form field (a string in the vendor example); its arrival order when not a number."""
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else fallback


async def close_uploads(parts: dict[str, Any]) -> None:
    """Close the uploaded files Connexion handed over: it parses the form but leaves its spooled files open."""
    for value in parts.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, UploadFile):
                await item.close()


def heard(records: Records, session: Record, reseed: content.Reseed) -> tuple[content.Consult, list[content.Turn]]:
    """The session's consultation (voiced for its patient and its profile's recorded history) and the turns
    the audio received so far holds (getSessionTranscript, generateConsultNote)."""
    profile_id = session.get("patient_profile_id")
    profile = records.profiles.get(profile_id) if profile_id else None
    consult = content.consult_for(session, (profile or {}).get("additional_context"), reseed)
    seconds = recorded_seconds(records.recordings_of(session["session_id"]))
    return consult, content.turns(consult, session["session_id"], seconds, reseed)


def note_template(records: Records, body: dict[str, Any]) -> Record | None:
    """The Heidi template a note is generated from: `template_id` is required with `generation_method:
    TEMPLATE` (`422`, vendor page) and must exist (`404 TemplateNotFoundError`, type inferred); with
    `THIRD_PARTY_TEMPLATE` none is needed."""
    template_id = body.get("template_id")
    if template_id is None:
        if body.get("generation_method") == "TEMPLATE":
            raise validation_failed([Violation("body.template_id", "is required when generation_method is TEMPLATE")])
        return None
    return records.template(template_id)


def generated_note(session: Record) -> Record:
    """The session's generated consult note, needed before a custom template is filled (vendor page: "you
    will need to generate a free text note ... before"; `409 ConsultNoteNotGeneratedError`, inferred)."""
    note = session.get("consult_note") or {}
    if note.get("status") != "CREATED" or not note.get("result"):
        raise MockError(
            "Generate a consult note for the session before a structured note", "conflict",
            "ConsultNoteNotGeneratedError",
        )  # fmt: skip
    return note


CONTEXT_TYPES = {  # the attachments Heidi's context page allows, by media type and by file name ending
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/msword": ".doc",
}
CONTEXT_ENDINGS = (*CONTEXT_TYPES.values(), ".jpeg")


def context_files(uploads: Any, limit: int) -> list[UploadFile]:
    """The attachments of a context upload: at least one file (`422`), each a .pdf, .jpg, .png, .docx or
    .doc by media type or file name (`415`; uploadContextDocuments), each within the mock's size limit."""
    files = [u for u in (uploads if isinstance(uploads, list) else [uploads]) if isinstance(u, UploadFile)]
    if not files:
        raise validation_failed([Violation("body.context_documents", "a file part is required")])
    for upload in files:
        media_type = (upload.content_type or "").split(";")[0].strip().lower()
        name = (upload.filename or "").lower()
        if media_type not in CONTEXT_TYPES and not name.endswith(CONTEXT_ENDINGS):
            raise MockError(
                f"Attachments can be .pdf, .jpg, .png, .docx or .doc files; got {upload.filename} ({media_type})",
                "unsupported_media_type",
            )
        too_large(upload, limit)
    return files


def meta_data(value: Any) -> Any:
    """The `meta_data` form field, a JSON string (vendor context page), parsed; text that is not JSON is kept as
    it came (Heidi does not say it refuses it; the mock is not stricter), an empty one is none."""
    if value is None or value == "":
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def link_account(records: Records, kinde_user_id: str, user_id: Any) -> None:
    """An API user links to one Heidi account, and a Heidi account to one API user: else
    `409 OpenAPIHeidiAccountAlreadyLinkedError` (vendor authentication page; status inferred)."""
    if records.accounts.where(lambda a: a["user_id"] == kinde_user_id or a["ehr_user_id"] == user_id):
        raise MockError(
            f"Heidi account with user_id {kinde_user_id} already linked to an OpenAPI User", "conflict",
            "OpenAPIHeidiAccountAlreadyLinkedError",
        )  # fmt: skip


TEMPLATE_DEPTH = 32  # a limit of this mock: a custom template is filled recursively, and none needs more


def custom_template(template: Any) -> Any:
    """A custom JSON template the mock can fill: `422` when it nests deeper than `TEMPLATE_DEPTH` levels (a limit
    of this mock, far beyond any real template; generateCustomTemplateResponse)."""
    if content.depth_of(template) > TEMPLATE_DEPTH:
        reason = f"the template nests deeper than {TEMPLATE_DEPTH} levels (a limit of this mock)"
        raise validation_failed([Violation("body", reason)])
    return template
