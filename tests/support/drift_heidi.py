"""Heidi Health's vendor rules broken one at a time (see tests/support/drift.py)."""

from __future__ import annotations

from typing import Any

from tests.support.drift import Handler, Reply, with_handler, with_result


def batch_delete_keeps_profiles() -> Any:
    """batchDeletePatientProfiles reports success and deletes nothing."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def keeping(*args: Any, **kwargs: Any) -> Reply:
            return {"is_success": True}, 200

        return keeping

    return with_handler("heidi", "batch_delete_patient_profiles", make)


def session_page_always_has_next() -> Any:
    """listLinkedUserSessions claims another page even on the last one."""
    return with_result("heidi", "list_linked_user_sessions", lambda body, status: ({**body, "has_next": True}, status))


def consult_note_not_kept() -> Any:
    """generateConsultNote streams a note but the session keeps the one it had."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def forgetful(*args: Any, **kwargs: Any) -> Any:
            session_id = kwargs["session_id"]
            before = handlers.records.sessions.get(session_id)
            response = await original(*args, **kwargs)
            if before is not None:
                handlers.records.sessions.put(session_id, before)
            return response

        return forgetful

    return with_handler("heidi", "generate_consult_note", make)


def linking_twice_allowed() -> Any:
    """linkHeidiAccount links again whatever is linked already."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def relinking(*args: Any, **kwargs: Any) -> Reply:
            with handlers.records.lock:
                handlers.records.accounts.clear()
            return tuple(await original(*args, **kwargs))

        return relinking

    return with_handler("heidi", "link_heidi_account", make)


def context_documents_kept() -> Any:
    """deleteContextDocuments answers 204 and removes nothing."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def keeping(*args: Any, **kwargs: Any) -> Reply:
            return None, 204

        return keeping

    return with_handler("heidi", "delete_context_documents", make)
