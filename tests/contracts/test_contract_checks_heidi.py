"""The contract suite catches each of Heidi Health's vendor rules broken (tests/support/drift_heidi.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import drift, drift_heidi

DRIFTS = [
    pytest.param(drift_heidi.batch_delete_keeps_profiles, "heidi", ["batchDeletePatientProfiles"],
                 "deleted_profiles_are_gone", None, id="undeleted-profiles-are-reported"),
    pytest.param(drift_heidi.session_page_always_has_next, "heidi", ["listLinkedUserSessions"],
                 "session_page_is_consistent", None, id="endless-session-pages-are-reported"),
    pytest.param(drift_heidi.consult_note_not_kept, "heidi", ["generateConsultNote"],
                 "streamed_note_is_kept_on_the_session", None, id="forgotten-consult-notes-are-reported"),
    pytest.param(drift_heidi.linking_twice_allowed, "heidi", ["linkHeidiAccount"],
                 "linking_twice_is_refused", None, id="double-links-are-reported"),
    pytest.param(drift_heidi.context_documents_kept, "heidi", ["deleteContextDocuments"],
                 "deleted_context_documents_are_gone", None, id="undeleted-attachments-are-reported"),
]  # fmt: skip


@pytest.mark.parametrize(("broken", "api", "operation_ids", "check", "parameters"), DRIFTS)
def test_contract_run_reports_the_broken_rule(
    broken: Callable[[], Any],
    api: str,
    operation_ids: list[str],
    check: str,
    parameters: Callable[[Any], dict[str, Any]] | None,
) -> None:
    drift.assert_reported(broken, api, operation_ids, check, parameters)
