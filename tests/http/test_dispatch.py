"""The compiled dispatcher answers plain requests itself and leaves everything else to Connexion.

Equality of the two paths over thousands of generated requests is checked in
`tests/contracts/test_contract_in_process.py` (through `tests/support/twin.py`); here: which requests each
path takes and why (the reasons `GET /__mock/summary` counts), the features' full-chain rules, and the shared
request gate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import connexion
import httpx
import pytest
from connexion.middleware import MiddlewarePosition
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks import context_of, create_app
from mocks.config import Conditions
from mocks.dx import tools
from mocks.http import fast_path
from mocks.http.compiled import JSONIFIER, dumps_bytes
from mocks.http.fast_path import FrontDoor
from mocks.http.full_chain import FullChain
from mocks.http.validation import accepts, request_validator
from tests.support.helpers import HEIDI_KEY, IMPILO_KEY, LEGIT_AUTH, base, heidi_token
from tests.support.live import LiveServer

PATIENT = {"firstName": "Emily", "lastName": "Clark"}
LOCAL_ORIGIN = "http://localhost:3000"


def served(client: TestClient) -> int:
    return context_of(client.app).dispatch.served  # type: ignore[arg-type]


def declined(client: TestClient) -> dict[str, int]:
    """Requests handed on to Connexion's chain, by reason, as `GET /__mock/summary` shows them."""
    return dict(context_of(client.app).dispatch.declined)  # type: ignore[arg-type]


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


JSON = "application/json"


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "reason"),
    [
        pytest.param("GET", "/patient/1234", {**IMPILO_KEY, "Prefer": "code=404"}, None, 404,
                     "needs-full-chain:scenario", id="prefer-forces-a-404"),
        pytest.param("GET", "/patient/1234?__code=404", IMPILO_KEY, None, 404, "needs-full-chain:scenario",
                     id="query-fallback-forces-a-404"),
        pytest.param("GET", "/patient/1234", {"Impilo-API-Key": "wrong"}, None, 401, "credentials",
                     id="wrong-key-refused"),
        pytest.param("GET", "/patient/1234", {}, None, 401, "credentials", id="no-key-refused"),
        pytest.param("GET", "/patient/not-a-number", IMPILO_KEY, None, 404, "no-route", id="no-operation-matches"),
        pytest.param("GET", "/patient?page=0", IMPILO_KEY, None, 400, "query", id="query-below-minimum"),
        pytest.param("GET", "/patient?page=1&unknown=1", IMPILO_KEY, None, 400, "query", id="undeclared-query"),
        pytest.param("POST", "/patient", {**IMPILO_KEY, "Content-Type": JSON}, b"{not json", 400, "body",
                     id="malformed-json"),
        pytest.param("POST", "/patient", {**IMPILO_KEY, "Content-Type": JSON}, b'{"firstName": 1}', 400, "body",
                     id="body-against-the-schema"),
        pytest.param("POST", "/patient", {**IMPILO_KEY, "Content-Type": "text/plain"}, b'{"firstName": "A"}', 415,
                     "body", id="body-not-json"),
        pytest.param("DELETE", "/patient/1234", IMPILO_KEY, None, 405, "no-route", id="method-not-allowed"),
    ],
)  # fmt: skip
def test_requests_a_plan_cannot_answer_alone_go_to_connexion_counted_by_reason(
    client: TestClient, method: str, path: str, headers: dict[str, str], body: bytes | None, status: int, reason: str
) -> None:
    response = client.request(method, f"{base('impilo')}{path}", headers=headers, content=body)

    assert response.status_code == status
    assert (served(client), declined(client)) == (0, {reason: 1})


def test_a_request_with_an_origin_is_left_to_cors_which_answers_it_with_its_headers(client: TestClient) -> None:
    plain = client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY)
    cross = client.get(f"{base('impilo')}/patient/1234", headers={**IMPILO_KEY, "Origin": LOCAL_ORIGIN})

    assert (cross.status_code, cross.json()) == (200, plain.json())
    assert cross.headers["access-control-allow-origin"] == LOCAL_ORIGIN
    assert "access-control-allow-origin" not in plain.headers
    assert (served(client), declined(client)) == (1, {"needs-full-chain:cors": 1})


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


