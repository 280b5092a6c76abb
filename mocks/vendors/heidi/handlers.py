"""Heidi Health handlers: one method per operationId of specs/heidi.yaml.

Requests arrive validated and authenticated; each handler takes the request's values, asks `rules` and
`records`, and returns (body, status). Every profile and session lives in the app's store.
"""

from __future__ import annotations

from typing import Any

from mocks.context import MockContext
from mocks.dx.fixtures import Kind
from mocks.vendors.heidi import fixtures, rules
from mocks.vendors.heidi import seed as seeding
from mocks.vendors.heidi.auth import issue_jwt
from mocks.vendors.heidi.records import (
    API,
    Records,
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

Body = dict[str, Any]
Reply = tuple[Body, int]


class Handlers:
    """The Heidi API of one mock app."""

    def __init__(self, context: MockContext) -> None:
        self.context = context
        self.records = Records(context.store)
        self.profile_fields = self._fields("PatientProfile")
        self.create_fields = self._fields("PatientProfileCreate")
        self.update_fields = self._fields("PatientProfileUpdate")
        self.session_update_fields = self._fields("SessionUpdate")

    def _fields(self, schema_name: str) -> list[str]:
        return list(self.context.schema(API, schema_name)["properties"])

    def seed(self) -> None:
        seeding.seed(self.context, self.records)

    def fixtures(self) -> list[Kind]:
        """The collections state fixtures load and export, and how (mocks/dx/fixtures.py)."""
        return fixtures.kinds(self.context, self.records)

    # Authentication

    async def get_jwt(self, email: str, third_party_internal_id: str, **_: Any) -> Reply:
        token, expires = issue_jwt(self.context.config.credentials_for(API), email, third_party_internal_id)
        expiration = expires.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"token": token, "expiration_time": expiration}, 200

    # Patient profiles

    async def create_patient_profile(self, body: Body, **_: Any) -> Reply:
        fields, now = pick(body, self.create_fields), now_naive()
        profile = self.records.profiles.add(lambda key: new_profile(str(key), fields, self.profile_fields, now))
        return {"data": profile_view(profile)}, 200

    async def list_patient_profiles(
        self, ehr_patient_id: str | None = None, ehr_provider: str | None = None, **_: Any
    ) -> Reply:
        wanted = {"ehr_patient_id": ehr_patient_id, "ehr_provider": ehr_provider}
        filters = {name: value for name, value in wanted.items() if value is not None}
        with self.records.lock:
            counts = self.records.session_counts()
            matching = self.records.profiles.where(lambda p: all(p.get(k) == v for k, v in filters.items()))
            data = [profile_list_item(p, counts[p["id"]]) for p in matching]
        return {"data": data}, 200

    async def get_patient_profile(self, patient_profile_id: str, **_: Any) -> Reply:
        return {"data": profile_view(self.records.profile(patient_profile_id))}, 200

    async def update_patient_profile(self, patient_profile_id: str, body: Body, **_: Any) -> Reply:
        with self.records.lock:
            profile = self.records.profile(patient_profile_id)
            changes = pick(body, self.update_fields)
            if changes:
                profile = self.records.profiles.put(
                    patient_profile_id, {**profile, **changes, "updated_at": now_naive()}
                )
        return {"data": profile_view(profile)}, 200

    async def batch_delete_patient_profiles(self, body: Body, **_: Any) -> Reply:
        with self.records.lock:
            rules.delete_profiles(self.records, set(body["patient_profile_ids"]))
        return {"is_success": True}, 200

    async def link_sessions_to_patient_profile(self, patient_profile_id: str, body: Body, **_: Any) -> Reply:
        """Links every listed session, or none when the profile or any session does not exist."""
        session_ids = list(dict.fromkeys(body["session_ids"]))
        with self.records.lock:
            self.records.profile(patient_profile_id)
            found = rules.existing_sessions(self.records, session_ids)
            linked = [
                self.records.sessions.put(s["session_id"], {**s, "patient_profile_id": patient_profile_id})
                for s in found
            ]
        return {"data": [linked_view(s) for s in linked]}, 200

    # Sessions

    async def create_session(self, body: Body | None = None, **_: Any) -> Reply:
        body = body or {}
        with self.records.lock:
            profile = rules.profile_to_link(self.records, body.get("patient_profile_id"))
            appointment, now = body.get("ehr_appointment_id"), now_naive()
            session = self.records.sessions.add(lambda key: new_session(str(key), profile, appointment, now))
        return {"session_id": session["session_id"]}, 200

    async def get_session(self, session_id: str, **_: Any) -> Reply:
        return {"session": session_view(self.records.session(session_id))}, 200

    async def update_session(self, session_id: str, body: Body, **_: Any) -> Reply:
        with self.records.lock:
            session = self.records.session(session_id)
            rules.existing_sessions(self.records, body.get("linked_sessions_for_context") or [])
            changes = session_changes(session, body, self.session_update_fields)
            if changes:
                session = self.records.sessions.put(session_id, {**session, **changes, "updated_at": now_naive()})
        return {"session": session_view(session)}, 200
