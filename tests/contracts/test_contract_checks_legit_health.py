"""The contract suite catches each of Legit.Health's vendor rules broken (tests/support/drift_legit_health.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import drift, drift_legit_health

DRIFTS = [
    pytest.param(drift_legit_health.second_active_episode_allowed, "legit_health", ["createEpisodeOfCare"],
                 "second_active_episode_is_rejected", drift_legit_health.legit_health_ids,
                 id="second-active-episode-is-reported"),
    pytest.param(drift_legit_health.encounters_always_scheduled, "legit_health", ["createEncounter"],
                 "encounter_status_follows_planned_for", drift_legit_health.legit_health_ids,
                 id="past-encounter-scheduled-is-reported"),
    pytest.param(drift_legit_health.patient_without_contact_accepted, "legit_health", ["createPatient"],
                 "patient_without_contact_is_rejected", None, id="patient-without-contact-is-reported"),
    pytest.param(drift_legit_health.unlisted_speciality_accepted, "legit_health", ["createPractitioner"],
                 "unlisted_speciality_is_rejected", None, id="unlisted-speciality-is-reported"),
    pytest.param(drift_legit_health.unknown_practitioner_accepted, "legit_health", ["createPatient"],
                 "unknown_practitioner_is_rejected", None, id="unknown-practitioner-is-reported"),
    pytest.param(drift_legit_health.login_link_with_another_refresh_token, "legit_health",
                 ["getPractitionerAuthTokens"], "login_link_carries_the_tokens", None,
                 id="login-link-without-its-tokens-is-reported"),
    pytest.param(drift_legit_health.patients_repeated_per_id, "legit_health", ["getPatients"],
                 "external_id_given_twice_is_answered_once", None, id="patient-answered-twice-is-reported"),
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
