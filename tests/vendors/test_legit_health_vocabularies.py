"""Legit.Health's vocabularies: ICD-11 pathology codes and the SDKs' body sites, as specified, enforced and
seeded (a seeded condition's body site fits its pathology)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

import specs
from mocks.vendors.legit_health.seed import PATHOLOGIES
from tests.support.helpers import LEGIT_AUTH, base, state

B = base("legit_health")
SCHEMAS = specs.load("legit_health")["components"]["schemas"]
# Legit.Health's medical-device SDK, src/Arguments/Params/BodySiteCode.php, in its order
SDK_BODY_SITES = [
    "headFront", "headBack", "headTop", "headLeft", "headRight", "armLeft", "armRight", "trunkFront", "trunkBack",
    "legLeft", "legRight", "handLeft", "handRight", "footLeft", "footRight", "genital", "nails", "scalp", "earLeft",
    "earRight", "perioral", "tongue", "elbowLeft", "elbowRight", "upperArmLeft", "upperArmRight", "lowerArmLeft",
    "lowerArmRight", "kneeLeft", "kneeRight", "upperLegLeft", "upperLegRight", "lowerLegLeft", "lowerLegRight",
]  # fmt: skip


def create(client: TestClient, condition: dict[str, Any]) -> Any:
    body = {"externalId": "hrm-vocab", "email": "vocab@example.org", "conditions": [condition]}
    return client.post(f"{B}/patients", json=body, headers=LEGIT_AUTH)


def test_spec_body_sites_are_the_sdk_list_when_loaded() -> None:
    assert SCHEMAS["BodySite"]["enum"] == SDK_BODY_SITES


@pytest.mark.parametrize("code", ["EA90", "EA90.1", "EA90.40", "ED80.Z", "2F20.Z", "2C30", "1F28.1"])
def test_create_patient_accepts_the_condition_when_code_is_an_icd11_stem_code(client: TestClient, code: str) -> None:
    response = create(client, {"pathologyCode": code, "bodySite": "armLeft"})

    assert response.status_code == 201, response.text
    assert response.json()["conditions"][0]["pathologyCode"] == code


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        pytest.param({"pathologyCode": "psoriasis", "bodySite": "armLeft"}, "pathologyCode", id="a-name-not-a-code"),
        pytest.param({"pathologyCode": "L40.0", "bodySite": "armLeft"}, "pathologyCode", id="icd10-code"),
        pytest.param({"pathologyCode": "EA90.123", "bodySite": "armLeft"}, "pathologyCode", id="three-after-dot"),
        pytest.param({"pathologyCode": "ea90", "bodySite": "armLeft"}, "pathologyCode", id="lower-case"),
        pytest.param({"pathologyCode": "EA90", "bodySite": "HEAD_FRONT"}, "bodySite", id="old-sdk-spelling"),
        pytest.param({"pathologyCode": "EA90", "bodySite": "elbow"}, "bodySite", id="not-a-site"),
    ],
)
def test_create_patient_answers_400_naming_the_field_and_changes_nothing_when_vocabulary_is_wrong(
    client: TestClient, condition: dict[str, Any], field: str
) -> None:
    before = state(client, "legit_health")

    response = create(client, condition)

    assert response.status_code == 400, response.text
    assert [v["propertyPath"] for v in response.json()["violations"]] == [f"body.conditions.0.{field}"]
    assert state(client, "legit_health") == before


def test_seed_vocabulary_is_valid_for_the_spec_when_loaded() -> None:
    pattern = re.compile(SCHEMAS["PathologyCode"]["pattern"])
    for code, (title, sites) in PATHOLOGIES.items():
        assert pattern.match(code), code
        assert title and sites and set(sites) <= set(SDK_BODY_SITES), code


def test_seed_conditions_sit_where_their_pathology_is_seen_when_server_is_fresh(client: TestClient) -> None:
    conditions = state(client, "legit_health")["conditions"]

    assert len({c["pathologyCode"] for c in conditions}) >= 8  # the seed draws from the whole table
    for condition in conditions:
        assert condition["bodySite"] in PATHOLOGIES[condition["pathologyCode"]][1], condition
