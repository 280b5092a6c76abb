"""Heidi Health's documented rules as Schemathesis checks."""

from __future__ import annotations

import schemathesis
from schemathesis import Case, CheckContext, Response

from contracts.checks.common import MAX_IDS_FOLLOWED, fail, follow_up, ok, operation_id


@schemathesis.check
def deleted_profiles_are_gone(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """After a 2xx Heidi batch delete, each listed patient profile answers 404."""
    if operation_id(case) != "batchDeletePatientProfiles" or not ok(response) or not isinstance(case.body, dict):
        return None
    ids = case.body.get("patient_profile_ids")
    still_there = []
    for profile_id in list(dict.fromkeys(ids if isinstance(ids, list) else []))[:MAX_IDS_FOLLOWED]:
        got = follow_up(case, response, "getPatientProfile", path_parameters={"patient_profile_id": profile_id})
        if got.status_code != 404:
            still_there.append(f"{profile_id}: {got.status_code}")
    if still_there:
        fail("profiles deleted by a 2xx batch delete still answer GET (expected 404): " + ", ".join(still_there))
    return None
