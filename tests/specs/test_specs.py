"""The three hand-written specs: valid, resolvable, complete, and every embedded example conforms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate

import specs

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
SERVERS = {
    "impilo": "https://app.impiloplatform.com/api/v3",
    "heidi": "https://registrar.api.heidihealth.com/api/v2/ml-scribe/open-api",
    "legit_health": "https://api.legit.health/deep-link/v1",
}
TITLES = {"impilo": "Impilo API", "heidi": "Heidi Health API", "legit_health": "Legit.Health API"}
REQUIRED_OPERATIONS = {
    "impilo": {
        "createPatient", "listPatients", "getPatient", "updatePatient", "patchPatient",
        "getPatientByExternalIdentifier", "createSite", "listSites", "getSite", "updateSite", "listItems",
        "getItem", "listKits", "getKit", "getDevice", "createOrder", "listOrders", "getOrder", "createWebhook",
        "listWebhooks", "updateWebhook", "deleteWebhook", "listWebhookLogs", "createWebhookSecret",
    },
    "heidi": {
        "getJwt", "createPatientProfile", "listPatientProfiles", "getPatientProfile", "updatePatientProfile",
        "batchDeletePatientProfiles", "linkSessionsToPatientProfile", "createSession", "getSession",
        "updateSession",
    },
    "legit_health": {
        "createPatient", "getPatients", "patchPatient", "getPatientsAuthTokens", "createEpisodeOfCare",
        "getEpisodesOfCare", "patchEpisodeOfCare", "createEncounter", "createPractitioner",
        "getPractitionerSpecialties", "getPractitionerAuthTokens",
    },
}  # fmt: skip


# Creates with nothing to read back: the vendor offers no read for the webhook secret.
WRITE_ONLY = {"createWebhookSecret"}


def raw(api: str) -> dict[str, Any]:
    return yaml.safe_load(specs.source_path(api).read_text())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def examples(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example value) for every example embedded on parameters, bodies and responses."""
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        for parameter in [*document["paths"][path].get("parameters", []), *operation.get("parameters", [])]:
            yield from _media_examples(f"{where} param {parameter['name']}", parameter)
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            yield from _media_examples(f"{where} request {media_type}", media)
        for status, response in operation["responses"].items():
            for media_type, media in response.get("content", {}).items():
                yield from _media_examples(f"{where} {status} {media_type}", media)


def _media_examples(where: str, media: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    schema = media.get("schema", {})
    if "example" in media:
        yield where, schema, media["example"]
    for name, example in media.get("examples", {}).items():
        if "value" in example:
            yield f"{where} example {name}", schema, example["value"]


@pytest.fixture(scope="module", params=specs.APIS)
def api(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def resolved(api: str) -> dict[str, Any]:
    return specs.bundle(api)


def test_spec_is_valid_openapi_3_0_3_when_read_from_its_entry_file(api: str) -> None:
    document = raw(api)
    assert document["openapi"] == "3.0.3"
    validate(document)


def test_spec_resolves_with_prance_into_a_document_without_refs(resolved: dict[str, Any]) -> None:
    validate(resolved)
    assert '"$ref"' not in repr(resolved["paths"]).replace("'", '"')


def test_spec_servers_name_the_vendor_base_url(api: str, resolved: dict[str, Any]) -> None:
    assert SERVERS[api] in [server["url"] for server in resolved["servers"]]
    assert resolved["info"]["title"] == TITLES[api]


def test_spec_covers_every_operation_the_issue_names(api: str, resolved: dict[str, Any]) -> None:
    found = {operation.get("operationId") for _, _, operation in operations(resolved)}
    assert REQUIRED_OPERATIONS[api] <= found, REQUIRED_OPERATIONS[api] - found


def test_spec_operation_ids_are_unique_lower_camel_case(resolved: dict[str, Any]) -> None:
    ids = [operation.get("operationId") for _, _, operation in operations(resolved)]
    assert len(ids) == len(set(ids))
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z][a-zA-Z0-9]*", i) for i in ids), ids


def test_spec_operations_have_summary_tag_security_and_a_4xx(resolved: dict[str, Any]) -> None:
    incomplete = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(resolved)
        if not (
            operation.get("summary")
            and len(operation.get("tags", [])) == 1
            and operation.get("security")
            and any(str(status).startswith("4") for status in operation["responses"])
        )
    ]
    assert incomplete == []


def test_spec_create_operations_link_to_reads_of_what_they_created(resolved: dict[str, Any]) -> None:
    known = {operation["operationId"] for _, _, operation in operations(resolved)}
    creates = [
        op
        for _, method, op in operations(resolved)
        if method == "post" and op["operationId"].startswith("create") and op["operationId"] not in WRITE_ONLY
    ]
    assert creates
    for operation in creates:
        links = [
            link
            for status, response in operation["responses"].items()
            if str(status).startswith("2")
            for link in response.get("links", {}).values()
        ]
        assert links, f"{operation['operationId']} has no links"
        assert {link["operationId"] for link in links} <= known


def test_spec_every_response_status_has_a_schema(resolved: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path} {status}"
        for path, method, operation in operations(resolved)
        for status, response in operation["responses"].items()
        if (str(status) != "204" and not all("schema" in media for media in response.get("content", {}).values()))
        or (str(status) != "204" and not response.get("content"))
    ]
    assert missing == []


def test_spec_embedded_examples_validate_against_their_schemas(resolved: dict[str, Any]) -> None:
    failures = []
    found = list(examples(resolved))
    assert len(found) >= 10
    for where, schema, value in found:
        validator = OAS30Validator(
            {**schema, "components": resolved.get("components", {})}, format_checker=oas30_format_checker
        )
        failures += [f"{where}: {error.message}" for error in validator.iter_errors(value)]
    assert failures == []


def test_impilo_create_webhook_describes_callbacks_for_the_three_event_types() -> None:
    operation = specs.bundle("impilo")["paths"]["/webhook"]["post"]
    text = repr(operation["callbacks"])
    for event in ("patient.created", "patient.updated", "order.status"):
        assert event in text


def test_legit_health_get_patients_takes_the_php_style_array_query() -> None:
    operation = specs.bundle("legit_health")["paths"]["/patients"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert "externalIds[]" in names
