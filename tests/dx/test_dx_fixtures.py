"""State fixtures (mocks/dx/fixtures.py): a file of records per API loaded at start or at run time, checked
whole before anything is written, and exported from a running mock in the same format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from mocks.__main__ import main
from mocks.app import context_of
from mocks.dx import fixtures
from mocks.dx.fixtures import Kind
from mocks.state.store import MemoryStore
from tests.support.helpers import IMPILO_KEY, LEGIT_AUTH, base, free_port, heidi_token, on_each_store, state

WORLD = Path(__file__).parents[1] / "data" / "fixtures" / "world.yaml"
ADA_LH = "11111111-1111-4111-8111-111111111111"


def loaded(client: TestClient, document: Any) -> dict[str, Any]:
    response = client.post("/__mock/fixtures", json=document)
    assert response.status_code == 200, response.text
    return response.json()["loaded"]  # type: ignore[no-any-return]


def world() -> dict[str, Any]:
    return yaml.safe_load(WORLD.read_text())  # type: ignore[no-any-return]


@on_each_store
def test_fixture_records_are_served_by_each_api_when_the_world_file_is_loaded(client: TestClient) -> None:
    assert loaded(client, world()) == {
        "impilo": {"sites": 1, "patients": 2, "orders": 1, "devices": 1},
        "heidi": {"profiles": 1, "sessions": 1},
        "legit_health": {"practitioners": 1, "patients": 1, "conditions": 1, "episodesOfCare": 1},
    }
    patient = client.get(f"{base('impilo')}/patient/5000", headers=IMPILO_KEY).json()
    assert (patient["firstName"], patient["site"]["name"]) == ("Ada", "Test Clinic")
    order = client.get(f"{base('impilo')}/order/900", headers=IMPILO_KEY).json()
    assert order["currentStatus"] == "shipped"
    assert [e["name"] for e in order["orderEvents"]] == ["pending", "processing", "packed", "shipped"]
    assert order["patient"]["id"] == 5000
    session = client.get(f"{base('heidi')}/sessions/7000000001", headers=heidi_token(client)).json()["session"]
    assert session["session_name"] == "Intake"
    lh = client.get(f"{base('legit_health')}/patients/{ADA_LH}", headers=LEGIT_AUTH).json()
    assert [(c["pathologyCode"], c["status"]) for c in lh["conditions"]] == [("EA90.1", "active")]
    practitioner = client.get(f"{base('legit_health')}/practitioners/{lh['practitionerId']}", headers=LEGIT_AUTH)
    assert practitioner.json()["lastName"] == "Somerville"


def test_missing_fields_are_the_seeds_fake_data_and_given_ids_are_kept_when_a_record_is_sparse(
    make_client: Callable[..., TestClient],
) -> None:
    first, second = make_client(), make_client()
    for client in (first, second):
        loaded(client, world())
    patients = [c.get(f"{base('impilo')}/patient/5000", headers=IMPILO_KEY).json() for c in (first, second)]
    assert patients[0] == patients[1]  # the same seed fills the same values
    assert patients[0]["email"].endswith(("@example.com", "@example.org"))
    grace = [p for p in state(first, "impilo")["patients"] if p["firstName"] == "Grace"]
    assert len(grace) == 1 and grace[0]["id"] == 5001  # allocated after the largest id given


def test_a_bad_file_is_refused_whole_listing_every_problem_when_records_break_schema_references_and_rules(
    client: TestClient,
) -> None:
    before = state(client)
    bad = {
        "impilo": {
            "patients": [{"id": 5000, "firstName": 12, "lastName": "L", "siteId": 99999}, {"id": 5000}],
            "orders": [{"id": 900, "orderItems": [{"itemId": 1000, "count": 1}], "patientId": None, "siteId": None}],
            "nothing": [],
        },
        "heidi": {"sessions": [{"session_id": "1", "patient_profile_id": "5eb7cf5a86d9755df3a6c000"}]},
        "legit_health": {"conditions": [{"patientId": ADA_LH, "pathologyCode": "EA90.1", "bodySite": "armLeft"}]},
        "stripe": {},
        "impilo-typo": [],
    }
    response = client.post("/__mock/fixtures", json=bad)
    assert response.status_code == 422
    problems = {
        (p["api"], p["collection"], p["record"], p["field"]): p["expected"] for p in response.json()["problems"]
    }
    assert set(problems) == {
        ("impilo", "patients", "[0] (id 5000)", "firstName"),
        ("impilo", "patients", "[0] (id 5000)", "siteId"),
        ("impilo", "patients", "[1] (id 5000)", "id"),
        ("impilo", "orders", "[0] (id 900)", "patientId"),
        ("impilo", "nothing", "", ""),
        ("heidi", "sessions", "[0] (session_id '1')", "patient_profile_id"),
        ("legit_health", "conditions", "[0]", "patientId"),
        ("stripe", "", "", ""),
        ("impilo-typo", "", "", ""),
    }
    assert "12 is not of type 'string'" in problems["impilo", "patients", "[0] (id 5000)", "firstName"]
    assert "impilo.sites" in problems["impilo", "patients", "[0] (id 5000)", "siteId"]
    assert "a patientId or a siteId" in problems["impilo", "orders", "[0] (id 900)", "patientId"]
    assert "one of sites, patients" in problems["impilo", "nothing", "", ""]
    assert state(client) == before


def test_a_condition_marked_active_without_an_active_episode_is_refused_when_the_vendor_rule_says_paused(
    client: TestClient,
) -> None:
    document = world()
    document["legit_health"].pop("episodesOfCare")
    response = client.post("/__mock/fixtures", json=document)
    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert (problem["collection"], problem["field"]) == ("conditions", "status")
    assert problem["expected"].startswith("'paused': none of its episodesOfCare is active")


def test_exported_state_loads_into_a_fresh_mock_as_the_same_state_when_replayed(
    make_client: Callable[..., TestClient],
) -> None:
    first = make_client()
    created = first.post(
        f"{base('impilo')}/patient", json={"firstName": "Round", "lastName": "Trip"}, headers=IMPILO_KEY
    )
    assert created.status_code == 201
    jane = "5eb7cf5a86d9755df3a6c594"  # a seeded profile, deleted: the replay must not bring it back
    deleted = first.request(
        "DELETE", f"{base('heidi')}/patient-profiles:batch-delete", json={"patient_profile_ids": [jane]},
        headers=heidi_token(first),
    )  # fmt: skip
    assert deleted.status_code == 200
    exported = first.get("/__mock/fixtures").json()
    second = make_client(seed=7)  # another seed's world, replaced by the export
    loaded(second, exported)
    assert second.get("/__mock/fixtures").json() == exported
    patient = second.get(f"{base('impilo')}/patient/{created.json()['id']}", headers=IMPILO_KEY).json()
    assert (patient["firstName"], patient["lastName"]) == ("Round", "Trip")
    assert second.get(f"{base('heidi')}/patient-profiles/{jane}", headers=heidi_token(second)).status_code == 404


def test_the_fixtures_file_is_loaded_at_start_and_again_after_a_reset_when_fixtures_is_set(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(fixtures=str(WORLD))
    assert client.get(f"{base('impilo')}/patient/5000", headers=IMPILO_KEY).status_code == 200
    client.patch(f"{base('impilo')}/patient/5000", json={"firstName": "Changed"}, headers=IMPILO_KEY)
    assert client.post("/__mock/reset").status_code == 200
    assert client.get(f"{base('impilo')}/patient/5000", headers=IMPILO_KEY).json()["firstName"] == "Ada"


def test_python_m_mocks_exits_2_listing_the_problems_when_the_fixtures_flag_names_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"impilo": {"patients": [{"id": 1, "siteId": 424242}]}}))
    assert main(["--port", str(free_port()), "--fixtures", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: fixtures not loaded (1 problem):")
    assert f"{bad}: impilo.patients[0] (id 1): field siteId: the id of a record in impilo.sites" in err


def test_a_reset_answers_with_the_seed_state_and_logs_why_when_the_fixtures_file_went_bad_since_start(
    make_client: Callable[..., TestClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    edited = tmp_path / "world.yaml"
    edited.write_text(WORLD.read_text())
    client = make_client(fixtures=str(edited))
    edited.write_text("impilo: {patients: [{id: 5000, siteId: 424242}]}")
    assert client.post("/__mock/reset").status_code == 200
    assert client.get(f"{base('impilo')}/patient/5000", headers=IMPILO_KEY).status_code == 404
    assert "FIXTURES not reloaded after the reset" in caplog.text and "siteId" in caplog.text


class Toys:
    """A vendor the loader has never seen: two collections and a `fixtures()` hook, nothing else."""

    def __init__(self, store: MemoryStore) -> None:
        self.owners = store.collection("toys", "owners", id_kind="uuid")
        self.things = store.collection("toys", "things")

    def fixtures(self) -> list[Kind]:
        size = {"type": "object", "required": ["size"], "properties": {"size": {"type": "integer", "minimum": 1}}}
        return [
            Kind("owners", self.owners, lambda given: {"name": "anon", **given}),
            Kind("things", self.things, lambda given: {"size": 1, **given}, size, references={"ownerId": "owners"}),
        ]


def test_a_new_vendor_plugs_into_the_loader_with_only_its_fixtures_hook_when_given_records() -> None:
    store = MemoryStore(0)
    context: Any = SimpleNamespace(services={"toys": Toys(store)}, store=store)
    owner = "00000000-0000-4000-8000-000000000001"
    document = {"toys": {"owners": [{"id": owner}], "things": [{"ownerId": owner}, {"id": 7, "size": 3}]}}
    assert fixtures.load(context, document) == {"toys": {"owners": 1, "things": 2}}
    assert fixtures.export(context) == {
        "replace": True,
        "toys": {"owners": [{"id": owner, "name": "anon"}], "things": [{"id": 1, "size": 1, "ownerId": owner},
                                                                      {"id": 7, "size": 3}]},
    }  # fmt: skip
    before = fixtures.export(context)
    bad = {"toys": {"things": [{"size": 0, "ownerId": "nobody"}]}}
    with pytest.raises(fixtures.FixtureError) as refused:
        fixtures.load(context, bad, "toys.yaml")
    assert [str(problem) for problem in refused.value.problems] == [
        "toys.yaml: toys.things[0]: field size: 0 is less than the minimum of 1 (the spec's schema)",
        "toys.yaml: toys.things[0]: field ownerId: the id of a record in toys.owners; there is none with id "
        "'nobody' (in the file or the mock)",
    ]
    assert fixtures.export(context) == before


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"{not json", "JSON (", id="not-json"),
        pytest.param(b"[]", "a mapping of API name to collections", id="not-a-mapping"),
        pytest.param(b'{"impilo": {"patients": {"id": 1}}}', "a list of records, got dict", id="section-not-a-list"),
        pytest.param(
            b'{"impilo": {"patients": [7]}}', "a record (a mapping of field to value), got 7", id="not-a-record"
        ),
    ],
)
def test_a_document_that_is_not_a_fixture_is_refused_saying_what_was_expected_when_posted(
    client: TestClient, body: bytes, expected: str
) -> None:
    response = client.post("/__mock/fixtures", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert expected in response.json()["problems"][0]["expected"]


def test_a_fixture_file_that_is_not_yaml_is_refused_naming_the_file_when_loaded_at_start(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("impilo: [unclosed\n")
    with pytest.raises(fixtures.FixtureError, match=r"broken.yaml: YAML or JSON \("):
        make_client(fixtures=str(broken))


def test_impilo_records_given_as_the_api_answers_them_are_stored_by_reference_when_loaded(client: TestClient) -> None:
    order = client.get(f"{base('impilo')}/order/3", headers=IMPILO_KEY).json()  # patient, site, items expanded
    patient = client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY).json()
    answered = {**order, "id": 9001, "currentStatus": "delivered"}
    loaded(
        client,
        {"impilo": {"orders": [answered], "patients": [{**patient, "id": 9002, "externalIdentifier": "copy-9002"}]}},
    )
    again = client.get(f"{base('impilo')}/order/9001", headers=IMPILO_KEY).json()
    assert {k: v for k, v in again.items() if k not in ("id", "currentStatus")} == {
        k: v for k, v in order.items() if k not in ("id", "currentStatus")
    }
    copy = client.get(f"{base('impilo')}/patient/9002", headers=IMPILO_KEY).json()
    assert copy.get("site") == patient.get("site")


def test_order_lines_that_name_nothing_are_refused_when_a_line_lacks_its_item(client: TestClient) -> None:
    document = {"impilo": {"orders": [{"id": 9003, "siteId": 1234, "orderItems": [{"count": 1}], "orderKits": []}]}}
    response = client.post("/__mock/fixtures", json=document)
    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert (problem["field"], problem["expected"]) == (
        "orderItems.0",
        "a line {itemId: <id>, count: <number>}, got {'count': 1}",
    )


def test_legit_health_patients_given_with_their_conditions_store_each_condition_apart_when_loaded(
    client: TestClient,
) -> None:
    document = {
        "legit_health": {
            "patients": [
                {"externalId": "nest-1", "email": "nest.one@example.com",
                 "conditions": [{"pathologyCode": "ED80.Z", "bodySite": "headFront"}]},
                {"externalId": "nest-2", "conditions": [{"pathologyCode": "EA90", "bodySite": "armLeft",
                                                          "status": "active"}]},
            ]
        }
    }  # fmt: skip
    response = client.post("/__mock/fixtures", json=document)
    assert response.status_code == 422  # the second: active without an active episode of care
    [problem] = response.json()["problems"]
    assert (problem["collection"], problem["field"]) == ("conditions", "status")
    assert problem["record"] == " (in patients[1].conditions[0])"
    document["legit_health"]["patients"].pop()
    assert loaded(client, document) == {"legit_health": {"patients": 1, "conditions": 1}}
    [patient] = client.get(f"{base('legit_health')}/patients", params={"externalIds[]": "nest-1"},
                           headers=LEGIT_AUTH).json()  # fmt: skip
    assert [(c["pathologyCode"], c["bodySite"], c["status"]) for c in patient["conditions"]] == [
        ("ED80.Z", "headFront", "paused")
    ]


def test_records_given_nested_follow_their_parent_when_its_id_is_drawn_otherwise_at_write_time(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    patients = context_of(client.app).services["legit_health"].records.patients
    drawn = "99999999-9999-4999-8999-999999999999"  # as if another worker had drawn ids in between
    monkeypatch.setattr(patients, "new_id", lambda: drawn)
    document = {
        "legit_health": {
            "patients": [
                {
                    "externalId": "moved-1",
                    "email": "moved@example.com",
                    "conditions": [{"pathologyCode": "EA90", "bodySite": "armLeft"}],
                }
            ]
        }
    }
    loaded(client, document)
    patient = client.get(f"{base('legit_health')}/patients/{drawn}", headers=LEGIT_AUTH).json()
    assert (patient["externalId"], [c["pathologyCode"] for c in patient["conditions"]]) == ("moved-1", ["EA90"])
