"""Heidi's JWT exchange and patient profiles."""

from __future__ import annotations

from typing import Any

from mocks.context import MockContext
from mocks.vendors.heidi import rules
from mocks.vendors.heidi.auth import issue_jwt
from mocks.vendors.heidi.records import (
    API,
    Records,
    linked_view,
    new_profile,
    now_naive,
    pick,
    profile_list_item,
    profile_view,
)

Body = dict[str, Any]
Reply = tuple[Body, int]


class ProfileHandlers:
    context: MockContext
    records: Records
    profile_fields: list[str]
    create_fields: list[str]
    update_fields: list[str]

    async def get_jwt(self, email: str, third_party_internal_id: str, **_: Any) -> Reply:
        token, expires = issue_jwt(self.context.config.credentials_for(API), email, third_party_internal_id)
        expiration = expires.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"token": token, "expiration_time": expiration}, 200

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
