"""The compiled dispatcher answers plain requests itself and leaves everything else to Connexion.

Equality of the two paths over thousands of generated requests is checked in
`tests/contracts/test_contract_in_process.py` (through `tests/support/twin.py`); here: which requests each path
takes, and the shared request gate.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from mocks import context_of, create_app
from mocks.http.compiled import JSONIFIER, dumps_bytes
from mocks.http.fast_path import FrontDoor
from mocks.http.validation import accepts, request_validator
from tests.support.helpers import HEIDI_KEY, IMPILO_KEY, LEGIT_AUTH, base, heidi_token

PATIENT = {"firstName": "Emily", "lastName": "Clark"}


def served(client: TestClient) -> int:
    return context_of(client.app).dispatch.served  # type: ignore[arg-type]


def test_the_benchmarked_requests_are_answered_by_the_compiled_plans(client: TestClient) -> None:
    impilo = base("impilo")
    created = client.post(f"{impilo}/patient", json=PATIENT, headers=IMPILO_KEY)
    fetched = client.get(f"{impilo}/patient/{created.json()['id']}", headers=IMPILO_KEY)
    page = client.get(f"{impilo}/patient", params={"page": 1, "size": 15}, headers=IMPILO_KEY)

    assert (created.status_code, fetched.status_code, page.status_code) == (201, 200, 200)
    assert fetched.json() == created.json()
    assert page.json()["total"] >= 1
    assert served(client) == 3
    assert created.headers["content-type"] == "application/json"
    assert int(created.headers["content-length"]) == len(created.content)
    assert created.headers["vary"] == "Origin"


def test_every_api_has_requests_answered_by_plans(client: TestClient) -> None:
    token = heidi_token(client)
    assert client.get(f"{base('heidi')}/patient-profiles", headers=token).status_code == 200
    assert (
        client.get(f"{base('legit_health')}/patients", params={"externalIds[]": "x"}, headers=LEGIT_AUTH).status_code
        == 200
    )
    assert served(client) == 3  # the JWT, the profiles and the patients


@pytest.mark.parametrize(
    ("method", "path", "extra"),
    [
        ("GET", "/patient/1234", {"headers": {**IMPILO_KEY, "Prefer": "code=404"}}),
        ("GET", "/patient/1234?__code=404", {"headers": IMPILO_KEY}),
        ("GET", "/patient/1234", {"headers": {**IMPILO_KEY, "Origin": "http://localhost:3000"}}),
        ("GET", "/patient/1234", {"headers": {"Impilo-API-Key": "wrong"}}),
        ("GET", "/patient/1234", {}),
        ("GET", "/patient/not-a-number", {"headers": IMPILO_KEY}),
        ("GET", "/patient?page=0", {"headers": IMPILO_KEY}),
        ("GET", "/patient?page=1&unknown=1", {"headers": IMPILO_KEY}),
        ("POST", "/patient", {"headers": IMPILO_KEY, "content": b"{not json", "ct": "application/json"}),
        ("POST", "/patient", {"headers": IMPILO_KEY, "content": b'{"firstName": 1}', "ct": "application/json"}),
        ("POST", "/patient", {"headers": IMPILO_KEY, "content": b'{"firstName": "A"}', "ct": "text/plain"}),
        ("DELETE", "/patient/1234", {"headers": IMPILO_KEY}),
    ],
)
def test_requests_a_plan_cannot_answer_alone_go_to_connexion(
    client: TestClient, method: str, path: str, extra: dict[str, object]
) -> None:
    headers = dict(extra.get("headers", {}))  # type: ignore[call-overload]
    if "ct" in extra:
        headers["Content-Type"] = str(extra["ct"])
    response = client.request(method, f"{base('impilo')}{path}", headers=headers, content=extra.get("content"))  # type: ignore[arg-type]
    assert served(client) == 0
    assert response.status_code != 200 or "Origin" in headers


@pytest.mark.parametrize(
    ("path", "planned"),
    [
        pytest.param("/patient/99999999", 1, id="unknown-id"),
        pytest.param("/patient/identifier/ab%0D%09c", 1, id="carriage-return-and-tab-in-the-path"),
        pytest.param("/patient/identifier/ab%0Ac", 0, id="line-feed-in-the-path-left-to-connexion"),
    ],
)
def test_a_handler_error_is_rendered_like_connexions(
    make_client: Callable[..., TestClient], path: str, planned: int
) -> None:
    fast, slow = make_client(), make_client(fast_path=False)
    answers = [c.get(f"{base('impilo')}{path}", headers=IMPILO_KEY) for c in (fast, slow)]

    assert served(fast) == planned and served(slow) == 0
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].headers == answers[1].headers
    assert {k: v for k, v in answers[0].json().items() if k != "timestamp"} == {
        k: v for k, v in answers[1].json().items() if k != "timestamp"
    }


def test_fast_path_off_and_access_log_on_leave_everything_to_connexion(make_client: Callable[..., TestClient]) -> None:
    for client in (make_client(fast_path=False), make_client(access_log=True)):
        assert client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY).status_code == 200
        assert served(client) == 0


def test_simulated_conditions_leave_that_api_to_connexion(make_client: Callable[..., TestClient]) -> None:
    from mocks.config import Conditions

    client = make_client(conditions={"impilo": Conditions(error_rate=0.000001)})
    assert client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY).status_code == 200
    assert client.get(f"{base('heidi')}/jwt", params={"email": "a@example.com", "third_party_internal_id": "x"},
                      headers=HEIDI_KEY).status_code == 200  # fmt: skip
    assert served(client) == 1  # Heidi's, not Impilo's


def test_the_journal_records_fast_answers_as_it_records_connexions(make_client: Callable[..., TestClient]) -> None:
    entries = []
    for client in (make_client(), make_client(fast_path=False)):
        client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY)
        (entry,) = client.get("/__mock/requests").json()
        entries.append({k: v for k, v in entry.items() if k not in ("timestamp", "durationMs")})
    fast, slow = entries
    assert fast == slow
    assert (fast["status"], fast["api"], fast["headers"]["impilo-api-key"]) == (200, "impilo", "***")
    assert fast["responseBody"]["id"] == 1234


SCHEMA_CASES = [
    ({"type": "integer", "format": "int32"}, [0, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 1.0, True, "1"]),
    ({"type": "integer", "format": "int64", "minimum": 1}, [0, 1, 2**63 - 1, 2**63, 2**70]),
    ({"type": "string", "format": "date"}, ["2024-02-29", "2023-02-29", "2024-2-1", "20240101", "", 5]),
    (
        {"type": "string", "format": "date-time"},
        ["2024-01-01T00:00:00Z", "2024-01-01 00:00:00", "2024-01-01T25:00:00Z"],
    ),
    (
        {"type": "string", "format": "uuid"},
        ["3fa85f64-5717-4562-b3fc-2c963f66afa6", "3FA85F64-5717-4562-B3FC-2C963F66AFA6", "x"],
    ),
    ({"type": "string", "format": "uri"}, ["https://example.com/x", "example.com", "a b://c", "mailto:a@example.com"]),
    ({"type": "string", "format": "email"}, ["a@example.com", "not-an-email", "@"]),
    ({"type": "string", "nullable": True, "enum": ["a", "b"]}, ["a", None, "c"]),
    (
        {
            "type": "object",
            "required": ["a"],
            "properties": {"a": {"type": "integer", "format": "int32"}},
            "additionalProperties": False,
        },
        [{"a": 1}, {"a": 2**40}, {}, {"a": 1, "b": 2}],
    ),
]


@pytest.mark.parametrize(("schema", "values"), SCHEMA_CASES)
def test_the_request_gate_agrees_with_the_python_validator(schema: dict[str, object], values: list[object]) -> None:
    for value in values:
        assert accepts(schema, value) == request_validator(schema).is_valid(value), value


@pytest.mark.parametrize(
    "data",
    [
        {"content": [{"id": 1, "name": "Émilie", "tags": ["a", None, True]}], "total": 1, "ratio": 0.5},
        {1: "integer keys", "2": "string key"},  # orjson needs its non-str-keys option for these
        {"huge": 2**70},  # beyond orjson: the standard library writes it
        [],
    ],
)
def test_response_bytes_are_exactly_connexions(data: object) -> None:
    assert dumps_bytes(data) == JSONIFIER.dumps(data).encode()


class Counted:
    """An ASGI app that counts the requests reaching it."""

    def __init__(self, app: object) -> None:
        self.app, self.calls = app, 0

    async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        self.calls += scope["type"] == "http"
        await self.app(scope, receive, send)  # type: ignore[operator]


def test_the_front_door_answers_planned_requests_itself_and_hands_the_rest_to_connexion_once() -> None:
    app = create_app(seed=0)
    context = context_of(app)
    connexion_side = Counted(app)
    impilo = base("impilo")
    with TestClient(FrontDoor(connexion_side, context.dispatch), base_url="http://localhost") as client:
        assert context.dispatch.dispatcher is not None  # Connexion built it at start-up (lifespan)
        first = client.get(f"{impilo}/patient/1234", headers=IMPILO_KEY)

        again = client.get(f"{impilo}/patient/1234", headers=IMPILO_KEY)
        created = client.post(f"{impilo}/patient", json=PATIENT, headers=IMPILO_KEY)
        assert (again.status_code, again.json(), created.status_code) == (200, first.json(), 201)
        assert client.get(f"{impilo}/patient/{created.json()['id']}", headers=IMPILO_KEY).json() == created.json()
        assert connexion_side.calls == 0  # none of these went through Connexion's layers

        served_before = context.dispatch.served
        rejected = client.post(f"{impilo}/patient", json={"firstName": 5}, headers=IMPILO_KEY)
        forced = client.get(f"{impilo}/patient/1234", headers={**IMPILO_KEY, "Prefer": "code=404"})
        assert (rejected.status_code, rejected.json()["status"], forced.status_code) == (400, 400, 404)
        assert "lastName" in rejected.json()["message"]
        assert connexion_side.calls == 2 and context.dispatch.served == served_before  # declined once each

        journal = client.get("/__mock/requests").json()
        assert [(e["method"], e["status"]) for e in journal] == [
            ("GET", 200),
            ("GET", 200),
            ("POST", 201),
            ("GET", 200),
            ("POST", 400),
            ("GET", 404),
        ]  # fmt: skip  (each request journaled once, oldest first)
