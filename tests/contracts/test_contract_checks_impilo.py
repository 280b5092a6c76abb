"""The contract suite catches each of Impilo's vendor rules broken (tests/support/drift_impilo.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import drift, drift_impilo

DRIFTS = [
    pytest.param(drift_impilo.order_rules_not_enforced, "impilo", ["createOrder"],
                 "impilo_order_needs_exactly_one_of_patient_or_site_and_some_lines", None,
                 id="order-for-both-or-neither-or-no-lines-is-reported"),
    pytest.param(drift_impilo.association_precondition_not_enforced, "impilo", ["associateDevice"],
                 "impilo_device_is_associated_only_when_available_at_a_site", None,
                 id="association-of-a-device-with-a-patient-is-reported"),
    pytest.param(drift_impilo.disabled_readings_recorded, "impilo", ["recordBloodPressureReading"],
                 "impilo_reading_from_a_device_with_disabled_readings_is_refused", None,
                 id="reading-from-a-disabled-device-is-reported"),
    pytest.param(drift_impilo.kit_link_precondition_not_enforced, "impilo", ["linkKitToPatient"],
                 "impilo_packed_kit_is_linked_only_when_packed_at_a_site", None,
                 id="link-of-a-kit-with-a-patient-is-reported"),
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
