"""`SchemaFaker`: deterministic, synthetic, schema-valid fake data for the resources the mock creates."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

import specs
from mocks.state.fakedata import Draws, SchemaFaker

# (api, schema, key template, given): every fill the handlers and the seed code make.
FILLS = [
    pytest.param(
        "impilo", "Patient", "impilo.patient.{}", {"firstName": "Emily", "lastName": "Clark"}, id="impilo-patient"
    ),
    pytest.param("impilo", "Site", "impilo.site.{}", {"name": "North Clinic"}, id="impilo-site"),
    pytest.param("impilo", "Item", "impilo.item.{}.rest", {"id": 1000, "name": "BP Cuff"}, id="impilo-item"),
    pytest.param("heidi", "PatientProfile", "heidi.profile.{}", {"id": "a" * 24, "source": "EHR"}, id="heidi-profile"),
    pytest.param("heidi", "Session", "heidi.session.{}", {"session_id": "1"}, id="heidi-session"),
    pytest.param("legit_health", "Patient", "patient:{}", {"externalId": "x1", "gender": "other"}, id="legit-patient"),
]
PHONE = re.compile(r"^\+1-\d{3}-555-01\d{2}$")
EMAIL = re.compile(r"^[^@\s]+@example\.(com|org)$")


def schema(api: str, name: str) -> dict[str, Any]:
    return specs.load(api)["components"]["schemas"][name]  # type: ignore[no-any-return]


def leaves(value: Any, name: str = "") -> list[tuple[str, Any]]:
    """(property name, value) of every scalar inside a filled record."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in leaves(item, key)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item, name)]
    return [(name, value)]


@pytest.mark.parametrize(("api", "name", "key", "given"), FILLS)
def test_fill_is_schema_valid_for_every_created_resource(api: str, name: str, key: str, given: dict[str, Any]) -> None:
    validator = OAS30Validator(schema(api, name), format_checker=oas30_format_checker)
    faker = SchemaFaker(0)
    for number in range(50):
        record = faker.fill(schema(api, name), key.format(number), given)
        # fake data leaves ids, references and patterned values to handlers, so `required` may be unmet
        errors = [e.message for e in validator.iter_errors(record) if e.validator != "required"]
        assert errors == [], record


@pytest.mark.parametrize(("api", "name", "key", "given"), FILLS)
def test_fill_is_the_same_for_the_same_seed_and_key_in_any_order(
    api: str, name: str, key: str, given: dict[str, Any]
) -> None:
    keys = [key.format(number) for number in range(5)]
    forwards = [SchemaFaker(7).fill(schema(api, name), k, given) for k in keys]
    faker = SchemaFaker(7)
    backwards = [faker.fill(schema(api, name), k, given) for k in reversed(keys)]
    assert forwards == backwards[::-1]
    assert forwards[0] != forwards[1]


def test_fill_differs_when_the_seed_differs() -> None:
    patient = schema("impilo", "Patient")
    assert SchemaFaker(0).fill(patient, "impilo.patient.1") != SchemaFaker(1).fill(patient, "impilo.patient.1")


def test_fill_is_the_same_in_another_process_whatever_it_filled_before() -> None:
    """Worker processes sharing one state must make the same record for the same key."""
    script = (
        "import json, specs; from mocks.state.fakedata import SchemaFaker\n"
        "s = lambda api, name: specs.load(api)['components']['schemas'][name]\n"
        "faker = SchemaFaker(3)\n"
        "faker.fill(s('heidi', 'Session'), 'warm-up')\n"  # makes the value pools in another order
        "print(json.dumps(faker.fill(s('impilo', 'Patient'), 'impilo.patient.9', {'firstName': 'Ann'})))\n"
    )
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    here = SchemaFaker(3).fill(schema("impilo", "Patient"), "impilo.patient.9", {"firstName": "Ann"})
    assert json.loads(other.stdout) == here


