"""Heidi Health's vendor rules broken one at a time (see tests/support/drift.py)."""

from __future__ import annotations

from typing import Any

from tests.support.drift import Handler, Reply, with_handler


def batch_delete_keeps_profiles() -> Any:
    """batchDeletePatientProfiles reports success and deletes nothing."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def keeping(*args: Any, **kwargs: Any) -> Reply:
            return {"is_success": True}, 200

        return keeping

    return with_handler("heidi", "batch_delete_patient_profiles", make)
