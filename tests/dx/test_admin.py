"""The mock's own routes (`/__mock/*`): always answerable as strict JSON, and no secrets in the clear."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from mocks.app import context_of
from mocks.dx import safejson
from tests.support.helpers import IMPILO_KEY, LEGIT_AUTH, base, heidi_token, state

ODD = "\ud800x"  # a lone UTF-16 surrogate: JSON text may carry it as an escape, UTF-8 cannot encode it
ADMIN_READS = ["/__mock/state", "/__mock/requests", "/__mock/outbox", "/__mock/summary", "/__mock/webhooks/attempts"]
# api -> (path, body holding ODD, credentials)
CREATES: dict[str, tuple[str, dict[str, Any], Callable[[TestClient], dict[str, str]]]] = {
    "impilo": (f"{base('impilo')}/patient", {"firstName": ODD, "lastName": "Odd"}, lambda c: IMPILO_KEY),
    "heidi": (f"{base('heidi')}/patient-profiles", {"first_name": ODD, "last_name": "Odd"}, heidi_token),
    "legit_health": (
        f"{base('legit_health')}/patients",
        {"externalId": "odd-1", "firstName": ODD, "lastName": "Odd", "email": "odd@example.com"},
        lambda c: LEGIT_AUTH,
    ),
}
# api -> (status of a create, status of a refused body): Heidi creates with 200 and refuses with 422
STATUSES = {"impilo": (201, 400), "heidi": (200, 422), "legit_health": (201, 400)}
# api -> (collection, string field) of a seeded record given a lone surrogate behind the API's back
ODD_FIELDS = {
    "impilo": ("patients", "firstName"),
    "heidi": ("profiles", "first_name"),
    "legit_health": ("patients", "firstName"),
}


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def strict(content: bytes) -> Any:
    """`content` read strictly: valid UTF-8, no NaN or Infinity (lone surrogates only as escapes)."""
    return json.loads(content.decode("utf-8"), parse_constant=_refuse)


def store_odd_records(client: TestClient) -> None:
    """A lone surrogate in one record of each API and in the outbox, as a state file written before the APIs
    refused them (or a hand-edited one) holds them: the API no longer takes them in (test below)."""
    context = context_of(client.app)  # type: ignore[arg-type]
    for api, (name, field) in ODD_FIELDS.items():
        collection = context.store.collection(api, name)
        record = collection.values()[0]
        collection.put(record["id"], {**record, field: ODD})
    context.outbox.record("legit_health", "email", "odd@example.com", ODD, ODD)


@pytest.mark.parametrize("api", list(CREATES))
def test_api_refuses_a_lone_surrogate_in_its_vendors_shape_and_stores_nothing(client: TestClient, api: str) -> None:
    path, body, credentials = CREATES[api]
    headers = {**credentials(client), "Content-Type": "application/json"}
    before = state(client, api)
    refused = client.post(path, content=json.dumps(body), headers=headers)  # ODD as the escape "\ud800x"
    assert refused.status_code == STATUSES[api][1], refused.text
    assert "surrogate" in refused.text
    assert state(client, api) == before


@pytest.mark.parametrize("api", list(CREATES))
def test_api_takes_a_paired_surrogate_escape_as_the_character_it_stands_for(client: TestClient, api: str) -> None:
    path, body, credentials = CREATES[api]
    paired = {name: "\U0001f600" if value == ODD else value for name, value in body.items()}
    headers = {**credentials(client), "Content-Type": "application/json"}
    created = client.post(path, content=json.dumps(paired), headers=headers)  # ensure_ascii: "\ud83d\ude00"
    assert created.status_code == STATUSES[api][0], created.text
    assert "\U0001f600" in json.dumps(created.json(), ensure_ascii=False)


@pytest.mark.parametrize("api", list(ODD_FIELDS))
def test_state_answers_strict_json_holding_the_value_when_a_record_has_a_lone_surrogate(
    client: TestClient, api: str
) -> None:
    store_odd_records(client)
    response = client.get("/__mock/state")
    assert response.status_code == 200, response.text
    records = [record for collection in strict(response.content)[api].values() for record in collection]
    assert any(ODD in record.values() for record in records)


@pytest.mark.parametrize("path", ADMIN_READS)
def test_admin_reads_answer_strict_json_when_records_hold_lone_surrogates(client: TestClient, path: str) -> None:
    store_odd_records(client)
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert strict(response.content) is not None


def test_state_shows_the_webhook_secret_masked_when_one_is_set(client: TestClient) -> None:
    set_secret = client.post(f"{base('impilo')}/webhook-secret", json={"secret": "hush-4711"}, headers=IMPILO_KEY)
    assert set_secret.status_code == 200
    response = client.get("/__mock/state")
    assert response.status_code == 200 and b"hush-4711" not in response.content
    assert response.json()["impilo"]["webhook_secret"] == [{"secret": "***"}]


def nested(depth: int, inner: Any) -> Any:
    for _ in range(depth):
        inner = [inner]
    return inner


@pytest.mark.parametrize(
    ("value", "read_back"),
    [
        pytest.param({"n": float("nan"), "s": ODD}, {"n": None, "s": ODD}, id="nan-beside-a-lone-surrogate"),
        pytest.param([float("inf"), 10**30], [None, 10**30], id="infinity-beside-a-long-integer"),
        pytest.param(nested(1000, 1), nested(safejson.MAX_DEPTH, safejson.TOO_DEEP), id="nested-1000-deep"),
    ],
)
def test_admin_json_writes_strict_json_when_a_value_has_no_exact_json_form(value: Any, read_back: Any) -> None:
    assert strict(safejson.dumps(value)) == read_back
