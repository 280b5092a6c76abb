"""Each vendor's error renderer, as its row renders it: status by kind, body shape, content type, violations."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mocks.http.errors import (
    MAX_VIOLATIONS,
    NEUTRAL,
    MockError,
    Violation,
    conflict,
    not_found,
    render,
    unauthorized,
    validation_failed,
)
from mocks.vendor import Vendor
from mocks.vendors import VENDORS

BY_NAME = {vendor.name: vendor for vendor in VENDORS}
PATH = "/somewhere/patient/7"
VIOLATIONS = (Violation("body.identifiers.0.value", "is required"), Violation("query.size", "must be <= 250"))
ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def rendered(vendor: str | None, error: MockError) -> tuple[int, Any, str, dict[str, str]]:
    shape = BY_NAME[vendor].errors if vendor else None
    status, body, content_type, headers = render(error, shape, PATH)
    return status, json.loads(body), content_type, headers


@pytest.mark.parametrize(
    ("vendor", "kind", "status"),
    [
        pytest.param("heidi", "validation", 422, id="heidi-validation-422"),
        pytest.param("impilo", "validation", 400, id="impilo-validation-400"),
        pytest.param("legit_health", "validation", 400, id="legit-health-validation-400"),
        pytest.param("heidi", "bad_request", 400, id="heidi-bad-request-400"),
        pytest.param("impilo", "unauthorized", 401, id="impilo-unauthorized-401"),
        pytest.param("legit_health", "not_found", 404, id="legit-health-not-found-404"),
        pytest.param("heidi", "too_large", 413, id="heidi-too-large-413"),
        pytest.param("impilo", "timeout", 408, id="impilo-timeout-408"),
        pytest.param(None, "validation", 400, id="neutral-validation-400"),
    ],
)
def test_render_answers_the_vendors_status_when_an_error_of_a_kind_is_raised(
    vendor: str | None, kind: str, status: int
) -> None:
    assert rendered(vendor, MockError("boom", kind))[0] == status


@pytest.mark.parametrize(
    ("vendor", "content_type"),
    [
        pytest.param("heidi", "application/json", id="heidi"),
        pytest.param("impilo", "application/json", id="impilo"),
        pytest.param("legit_health", "application/problem+json", id="legit-health"),
        pytest.param(None, "application/json", id="neutral"),
    ],
)
def test_render_answers_the_content_type_of_the_vendors_spec_when_any_error_is_rendered(
    vendor: str | None, content_type: str
) -> None:
    assert rendered(vendor, not_found("gone"))[2] == content_type
    if vendor:
        assert BY_NAME[vendor].facts.error_content_type == content_type


def test_impilo_error_is_a_spring_style_object_when_a_record_is_missing() -> None:
    status, body, _, _ = rendered("impilo", not_found("Patient 7 not found"))
    assert status == 404
    assert set(body) == {"timestamp", "status", "error", "message", "path", "errors"}
    assert ISO_MILLIS.match(body["timestamp"])
    assert (body["status"], body["error"], body["message"], body["path"], body["errors"]) == (
        404, "Not Found", "Patient 7 not found", PATH, []
    )  # fmt: skip


def test_heidi_error_is_a_fastapi_detail_with_a_type_name_when_one_is_given_or_not() -> None:
    assert rendered("heidi", unauthorized("Invalid Heidi-Api-Key", "InvalidApiKeyError"))[1] == {
        "detail": {"msg": "Invalid Heidi-Api-Key", "type": "InvalidApiKeyError"}
    }
    assert rendered("heidi", conflict("taken"))[1] == {"detail": {"msg": "taken", "type": "ConflictError"}}


def test_legit_health_error_is_an_rfc9457_problem_when_a_record_is_missing() -> None:
    assert rendered("legit_health", not_found("No such patient"))[1] == {
        "type": "https://tools.ietf.org/html/rfc9110#status.404",
        "title": "Not Found",
        "status": 404,
        "detail": "No such patient",
    }


def test_neutral_error_says_status_and_message_when_no_vendor_owns_the_path() -> None:
    assert rendered(None, not_found("No such path")) == (
        404, {"status": 404, "error": "Not Found", "message": "No such path"}, "application/json", {}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("vendor", "listed"),
    [
        pytest.param("impilo", lambda b: b["errors"], id="impilo-errors-field-message"),
        pytest.param("heidi", lambda b: b["detail"]["errors"], id="heidi-detail-errors-loc-msg"),
        pytest.param("legit_health", lambda b: b["violations"], id="legit-health-violations-property-path"),
        pytest.param(None, lambda b: b["violations"], id="neutral-violations-location"),
    ],
)
def test_render_lists_every_violation_in_the_vendors_words_when_validation_fails(
    vendor: str | None, listed: Any
) -> None:
    _, body, _, _ = rendered(vendor, validation_failed(VIOLATIONS))
    expected = {
        "impilo": [
            {"field": "body.identifiers.0.value", "message": "is required"},
            {"field": "query.size", "message": "must be <= 250"},
        ],
        "heidi": [
            {"loc": ["body", "identifiers", 0, "value"], "msg": "is required"},
            {"loc": ["query", "size"], "msg": "must be <= 250"},
        ],
        "legit_health": [
            {"propertyPath": "body.identifiers.0.value", "message": "is required"},
            {"propertyPath": "query.size", "message": "must be <= 250"},
        ],
        None: [
            {"location": "body.identifiers.0.value", "message": "is required"},
            {"location": "query.size", "message": "must be <= 250"},
        ],
    }
    assert listed(body) == expected[vendor]


@pytest.mark.parametrize("vendor", [pytest.param(v, id=v.name) for v in VENDORS])
def test_render_lists_at_most_max_violations_and_says_so_when_there_are_more(vendor: Vendor) -> None:
    many = [Violation(f"body.items.{i}", "is wrong") for i in range(MAX_VIOLATIONS + 5)]
    _, raw, _, _ = render(validation_failed(many), vendor.errors, PATH)
    text = raw.decode()
    assert text.count("is wrong") == MAX_VIOLATIONS + 5  # each listed once, five of them in the summary too
    assert f"the mock lists at most {MAX_VIOLATIONS}" in text


def test_render_passes_the_errors_headers_when_it_carries_some() -> None:
    error = MockError("no", "method_not_allowed", headers={"Allow": "GET, PUT"})
    assert rendered("impilo", error)[3] == {"Allow": "GET, PUT"}


@pytest.mark.parametrize(
    ("vendor", "status", "kind"),
    [
        pytest.param("heidi", 422, "validation", id="heidi-422-validation"),
        pytest.param("heidi", 400, "bad_request", id="heidi-400-bad-request"),
        pytest.param("impilo", 400, "bad_request", id="impilo-400-bad-request"),
        pytest.param("impilo", 422, None, id="impilo-422-none"),
        pytest.param("legit_health", 503, None, id="legit-health-503-none"),
    ],
)
def test_error_shape_maps_a_status_back_to_its_first_kind_when_a_response_is_forced(
    vendor: str, status: int, kind: str | None
) -> None:
    assert BY_NAME[vendor].errors.kind_of(status) == kind


def test_neutral_shape_has_no_status_overrides() -> None:
    assert NEUTRAL.statuses == {} and NEUTRAL.kind_of(422) is None