def test_fast_path_off_leaves_everything_to_connexion_and_says_so(make_client: Callable[..., TestClient]) -> None:
    client = make_client(fast_path=False)
    assert client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY).status_code == 200
    assert client.get("/__mock/summary").json()["fastPath"] == {"enabled": False, "served": 0, "declined": {}}


def test_access_log_on_leaves_every_request_to_connexion(make_client: Callable[..., TestClient]) -> None:
    client = make_client(access_log=True)
    assert client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY).status_code == 200
    assert (served(client), declined(client)) == (0, {"needs-full-chain:access-log": 1})


@pytest.mark.parametrize(
    ("conditions", "reason"),
    [
        pytest.param(Conditions(error_rate=0.000001), "needs-full-chain:forced-response", id="injected-errors"),
        pytest.param(Conditions(latency_ms=(1, 1)), "needs-full-chain:scenario", id="simulated-latency"),
    ],
)
def test_simulated_conditions_leave_that_api_to_connexion(
    make_client: Callable[..., TestClient], conditions: Conditions, reason: str
) -> None:
    client = make_client(conditions={"impilo": conditions})
    assert client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY).status_code == 200
    assert client.get(f"{base('heidi')}/jwt", params={"email": "a@example.com", "third_party_internal_id": "x"},
                      headers=HEIDI_KEY).status_code == 200  # fmt: skip
    assert (served(client), declined(client)) == (1, {reason: 1})  # Heidi's served, Impilo's handed on


def test_the_summary_shows_what_the_fast_path_served_and_handed_on_by_reason(client: TestClient) -> None:
    impilo = base("impilo")
    client.get(f"{impilo}/patient/1234", headers=IMPILO_KEY)
    client.get(f"{impilo}/patient", params={"page": 1, "size": 15}, headers=IMPILO_KEY)
    client.get(f"{impilo}/patient/1234")
    client.get(f"{impilo}/patient/1234", headers={**IMPILO_KEY, "Prefer": "code=404"})

    summary = client.get("/__mock/summary").json()

    # the summary's own request is counted before it is answered: no operation of any API matches it
    assert summary["fastPath"] == {
        "enabled": True,
        "served": 2,
        "declined": {"credentials": 1, "needs-full-chain:scenario": 1, "no-route": 1},
    }


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


