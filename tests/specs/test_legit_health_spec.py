"""specs/legit_health.yaml says, per operation, where it comes from and what was inferred, and keeps its own
rules straight: every error in the problem shape, reads with side effects known to the contract guard."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
from starlette.testclient import TestClient

import specs
from contracts.guard import UNSAFE_OPERATIONS
from tests.support.helpers import LEGIT_AUTH, base

DOCUMENT = specs.load("legit_health")
VENDOR_PAGES = (
    "https://apidocs.legit.health/integration/deep-link/send/patients",
    "https://apidocs.legit.health/integration/deep-link/send/practitioners",
)


def operations() -> list[Any]:
    return [
        pytest.param(method, path, operation, id=operation["operationId"])
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    ]


@pytest.mark.parametrize(("method", "path", "operation"), operations())
def test_operation_names_its_vendor_page_and_why_it_is_inferred(method: str, path: str, operation: Any) -> None:
    assert operation["externalDocs"]["url"] in VENDOR_PAGES
    assert operation["x-inferred"] is True and len(operation["x-inferred-reason"]) > 20
    assert operation["summary"] and operation["tags"] and operation["security"] == [{"LegitHealthBearer": []}]


@pytest.mark.parametrize(("method", "path", "operation"), operations())
def test_operation_answers_every_error_in_the_problem_shape(method: str, path: str, operation: Any) -> None:
    problem = DOCUMENT["components"]["schemas"]["Problem"]
    errors = {status: r for status, r in operation["responses"].items() if int(status) >= 400}

    assert {"401", "429", "503"} <= set(errors)
    for status, response in errors.items():
        assert list(response["content"]) == ["application/problem+json"], status
        assert response["content"]["application/problem+json"]["schema"] == problem, status


@pytest.mark.parametrize(("method", "path", "operation"), operations())
def test_reads_that_send_messages_are_unsafe_for_the_contract_guard(method: str, path: str, operation: Any) -> None:
    sends = "messages" in operation.get("x-side-effects", [])

    assert (method == "get" and sends) == (operation["operationId"] in UNSAFE_OPERATIONS)


def test_problem_states_no_length_the_vendor_does_not() -> None:
    problem = DOCUMENT["components"]["schemas"]["Problem"]
    violation = problem["properties"]["violations"]["items"]

    bounded = [k for schema in (problem, violation) for k, v in schema["properties"].items() if "maxLength" in v]
    assert bounded == []


def test_create_patient_requires_an_email_or_a_phone_and_says_why() -> None:
    schema = DOCUMENT["components"]["schemas"]["PatientCreate"]

    assert schema["anyOf"] == [{"required": ["email"]}, {"required": ["phone"]}]
    assert "Contact information is required" in schema["x-messages"]["anyOf"]


def test_error_examples_carry_the_type_and_title_the_mock_renders(client: TestClient) -> None:
    rendered = client.get(f"{base('legit_health')}/patients/00000000-0000-4000-8000-000000000000", headers=LEGIT_AUTH)
    shape = {k: rendered.json()[k] for k in ("type", "title", "status")}
    assert shape == {"type": "https://tools.ietf.org/html/rfc9110#status.404", "title": "Not Found", "status": 404}
    for name, response in DOCUMENT["components"]["responses"].items():
        for example in response["content"]["application/problem+json"]["examples"].values():
            value = example["value"]
            assert value["type"] == f"https://tools.ietf.org/html/rfc9110#status.{value['status']}", name
            assert value["title"] == HTTPStatus(value["status"]).phrase, name
