"""Heidi Health handlers: one method per operationId of specs/heidi.yaml.

Requests arrive validated and authenticated; handlers only apply the vendor's rules to the store and
raise `mocks.http.errors` for the 404s. Every profile and session lives in the app's store.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mocks.context import MockContext
from mocks.http.errors import MockError, not_found
from mocks.state.store import Collection, Record
from mocks.vendors.heidi.auth import issue_jwt
from mocks.vendors.heidi.records import (
    linked_view,
    new_profile,
    new_session,
    now_naive,
    pick,
    profile_list_item,
    profile_view,
    session_changes,
    session_view,
)
from mocks.vendors.heidi.seed import seed_heidi

Body = dict[str, Any]
Answer = tuple[Body, int]


def _missing_profile() -> MockError:
    return not_found("Patient profile not found", "PatientProfileNotFoundError")


def _missing_session() -> MockError:
    return not_found("Session not found", "SessionNotFoundError")


class Handlers:
    """The Heidi API of one mock app."""

    def __init__(self, context: MockContext) -> None:
        self.context = context
        self.profiles: Collection = context.store.collection("heidi", "profiles", id_kind="hex24")
        self.sessions: Collection = context.store.collection("heidi", "sessions", id_kind="digits")
        self.profile_fields = self._fields("PatientProfile")
        self.create_fields = self._fields("PatientProfileCreate")
        self.update_fields = self._fields("PatientProfileUpdate")
        self.session_update_fields = self._fields("SessionUpdate")

    def _fields(self, schema_name: str) -> list[str]:
        return list(self.context.schema("heidi", schema_name)["properties"])

    def seed(self) -> None:
        seed_heidi(self.context, self.profiles, self.sessions)

    def _profile(self, patient_profile_id: str) -> Record:
        profile = self.profiles.get(patient_profile_id)
        if profile is None:
            raise _missing_profile()
        return profile

    def _session(self, session_id: str) -> Record:
        session = self.sessions.get(session_id)
        if session is None:
            raise _missing_session()
        return session

    # Authentication

    async def get_jwt(self, email: str, third_party_internal_id: str, **_: Any) -> Answer:
        token, expires = issue_jwt(self.context.config.credentials_for("heidi"), email, third_party_internal_id)
        expiration = expires.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"token": token, "expiration_time": expiration}, 200

    # Patient profiles

    async def create_patient_profile(self, body: Body, **_: Any) -> Answer:
        fields, now = pick(body, self.create_fields), now_naive()
        profile = self.profiles.add(lambda key: new_profile(str(key), fields, self.profile_fields, now))
        return {"data": profile_view(profile)}, 200

    async def list_patient_profiles(
        self, ehr_patient_id: str | None = None, ehr_provider: str | None = None, **_: Any
    ) -> Answer:
        wanted = {"ehr_patient_id": ehr_patient_id, "ehr_provider": ehr_provider}
        filters = {name: value for name, value in wanted.items() if value is not None}
        with self.context.store.lock:
            counts = Counter(s["patient_profile_id"] for s in self.sessions if s["patient_profile_id"])
            matching = self.profiles.where(lambda p: all(p.get(k) == v for k, v in filters.items()))
            data = [profile_list_item(p, counts[p["id"]]) for p in matching]
        return {"data": data}, 200

    async def get_patient_profile(self, patient_profile_id: str, **_: Any) -> Answer:
        return {"data": profile_view(self._profile(patient_profile_id))}, 200

    async def update_patient_profile(self, patient_profile_id: str, body: Body, **_: Any) -> Answer:
        with self.context.store.lock:
            profile = self._profile(patient_profile_id)
            changes = pick(body, self.update_fields)
            if changes:
                profile = self.profiles.put(patient_profile_id, {**profile, **changes, "updated_at": now_naive()})
        return {"data": profile_view(profile)}, 200

    async def batch_delete_patient_profiles(self, body: Body, **_: Any) -> Answer:
        """Deletes the listed profiles and unlinks their sessions; unknown ids are ignored (spec choice)."""
        doomed = set(body["patient_profile_ids"])
        with self.context.store.lock:
            for patient_profile_id in doomed:
                self.profiles.delete(patient_profile_id)
            for session in self.sessions.where(lambda s: s["patient_profile_id"] in doomed):
                self.sessions.put(session["session_id"], {**session, "patient_profile_id": None})
        return {"is_success": True}, 200

    async def link_sessions_to_patient_profile(self, patient_profile_id: str, body: Body, **_: Any) -> Answer:
        """Links every listed session, or none when the profile or any session does not exist."""
        session_ids = list(dict.fromkeys(body["session_ids"]))
        with self.context.store.lock:
            self._profile(patient_profile_id)
            found = [self._session(session_id) for session_id in session_ids]
            linked = [
                self.sessions.put(s["session_id"], {**s, "patient_profile_id": patient_profile_id}) for s in found
            ]
        return {"data": [linked_view(s) for s in linked]}, 200

    # Sessions

    async def create_session(self, body: Body | None = None, **_: Any) -> Answer:
        body = body or {}
        with self.context.store.lock:
            profile_id = body.get("patient_profile_id")
            profile = self._profile(profile_id) if profile_id is not None else None
            appointment, now = body.get("ehr_appointment_id"), now_naive()
            session = self.sessions.add(lambda key: new_session(str(key), profile, appointment, now))
        return {"session_id": session["session_id"]}, 200

    async def get_session(self, session_id: str, **_: Any) -> Answer:
        return {"session": session_view(self._session(session_id))}, 200

    async def update_session(self, session_id: str, body: Body, **_: Any) -> Answer:
        with self.context.store.lock:
            session = self._session(session_id)
            for context_id in body.get("linked_sessions_for_context") or []:
                self._session(context_id)
            changes = session_changes(session, body, self.session_update_fields)
            if changes:
                session = self.sessions.put(session_id, {**session, **changes, "updated_at": now_naive()})
        return {"session": session_view(session)}, 200
