"""A fourth vendor is its spec, its package, its schemathesis.toml project and its tests, nothing else.

Acme (`tests/vendors/fictional/`: `acme.yaml` and the package `acme`) is added here only: its spec by
`specs.add_source`, its row by `create_app(vendors=(*VENDORS, ACME))`, its contract project by the config this
test writes. The mock then serves it, checks its key, masks the key in the journal, words its errors in
Acme's shape and passes its contract, with no change anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import specs
from contracts.runner import CONFIG_FILE, load_config, run
from mocks import context_of, create_app
from mocks.config import from_env
from mocks.vendors import VENDORS
from tests.support.twin import Twin
from tests.vendors.fictional.acme import VENDOR as ACME

SPEC = Path(__file__).resolve().parent / "fictional" / "acme.yaml"
KEY = "mock-acme-api-key"
AUTH = {"X-Acme-Key": KEY}
ERROR_TYPE = "application/vnd.acme.error+json"
PROJECT = """
[[project]]
title = "Acme Widgets API"
headers = { "X-Acme-Key" = "${ACME_API_KEY}" }
"""


@pytest.fixture(scope="module", autouse=True)
def acme_spec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Acme's spec served and tested as one more API for this module's length; `specs` as it was after."""
    for api in specs.APIS:
        specs.load(api)  # cached before the build directory moves
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(specs, "_SOURCES", dict(specs._SOURCES))
        patch.setattr(specs, "APIS", specs.APIS)
        patch.setattr(specs, "BUILD_DIR", tmp_path_factory.mktemp("build"))  # its bundle kept out of build/
        patch.setenv("ACME_API_KEY", KEY)  # what the contract runner would set, removed after
        assert specs.add_source(SPEC) == "acme"
        yield


@pytest.fixture
def acme(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(vendors=(*VENDORS, ACME))


def widgets(path: str = "") -> str:
    return f"/acme/widgets-api/v1/widgets{path}"


def test_acme_is_served_with_its_seed_and_listed_when_its_row_is_given(acme: TestClient) -> None:
    assert [w["name"] for w in acme.get(widgets(), headers=AUTH).json()] == ["Sprocket", "Cog"]
    created = acme.post(widgets(), json={"name": "Gear", "size": 4}, headers=AUTH)
    assert created.status_code == 201 and created.json() == {"id": 3, "name": "Gear", "size": 4}
    assert acme.get(widgets("/3"), headers=AUTH).json() == {"id": 3, "name": "Gear", "size": 4}
    listed = {api["slug"]: api for api in acme.get("/apis.json").json()}
    assert listed["acme"] == {
        "slug": "acme",
        "title": "Acme Widgets API",
        "baseUrl": "http://localhost/acme/widgets-api/v1",
        "specUrl": "http://localhost/acme/widgets-api/v1/openapi.json",
        "docsUrl": "http://localhost/acme/widgets-api/v1/ui/",
    }
    assert set(listed) == {"acme", *(vendor.slug for vendor in VENDORS)}
    assert f"X-Acme-Key: {KEY}" in acme.get("/").text
    assert acme.get("/impilo/api/v3/patient/1234", headers={"Impilo-API-Key": "mock-impilo-api-key"}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({}, "No authorization token provided", id="missing-key"),
        pytest.param({"X-Acme-Key": "wrong"}, "X-Acme-Key is not a key of this account", id="wrong-key"),
    ],
)
def test_acme_refuses_401_in_its_own_shape_when_the_key_is_missing_or_wrong(
    acme: TestClient, headers: dict[str, str], reason: str
) -> None:
    response = acme.get(widgets("/1"), headers=headers)
    assert response.status_code == 401 and response.headers["content-type"] == ERROR_TYPE
    assert response.json() == {"code": "UNAUTHORIZED", "reason": reason}


def test_acme_key_is_masked_in_the_journal_when_it_was_sent(acme: TestClient) -> None:
    acme.get(widgets("/1"), headers=AUTH)
    acme.post(widgets(), json={"name": "Gear"}, headers=AUTH)
    journal = acme.get("/__mock/requests", params={"api": "acme"})
    assert [e["headers"]["x-acme-key"] for e in journal.json()] == ["***", "***"]
    assert KEY not in journal.text


