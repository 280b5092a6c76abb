"""Heidi's sessions: create, read, update, and the linked user's session list."""

from __future__ import annotations

from typing import Any

from mocks.vendors.heidi import rules
from mocks.vendors.heidi.records import Records, new_session, now_naive, session_changes, session_page, session_view

Body = dict[str, Any]
Reply = tuple[Body, int]


class SessionHandlers:
    records: Records
    session_update_fields: list[str]

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

    async def list_linked_user_sessions(self, page: int = 1, page_size: int = 20, **_: Any) -> Reply:
        """Newest first (the order is not documented; a choice)."""
        with self.records.lock:
            found = sorted(self.records.sessions, key=lambda s: (s["created_at"] or "", s["session_id"]), reverse=True)
        return session_page(found, page, page_size), 200