def test_fill_keeps_given_values_and_they_do_not_change_the_others() -> None:
    patient = schema("impilo", "Patient")
    bare = SchemaFaker(0).fill(patient, "impilo.patient.5")
    given = {"firstName": "Emily", "lastName": "Clark", "email": None, "unknown": 1}
    filled = SchemaFaker(0).fill(patient, "impilo.patient.5", given)
    assert {k: filled[k] for k in given} == given
    assert {k: v for k, v in filled.items() if k not in given} == {k: v for k, v in bare.items() if k not in given}


def test_fill_leaves_ids_references_and_patterned_values_to_handlers() -> None:
    record = SchemaFaker(0).fill(schema("impilo", "Patient"), "impilo.patient.1")
    assert "id" not in record and "site" not in record  # `site` is a reference (it has an `id`)
    profile = SchemaFaker(0).fill(schema("heidi", "PatientProfile"), "heidi.profile.1")
    assert {"id", "created_at", "updated_at"}.isdisjoint(profile)  # patterned


def test_fill_makes_only_synthetic_emails_and_phone_numbers() -> None:
    faker = SchemaFaker(0)
    found = [
        leaf
        for api, name in [("impilo", "Patient"), ("impilo", "Site"), ("heidi", "PatientProfile")]
        for number in range(100)
        for leaf in leaves(faker.fill(schema(api, name), f"{name}.{number}"))
    ]
    emails = [value for field, value in found if "mail" in field.lower()]
    phones = [value for field, value in found if "phone" in field.lower()]
    assert len(emails) >= 200 and all(EMAIL.match(email) for email in emails)
    assert len(phones) >= 300 and all(PHONE.match(phone) for phone in phones)


def test_fill_respects_enums_bounds_and_lengths() -> None:
    shape = {
        "type": "object",
        "properties": {
            "sex": {"type": "string", "enum": ["female", "male", None]},
            "count": {"type": "integer", "minimum": 3, "maximum": 5},
            "score": {"type": "number", "minimum": 10, "maximum": 10},
            "city": {"type": "string", "maxLength": 3},
            "tags": {"type": "array", "minItems": 2, "items": {"type": "string"}},
            "nested": {
                "allOf": [{"properties": {"lastName": {"type": "string"}}}, {"properties": {"ok": {"type": "boolean"}}}]
            },
        },
    }
    faker = SchemaFaker(0)
    records = [faker.fill(shape, f"shape.{number}") for number in range(200)]
    assert {r["sex"] for r in records} == {"female", "male"}
    assert {r["count"] for r in records} == {3, 4, 5}
    assert {r["score"] for r in records} == {10.0}
    assert all(len(r["city"]) <= 3 and len(r["tags"]) == 2 for r in records)
    assert all(set(r["nested"]) == {"lastName", "ok"} for r in records)
    assert len({r["nested"]["lastName"] for r in records}) > 50  # Faker's names, with variety


def test_fill_recompiles_when_given_another_schema_object() -> None:
    faker = SchemaFaker(0)
    assert set(faker.fill({"properties": {"city": {"type": "string"}}}, "k")) == {"city"}
    assert set(faker.fill({"properties": {"email": {"type": "string"}}}, "k")) == {"email"}


def test_value_without_key_follows_the_reseeded_faker() -> None:
    """`mocks.dx.sample` reseeds, then asks for several values in turn: same key, same values."""
    faker = SchemaFaker(0)

    def sample(key: str) -> list[Any]:
        faker.reseed(key)
        return [faker.value({"type": "string"}, "email"), faker.value({"type": "string"}, "city")]

    first = sample("op:200")
    assert sample("other") != first
    assert sample("op:200") == first
    assert faker.value({"type": "string", "format": "uuid"}, key="k") == faker.value({"format": "uuid"}, key="k")


def test_draws_below_covers_the_range_and_never_leaves_it() -> None:
    draws = Draws(b"seed")
    small = [draws.below(3) for _ in range(300)]
    huge = [draws.below(1 << 128) for _ in range(20)]
    assert set(small) == {0, 1, 2}
    assert all(0 <= n < 1 << 128 for n in huge) and len(set(huge)) == 20