class Traced:
    """A feature installed inside the dispatcher that must see requests carrying `X-Trace`: it marks their
    answers. It declares so, as every such middleware must."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @classmethod
    def full_chain(cls, **_: Any) -> FullChain:
        return FullChain("trace", lambda api, scope, headers: b"x-trace" in headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def mark(message: Message) -> None:
            if message["type"] == "http.response.start" and any(k == b"x-trace" for k, _ in scope["headers"]):
                message = {**message, "headers": [*message["headers"], (b"x-traced", b"yes")]}
            await send(message)

        await self.app(scope, receive, mark)


class Undeclared(Traced):
    """A feature that forgot to say which requests it needs."""

    full_chain = None  # type: ignore[assignment]


def with_feature(monkeypatch: pytest.MonkeyPatch, middleware: type) -> None:
    """Install `middleware` with the developer tools, inside the dispatcher, as a new dx feature would be."""
    install = tools.install

    def install_with_it(app: connexion.AsyncApp, *args: Any) -> tools.DevTools:
        app.add_middleware(middleware, position=MiddlewarePosition.BEFORE_VALIDATION)
        return install(app, *args)

    monkeypatch.setattr(tools, "install", install_with_it)


def test_a_feature_inside_the_dispatcher_sees_the_requests_its_rule_names(monkeypatch: pytest.MonkeyPatch) -> None:
    with_feature(monkeypatch, Traced)
    with TestClient(create_app(seed=0), base_url="http://localhost") as client:
        plain = client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY)
        traced = client.get(f"{base('impilo')}/patient/1234", headers={**IMPILO_KEY, "X-Trace": "1"})

        assert (plain.status_code, traced.status_code) == (200, 200)
        assert "x-traced" not in plain.headers and traced.headers["x-traced"] == "yes"
        assert (served(client), declined(client)) == (1, {"needs-full-chain:trace": 1})


def test_a_feature_inside_the_dispatcher_without_a_rule_stops_the_app_being_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_feature(monkeypatch, Undeclared)
    with pytest.raises(TypeError, match="Undeclared runs inside the compiled dispatcher but declares no full-chain"):
        create_app(seed=0)


def test_every_feature_the_app_installs_inside_the_dispatcher_declares_its_rule(client: TestClient) -> None:
    rules = context_of(client.app).dispatch.dispatcher.rules  # type: ignore[arg-type,union-attr]
    assert [reason for reason, _ in rules] == [
        "needs-full-chain:cors",
        "needs-full-chain:scenario",
        "needs-full-chain:forced-response",
    ]  # the journal's rule names no request while the access log is off: the dispatcher records its answers


def test_an_operation_without_a_plan_is_logged_at_start_up_and_served_by_connexion(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(seed=0)
    handlers = context_of(app).services["impilo"]
    original = handlers.get_patient

    async def get_patient(patient_id: int) -> Any:  # no **kwargs: Connexion filters its arguments; no plan does
        return await original(patient_id)

    handlers.get_patient = get_patient  # before Connexion resolves it (its stack is built at start-up)
    with (
        caplog.at_level(logging.WARNING, logger=fast_path.__name__),
        TestClient(app, base_url="http://localhost") as client,
    ):
        # Impilo's only: other APIs have operations left to Connexion by design (multipart, streamed answers).
        warnings = [
            r.getMessage() for r in caplog.records if r.name == fast_path.__name__ and "(impilo " in r.getMessage()
        ]
        answer = client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY)

    assert len(warnings) == 1 and warnings[0].startswith(
        "getPatient (impilo GET /patient/{patientId}) has no compiled plan"
    )
    assert "**kwargs" in warnings[0]
    assert (answer.status_code, answer.json()["id"]) == (200, 1234)
    assert (served(client), declined(client)) == (0, {"no-plan": 1})


def test_a_fault_of_a_plan_is_logged_once_and_connexion_answers_instead(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    expected = client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY).json()

    def broken(*args: object) -> object:
        raise RuntimeError("a bug in the plan")

    monkeypatch.setattr(fast_path, "_scalar", broken)
    with caplog.at_level(logging.DEBUG, logger=fast_path.__name__):
        answers = [client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY) for _ in range(2)]

    assert [(a.status_code, a.json()) for a in answers] == [(200, expected), (200, expected)]
    assert (served(client), declined(client)) == (1, {"plan-fault": 2})
    logged = [
        (r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records if r.name == fast_path.__name__
    ]
    message = "The compiled plan of getPatient failed (RuntimeError: a bug in the plan); Connexion's chain answered"
    assert logged == [
        (logging.WARNING, message + " the request", True),
        (logging.DEBUG, message + " the request", False),
    ]


def test_the_live_server_serves_what_make_mock_serves_its_front_door_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make mock` serves `served(create_app(...))`: a request a plan answers never enters Connexion's app."""
    entered: list[str] = []
    enter = connexion.AsyncApp.__call__

    async def counted(self: connexion.AsyncApp, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            entered.append(scope["path"])
        await enter(self, scope, receive, send)

    monkeypatch.setattr(connexion.AsyncApp, "__call__", counted)
    patient = f"{base('impilo')}/patient/1234"
    with LiveServer(seed=0) as server, httpx.Client(base_url=server.url) as http:
        entered.clear()  # the start-up's health checks
        assert http.get(patient, headers=IMPILO_KEY).status_code == 200
        assert entered == []
        assert http.get(patient, headers={**IMPILO_KEY, "Origin": LOCAL_ORIGIN}).status_code == 200
        assert entered == [patient]
        fast = http.get("/__mock/summary").json()["fastPath"]

    assert (fast["served"], fast["declined"]["needs-full-chain:cors"]) == (1, 1)
