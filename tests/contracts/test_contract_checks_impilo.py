"""The contract suite catches each of Impilo's vendor rules broken (tests/support/drift_impilo.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import drift, drift_impilo

DRIFTS = [
    pytest.param(drift_impilo.order_rules_not_enforced, "impilo", ["createOrder"],
                 "impilo_create_order_follows_its_business_rules", None,
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
    pytest.param(drift_impilo.created_patient_filled_with_fake_data, "impilo", ["createPatient"],
                 "impilo_created_patient_holds_only_what_it_was_sent", None,
                 id="created-patient-with-invented-fields-is-reported"),
    pytest.param(drift_impilo.unknown_patient_site_is_a_conflict, "impilo", ["createPatient"],
                 "impilo_unknown_reference_is_404", None, id="unknown-patient-site-answered-409-is-reported"),
    pytest.param(drift_impilo.order_line_count_required, "impilo", ["createOrder"],
                 "impilo_create_order_follows_its_business_rules", None, id="order-line-count-required-is-reported"),
    pytest.param(drift_impilo.webhook_secret_required, "impilo", ["createWebhookSecret"], "positive_data_acceptance",
                 None, id="webhook-secret-required-is-reported"),
    pytest.param(drift_impilo.webhook_payload_with_undeclared_field, "impilo", ["listWebhookLogs"],
                 "impilo_webhook_payloads_are_declared", None, id="undeclared-webhook-payload-field-is-reported"),
    pytest.param(drift_impilo.loaner_kit_rules_not_enforced, "impilo", ["createOrder"],
                 "impilo_loaner_kits_follow_their_rules", None, id="loaner-kit-rules-not-enforced-is-reported"),
    pytest.param(drift_impilo.identifier_with_slash_not_found, "impilo", ["createPatient"],
                 "impilo_patient_is_found_by_its_external_identifier", None,
                 id="identifier-with-slash-not-found-is-reported"),
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
