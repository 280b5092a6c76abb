"""Scenario control: `Prefer` / `__*` forced responses, delays, simulated latency and injected errors."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from starlette.testclient import TestClient

import specs
from mocks import create_app
from mocks.config import Conditions, MockConfig
from mocks.dx.forced import Operation, build, operations_of
from mocks.dx.scenario import Simulator
from mocks.state.fakedata import SchemaFaker
from mocks.vendors.heidi import VENDOR as HEIDI
from tests.support.helpers import HEIDI_KEY, IMPILO_KEY, LEGIT_AUTH, base, heidi_token, state

OPERATIONS = operations_of({api: specs.load(api) for api in specs.APIS})


@pytest.fixture(scope="module")
def shared() -> Iterator[TestClient]:
    """One app for the tests that only read (a forced response changes nothing, which one test checks)."""
    with TestClient(create_app(seed=0), base_url="http://localhost", raise_server_exceptions=False) as client:
        yield client


def auth_for(client: TestClient, api: str) -> dict[str, str]:
    """Credentials that pass every operation of `api` (Heidi: the key for /jwt, a JWT for the rest)."""
    return {"impilo": IMPILO_KEY, "legit_health": LEGIT_AUTH}.get(api) or {**HEIDI_KEY, **heidi_token(client)}


def url_of(operation: Operation) -> str:
    return base(operation.api) + re.sub(r"\{[^}]+\}", "1", operation.path)


def call(client: TestClient, operation: Operation, headers: dict[str, str], query: str = "") -> Any:
    return client.request(operation.method.upper(), url_of(operation) + query, headers=headers)


def schema_errors(operation: Operation, status: int, response: Any) -> list[str]:
    documented = operation.responses[str(status)].get("content") or {}
    if not documented:
        return [] if response.content == b"" else [f"{operation.label} {status}: body where none is documented"]
    media_type = response.headers["content-type"].split(";")[0]
    if media_type not in documented:
        return [f"{operation.label} {status}: content type {media_type} not in {sorted(documented)}"]
    validator = OAS30Validator(documented[media_type]["schema"])
    return [f"{operation.label} {status}: {e.message}" for e in validator.iter_errors(response.json())]


@pytest.mark.parametrize(
    ("api", "url", "error_shape"),
    [
        pytest.param("impilo", "/patient/1234", {"status", "error", "message", "path"}, id="impilo-spring-error"),
        pytest.param("heidi", "/sessions/1234567890", {"detail"}, id="heidi-fastapi-detail"),
        pytest.param(
            "legit_health",
            "/patients/00000000-0000-4000-8000-000000000000",
            {"type", "title", "status", "detail"},
            id="legit-7807",
        ),
    ],
)
def test_prefer_code_answers_that_status_in_the_vendors_shape_when_documented(
    shared: TestClient, api: str, url: str, error_shape: set[str]
) -> None:
    response = shared.get(base(api) + url, headers={**auth_for(shared, api), "Prefer": "code=404"})
    assert response.status_code == 404
    assert error_shape <= set(response.json())
    assert "forced" in response.text


@pytest.mark.parametrize("api", specs.APIS)
def test_forced_response_matches_the_spec_when_any_documented_status_is_forced(shared: TestClient, api: str) -> None:
    auth, problems, forced = auth_for(shared, api), [], 0
    for operation in (op for op in OPERATIONS.values() if op.api == api):
        for status in operation.statuses():
            response = call(shared, operation, {**auth, "Prefer": f"code={status}"})
            forced += 1
            if response.status_code != status:
                problems.append(f"{operation.label}: asked {status}, got {response.status_code} {response.text}")
            else:
                problems += schema_errors(operation, status, response)
    assert problems == []
    assert forced > 20


@pytest.mark.parametrize("api", specs.APIS)
def test_prefer_example_returns_that_named_example_when_the_operation_documents_it(
    shared: TestClient, api: str
) -> None:
    auth, mismatches, seen = auth_for(shared, api), [], 0
    for operation in (op for op in OPERATIONS.values() if op.api == api):
        for status in operation.statuses():
            for name, value in operation.examples(status).items():
                response = call(shared, operation, auth, query=f"?__example={name}&__code={status}")
                seen += 1
                if (response.status_code, response.json()) != (status, value):
                    mismatches.append(f"{operation.label} example {name}: got {response.status_code}")
    assert mismatches == []
    assert seen > 10


def test_prefer_example_alone_picks_the_status_that_documents_it_when_no_code_is_given(shared: TestClient) -> None:
    response = shared.get(
        f"{base('legit_health')}/patients?externalIds[]=x", headers={**LEGIT_AUTH, "Prefer": "example=noneFound"}
    )
    assert response.status_code == 200
    assert response.json() == OPERATIONS[("legit_health", "getPatients")].examples(200)["noneFound"]


@pytest.mark.parametrize(
    ("prefer", "listed"),
    [
        pytest.param("code=418", "choose one of 200, 400, 401, 404", id="undocumented-status-lists-statuses"),
        pytest.param(
            "example=nope",
            "choose one of validation (400), missingKey (401), notFound (404)",
            id="unknown-example-lists-examples",
        ),
        pytest.param("code=200, example=notFound", "with status 200; choose one of (none documented)", id="mismatch"),
    ],
)
def test_prefer_is_400_listing_the_valid_choices_when_it_asks_for_something_undocumented(
    shared: TestClient, prefer: str, listed: str
) -> None:
    response = shared.get(f"{base('impilo')}/patient/1234", headers={**IMPILO_KEY, "Prefer": prefer})
    assert response.status_code == 400
    assert listed in response.json()["message"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("__code=abc", "code='abc' is not an HTTP status; use e.g. code=404", id="code-not-a-number"),
        pytest.param("__delay=soon", "delay='soon' is not a delay in ms; use e.g. delay=200", id="delay-not-ms"),
        pytest.param("__delay=500-100", "the range is reversed", id="delay-reversed"),
        pytest.param("__delay=" + "9" * 5000, "delay='99999", id="delay-of-5000-digits"),
        pytest.param("__delay=\u0663", "is not a delay in ms", id="delay-in-arabic-indic-digits"),
    ],
)
def test_scenario_values_are_400_in_the_vendors_shape_when_malformed(
    shared: TestClient, query: str, message: str
) -> None:
    response = shared.get(f"{base('legit_health')}/patients?externalIds[]=a449666c710c&{query}", headers=LEGIT_AUTH)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]


CREATED = OPERATIONS[("impilo", "createPatient")].examples(201)["created"]  # the spec's one 201 example
FORCED_CONFLICT = {"status": 409, "error": "Conflict", "message": "Conflict (forced by Prefer code=409)"}


@pytest.mark.parametrize(
    ("headers", "status", "shown"),
    [
        pytest.param({"Prefer": "code=201"}, 201, CREATED, id="forced-success"),
        pytest.param({"Prefer": "code=409"}, 409, FORCED_CONFLICT, id="forced-conflict"),
        pytest.param({"Prefer": "example=created"}, 201, CREATED, id="forced-example"),
    ],
)
def test_forced_response_changes_no_state_when_a_create_is_forced(
    client: TestClient, headers: dict[str, str], status: int, shown: dict[str, Any]
) -> None:
    before = state(client)
    response = client.post(
        f"{base('impilo')}/patient", json={"firstName": "Ann", "lastName": "Forced"}, headers={**IMPILO_KEY, **headers}
    )
    assert response.status_code == status
    assert {name: response.json().get(name) for name in shown} == shown
    assert state(client) == before


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no-credentials"),
        pytest.param({"Impilo-API-Key": "wrong"}, 401, id="wrong-credentials"),
    ],
)
def test_forced_response_still_needs_credentials_when_they_are_missing_or_wrong(
    shared: TestClient, headers: dict[str, str], status: int
) -> None:
    response = shared.get(f"{base('impilo')}/patient/1234?__code=200", headers=headers)
    assert response.status_code == status


def test_query_fallbacks_pass_strict_validation_when_the_request_is_otherwise_normal(shared: TestClient) -> None:
    normal = shared.get(f"{base('impilo')}/patient?size=2&__delay=0", headers=IMPILO_KEY)
    assert normal.status_code == 200 and len(normal.json()["content"]) == 2
    unknown = shared.get(f"{base('impilo')}/patient?__other=1", headers=IMPILO_KEY)
    assert unknown.status_code == 400


def test_unknown_preferences_are_ignored_when_sent(shared: TestClient) -> None:
    response = shared.get(
        f"{base('impilo')}/patient/1234", headers={**IMPILO_KEY, "Prefer": "return=minimal, dynamic=true"}
    )
    assert response.status_code == 200 and response.json()["id"] == 1234


@pytest.mark.parametrize(
    ("ask", "at_least", "below"),
    [
        pytest.param({"Prefer": "delay=300"}, 0.3, 2.0, id="header-fixed"),
        pytest.param({"Prefer": "delay=250-300"}, 0.25, 2.0, id="header-range"),
        pytest.param({}, 0.0, 0.25, id="no-delay-by-default"),
    ],
)
def test_prefer_delay_slows_the_response_when_asked(
    shared: TestClient, ask: dict[str, str], at_least: float, below: float
) -> None:
    started = time.perf_counter()
    response = shared.get(f"{base('impilo')}/patient/1234", headers={**IMPILO_KEY, **ask})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert at_least <= elapsed < below


def test_latency_slows_only_the_configured_api_when_set_for_one_api(make_client: Callable[..., TestClient]) -> None:
    client = make_client(conditions={"impilo": Conditions(latency_ms=(300, 300))})

    def seconds(url: str, headers: dict[str, str]) -> float:
        started = time.perf_counter()
        assert client.get(url, headers=headers).status_code == 200
        return time.perf_counter() - started

    assert seconds(f"{base('impilo')}/patient/1234", IMPILO_KEY) >= 0.3
    assert seconds(f"{base('legit_health')}/patients?externalIds[]=a449666c710c", LEGIT_AUTH) < 0.25
    assert seconds("/healthz", {}) < 0.25


def test_error_rate_injects_only_the_documented_429_and_503_in_the_vendor_shape(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(conditions={api: Conditions(error_rate=1.0) for api in specs.APIS})
    before = state(client)
    answers = [client.post(f"{base('impilo')}/patient", json={"firstName": "A", "lastName": "B"}, headers=IMPILO_KEY)
               for _ in range(30)]  # fmt: skip
    assert {r.status_code for r in answers} == {429, 503}
    assert all(r.json()["status"] == r.status_code and r.json()["message"] for r in answers)
    assert all(int(r.headers["retry-after"]) >= 0 for r in answers if r.status_code == 429)
    assert state(client) == before  # an injected error changes nothing


def test_simulator_injects_only_the_documented_statuses_when_error_rate_is_set() -> None:
    simulator = Simulator(MockConfig(conditions={"impilo": Conditions(error_rate=0.5)}), ["impilo"])
    drawn = [simulator.injected_status("impilo", [429, 503]) for _ in range(400)]
    assert set(drawn) == {None, 429, 503}
    assert 120 < drawn.count(None) < 280
    assert {simulator.injected_status("impilo", []) for _ in range(20)} == {None}


@pytest.mark.parametrize(
    ("other_seed", "same"),
    [pytest.param(7, True, id="same-seed-replays"), pytest.param(8, False, id="other-seed-differs")],
)
def test_simulator_replays_delays_and_errors_when_the_seed_is_the_same(other_seed: int, same: bool) -> None:
    conditions = {"heidi": Conditions(latency_ms=(50, 300), error_rate=0.3)}

    def run(seed: int) -> list[Any]:
        simulator = Simulator(MockConfig(seed=seed, conditions=conditions), ["heidi"])
        return [(simulator.delay_seconds("heidi", None), simulator.injected_status("heidi", [503])) for _ in range(30)]

    assert (run(7) == run(other_seed)) is same


def test_forced_429_carries_retry_after_when_the_operation_documents_it() -> None:
    documented = {"description": "slow down", "content": {"application/json": {"schema": {}}}}
    operation = Operation("heidi", "get", "/things", "getThings", {"200": {"description": "ok"}, "429": documented})
    response = build(HEIDI, operation, 429, None, "/heidi/things", SchemaFaker(0), "injected by ERROR_RATE")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert b'"type": "TooManyRequestsError"' in response.body