@pytest.mark.parametrize(
    ("method", "path", "sent", "status", "expected"),
    [
        pytest.param("GET", "/999", {}, 404, {"code": "NOT_FOUND", "reason": "No widget 999"}, id="404-unknown-widget"),
        pytest.param(
            "POST", "", {"json": {"name": "", "size": 11}}, 422,
            {"code": "VALIDATION", "problems": [{"at": "body.name"}, {"at": "body.size"}]},
            id="422-invalid-body",
        ),
        pytest.param(
            "POST", "", {"content": b"{", "headers": {"Content-Type": "application/json"}}, 422,
            {"code": "VALIDATION", "problems": [{"at": "body"}]}, id="422-malformed-json",
        ),
        pytest.param("GET", "/1", {"headers": {"Host": "attacker.example"}}, 400, {"code": "BAD_REQUEST"},
                     id="400-foreign-host"),
        pytest.param("GET", "/1?__code=404", {}, 404, {"code": "NOT_FOUND", "reason": "Not Found (forced by Prefer "
                     "code=404)"}, id="404-forced"),
        pytest.param("GET", "?limit=0", {}, 422, {"code": "VALIDATION", "problems": [{"at": "query.limit"}]},
                     id="422-query-out-of-range"),
        pytest.param("DELETE", "/1", {}, 405, {"code": "METHOD_NOT_ALLOWED"}, id="405-method"),
        pytest.param("GET", "/1/parts", {}, 404, {"code": "NOT_FOUND"}, id="404-no-such-path"),
    ],
)  # fmt: skip
def test_acme_errors_are_in_its_own_shape_when_a_request_is_refused(
    acme: TestClient, method: str, path: str, sent: dict[str, Any], status: int, expected: dict[str, Any]
) -> None:
    headers = {**AUTH, **sent.pop("headers", {})}
    response = acme.request(method, widgets(path), headers=headers, **sent)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == ERROR_TYPE
    body = response.json()
    assert set(body) <= {"code", "reason", "problems"} and body["reason"]
    problems = expected.pop("problems", None)
    assert {k: body[k] for k in expected} == expected
    if problems is not None:
        assert [{"at": p["at"]} for p in body["problems"]] == problems and all(p["why"] for p in body["problems"])


def test_acme_settings_and_conditions_are_read_from_its_variables_when_they_are_set() -> None:
    config = from_env(environ={"ACME_API_KEY": "own-key", "ACME_LATENCY": "5"}, vendors=(*VENDORS, ACME))
    assert config.credentials_for("acme") == {"api_key": "own-key"}
    assert config.conditions_for("acme").latency_ms == (5, 5)
    client = TestClient(create_app(config=config, vendors=(*VENDORS, ACME)), base_url="http://localhost")
    with client:
        assert client.get(widgets("/1"), headers={"X-Acme-Key": "own-key"}).status_code == 200
        assert client.get(widgets("/1"), headers=AUTH).status_code == 401


def test_acme_passes_every_schemathesis_phase_and_check_on_both_request_paths() -> None:
    fast = create_app(vendors=(*VENDORS, ACME))
    twin = Twin(fast, create_app(vendors=(*VENDORS, ACME), fast_path=False))
    outcome = run("acme", app=twin, config=load_config(text=CONFIG_FILE.read_text() + PROJECT))
    report = "\n".join(f"{f.operation} [{f.check}] {f.title}: {f.message}\n  {f.curl}" for f in outcome.failures)
    assert outcome.failures == [], report
    assert outcome.errors == []
    assert outcome.operations == {"POST /widgets", "GET /widgets", "GET /widgets/{widgetId}"}
    assert outcome.cases > 20 * len(outcome.operations)
    assert outcome.successes > 0 and outcome.unauthorized < outcome.responses
    differences = "\n".join(f"{m.request}\n  fast: {m.first}\n  Connexion: {m.second}" for m in twin.mismatches[:5])
    assert twin.mismatches == [], f"{len(twin.mismatches)} of {twin.compared} answers differ:\n{differences}"
    assert context_of(fast).dispatch.served > 0  # the compiled plans served Acme too
