"""Heidi's business rules: what the schema cannot say, each with where it comes from (specs/heidi.yaml)."""

from __future__ import annotations

from collections.abc import Iterable

from mocks.state.store import Record
from mocks.vendors.heidi.records import Records


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
