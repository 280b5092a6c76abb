"""The contract suite catches drift: each broken mock (tests/support/drift.py) is reported by the right check.

The generic clauses are here; each vendor's rules are in test_contract_checks_<vendor>.py.

The unbroken mock raising no false alarm is tests/contracts/test_contract_in_process.py (all phases, all checks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from schemathesis.checks import CHECKS

import contracts.checks
from contracts.runner import load_config, load_schema
from tests.support import drift

DRIFTS = [
    # generic contract clauses (Schemathesis' own checks and ours)
    pytest.param(drift.site_without_id, "impilo", ["getSite"], "response_schema_conformance", None,
                 id="missing-required-field-breaks-response-schema"),
    pytest.param(drift.kit_page_total_as_text, "impilo", ["listKits"], "response_schema_conformance", None,
                 id="wrong-type-breaks-response-schema"),
    pytest.param(drift.site_created_with_200, "impilo", ["createSite"], "status_code_conformance", None,
                 id="undocumented-status-is-reported"),
    pytest.param(drift.site_name_filter_crashes, "impilo", ["listSites"], "not_a_server_error", None,
                 id="crash-on-some-input-is-a-server-error"),
    pytest.param(drift.patients_as_text, "legit_health", ["getPatients"], "content_type_conformance", None,
                 id="wrong-content-type-is-reported"),
    pytest.param(drift.impilo_key_not_checked, "impilo", ["listItems"], "ignored_auth", None,
                 id="unenforced-auth-is-reported"),
    pytest.param(drift.site_created_under_another_id, "impilo", ["createSite", "getSite"],
                 "created_resource_is_retrievable_with_its_values", None,
                 id="unfetchable-created-resource-is-reported"),
    pytest.param(drift.patch_clears_contact_details, "impilo", ["patchPatient"], "patch_changes_only_given_fields",
                 None, id="patch-overwriting-other-fields-is-reported"),
    pytest.param(drift.site_update_keeps_old_name, "impilo", ["updateSite"], "put_applies_what_it_was_given", None,
                 id="put-ignoring-a-field-is-reported"),
    pytest.param(drift.site_list_ignores_its_query, "impilo", ["listSites"], "negative_data_rejection", None,
                 id="accepted-invalid-request-is-reported"),
    pytest.param(drift.item_not_found_in_another_shape, "impilo", ["getItem"], "error_body_has_the_vendor_shape",
                 None, id="foreign-error-body-is-reported"),
    pytest.param(drift.item_page_total_off_by_one, "impilo", ["listItems"], "page_envelope_is_consistent", None,
                 id="wrong-page-total-is-reported"),
]  # fmt: skip


@pytest.mark.parametrize(("broken", "api", "operation_ids", "check", "parameters"), DRIFTS)
def test_contract_run_reports_the_right_check_when_the_mock_drifts(
    broken: Callable[[], Any],
    api: str,
    operation_ids: list[str],
    check: str,
    parameters: Callable[[Any], dict[str, Any]] | None,
) -> None:
    drift.assert_reported(broken, api, operation_ids, check, parameters)


@pytest.mark.parametrize("api", ["impilo", "heidi", "legit_health"])
def test_a_run_on_one_api_leaves_out_the_rules_written_for_the_others(api: str) -> None:
    """Impilo and Legit.Health both have a `createPatient`: each vendor's rule judges only its own."""
    config = load_config()
    schema = load_schema(api, config=config)
    enabled = {name for name in CHECKS.get_all_names()
               if schema.config.checks.get_by_name(name=name).enabled}  # fmt: skip
    for vendor, module in contracts.checks.VENDOR_MODULES.items():
        own = {name for name, value in vars(module).items() if getattr(value, "__module__", None) == module.__name__
               and name in CHECKS.get_all_names()}  # fmt: skip
        assert own, f"no check found in {module.__name__}"
        assert (own <= enabled) == (vendor == api) and (own.isdisjoint(enabled)) == (vendor != api), (vendor, own)
