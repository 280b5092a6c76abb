"""What the mock accepts it can answer, and what it refuses it refuses in the vendor's shape, never with a 500:
odd-but-valid formats, hostile JSON (too deep, NaN, huge numbers), huge integers in paths and scenario
values, bodies with huge numbers of violations; and every 500 it still gives is logged with its traceback.
Every case runs through both request paths (the compiled dispatcher and Connexion's chain)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import specs
from mocks import context_of, create_app
from mocks.http.errors import MAX_VIOLATIONS
from mocks.http.jsonbody import MAX_DEPTH
from mocks.vendors import VENDORS
from tests.support.helpers import IMPILO_KEY, LEGIT_AUTH, base, heidi_token
from tests.support.twin import Twin

PATHS = [pytest.param(True, id="dispatcher"), pytest.param(False, id="connexion")]
METHODS = ("get", "put", "post", "patch", "delete")
HUGE = "9" * 5000  # beyond Python's 4,300-digit limit on int <-> str conversion


def credentials(client: TestClient, api: str) -> dict[str, str]:
    return {"impilo": IMPILO_KEY, "heidi": heidi_token(client), "legit_health": LEGIT_AUTH}[api]


def is_vendor_error(api: str, response: httpx.Response) -> bool:
    """A 4xx whose body has the shape of the vendor's own errors (mocks/http/errors.py)."""
    if not 400 <= response.status_code < 500:
        return False
    body = response.json()
    shapes: dict[str, Callable[[Any], bool]] = {
        "impilo": lambda b: b["status"] == response.status_code and bool(b["message"]),
        "heidi": lambda b: bool(b["detail"]["msg"]),
        "legit_health": lambda b: b["status"] == response.status_code and bool(b["detail"]),
    }
    return shapes[api](body)


def message_of(api: str, response: httpx.Response) -> str:
    messages: dict[str, Callable[[Any], str]] = {
        "impilo": lambda b: b["message"],
        "heidi": lambda b: b["detail"]["msg"],
        "legit_health": lambda b: b["detail"],
    }
    return messages[api](response.json())


# --- 1. one format rule: what the mock accepts, it can answer ---------------------------------------------


@dataclass(frozen=True)
class PatientApi:
    """Creating a patient with a given email on one API, and where to read it back."""

    api: str
    create: str
    created: int  # the status of a create
    body: Callable[[str, int], dict[str, Any]]
    by_id: str
    listing: Callable[[str, int], tuple[str, dict[str, str]]]  # (path, query) of a page holding it

    def id_of(self, created: Any) -> str:
        return str(created["data"]["id"] if self.api == "heidi" else created["id"])


PATIENT_APIS = [
    PatientApi(
        "impilo", "/patient", 201, lambda email, n: {"firstName": "Odd", "lastName": f"Email{n}", "email": email},
        "/patient/{id}", lambda email, n: ("/patient", {"email": email, "size": "250"}),
    ),
    PatientApi(
        "heidi", "/patient-profiles", 200, lambda email, n: {"first_name": "Odd", "email": email},
        "/patient-profiles/{id}", lambda email, n: ("/patient-profiles", {}),
    ),
    PatientApi(
        "legit_health", "/patients", 201, lambda email, n: {"externalId": f"odd-email-{n}", "email": email},
        "/patients/{id}", lambda email, n: ("/patients", {"externalIds[]": f"odd-email-{n}"}),
    ),
]  # fmt: skip
ODD_EMAILS = ["@", "a b@x", "ü@x.de"]  # all taken: the `email` format asks for an "@" only


@pytest.mark.parametrize("fast_path", PATHS)
@pytest.mark.parametrize("row", PATIENT_APIS, ids=lambda r: r.api)
def test_create_patient_answers_what_it_stored_when_the_email_is_odd(
    make_client: Callable[..., TestClient], row: PatientApi, fast_path: bool
) -> None:
    client = make_client(fast_path=fast_path)
    auth, prefix = credentials(client, row.api), base(row.api)
    for n, email in enumerate(ODD_EMAILS):
        created = client.post(f"{prefix}{row.create}", json=row.body(email, n), headers=auth)
        assert created.status_code == row.created, (email, created.text)
        ident = row.id_of(created.json())
        path, query = row.listing(email, n)
        read = client.get(f"{prefix}{row.by_id.format(id=ident)}", headers=auth)
        page = client.get(f"{prefix}{path}", params=query, headers=auth)
        assert (read.status_code, page.status_code) == (200, 200), (email, read.text[:300], page.text[:300])
        assert ident in page.text and email in json.dumps(read.json(), ensure_ascii=False)


@pytest.mark.parametrize("fast_path", PATHS)
def test_create_webhook_answers_what_it_stored_when_the_url_is_odd(
    make_client: Callable[..., TestClient], fast_path: bool
) -> None:
    client = make_client(fast_path=fast_path)
    webhooks = f"{base('impilo')}/webhook"
    # url -> the answer: kept as sent (a valid URI with odd characters), or refused (not a URI at all)
    for url, status in {"http://127.0.0.1:1/%zz": 200, "http://127.0.0.1:1/<>": 200, "http://[::1": 400}.items():
        created = client.post(webhooks, json={"type": "patient.created", "url": url}, headers=IMPILO_KEY)
        listed = client.get(webhooks, headers=IMPILO_KEY)
        assert created.status_code == status, (url, created.text[:300])
        assert listed.status_code == 200, (url, listed.text[:300])
        if status == 400:
            assert is_vendor_error("impilo", created), created.text
            assert url not in [w["url"] for w in listed.json()["content"]]
        else:
            assert created.json()["url"] == url
            assert url in [w["url"] for w in listed.json()["content"]]


def test_create_webhook_is_refused_with_a_400_when_the_url_is_an_unclosed_ipv6_literal(client: TestClient) -> None:
    response = client.post(
        f"{base('impilo')}/webhook", json={"type": "patient.created", "url": "http://[::1"}, headers=IMPILO_KEY
    )
    assert response.status_code == 400 and "body.url" in response.json()["message"]


# --- 4. hostile JSON and huge integers: 4xx in the vendor's shape, the same on both paths ---------------------


def json_operations() -> list[tuple[str, str, str]]:
    """(api, method, path with example path values) of every operation taking a JSON body."""
    found = []
    for api in VENDORS:
        for path, item in specs.load(api.name)["paths"].items():
            for method, operation in item.items():
                if method not in METHODS or "application/json" not in operation.get("requestBody", {}).get(
                    "content", {}
                ):
                    continue
                concrete = path
                for p in [*item.get("parameters", []), *operation.get("parameters", [])]:
                    if p["in"] == "path":
                        concrete = concrete.replace(f"{{{p['name']}}}", str(p.get("example", 1)))
                found.append((api.name, method.upper(), api.base_path + concrete))
    return found


TOO_DEEP = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
HOSTILE_BODIES = {
    # body -> what the vendor-shaped message must say
    TOO_DEEP: f"deeper than {MAX_DEPTH} levels",
    b'{"deep": ' + b"[" * 5000 + b"]" * 5000 + b"}": f"deeper than {MAX_DEPTH} levels",
    b'{"a": NaN}': "NaN is not a JSON number",
    b'{"a": Infinity}': "Infinity is not a JSON number",
    b'{"a": -Infinity}': "-Infinity is not a JSON number",
    b'{"a": 1e999}': "too large for a 64-bit float",
    b'{"a": ' + HUGE.encode() + b"}": "more than 4300 digits",
    b'{"a": "\\ud800x"}': "unpaired UTF-16 surrogate",
    b'{"\\udfff": 1}': "unpaired UTF-16 surrogate",
}


@dataclass
class Twins:
    """A client on both request paths at once (tests/support/twin.py): each request is answered by the compiled
    dispatcher and by Connexion's chain, and every pair of answers must be equal."""

    client: TestClient
    twin: Twin
    auth: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def twins() -> Iterator[Twins]:
    twin = Twin(create_app(seed=0), create_app(seed=0, fast_path=False))
    with TestClient(twin, base_url="http://localhost", raise_server_exceptions=False) as client:
        yield Twins(client, twin, {api.name: credentials(client, api.name) for api in VENDORS})


def test_every_json_operation_refuses_a_hostile_body_in_the_vendors_shape_when_it_is_not_json_the_mock_takes(
    twins: Twins,
) -> None:
    for api, method, path in json_operations():
        for body, reason in HOSTILE_BODIES.items():
            headers = {**twins.auth[api], "Content-Type": "application/json"}
            response = twins.client.request(method, path, content=body, headers=headers)
            assert is_vendor_error(api, response), (method, path, body[:30], response.text[:300])
            assert reason in message_of(api, response), (method, path, response.text[:300])
    assert twins.twin.mismatches == [], twins.twin.mismatches[:3]


def test_every_json_operation_answers_without_a_500_when_the_body_nests_exactly_as_deep_as_the_limit(
    twins: Twins,
) -> None:
    at_limit = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    deepest_member = b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1)  # inside the body's object: the limit
    inside = b'{"externalId": "deep", "firstName": "A", "lastName": "B", "x": ' + deepest_member + b"}"
    for api, method, path in json_operations():
        for body in (at_limit, inside):
            headers = {**twins.auth[api], "Content-Type": "application/json"}
            response = twins.client.request(method, path, content=body, headers=headers)
            assert response.status_code < 500, (method, path, response.text[:300])
            assert response.status_code < 400 or is_vendor_error(api, response)
    assert twins.client.get("/healthz").status_code == 200
    assert twins.twin.mismatches == [], twins.twin.mismatches[:3]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        pytest.param(f"/patient/{HUGE}", IMPILO_KEY, id="path-id"),
        pytest.param("/patient/1", {**IMPILO_KEY, "Prefer": f"code={HUGE}"}, id="prefer-code"),
        pytest.param(f"/patient/1?__code={HUGE}", IMPILO_KEY, id="query-code"),
        pytest.param("/patient/1?__code=²", IMPILO_KEY, id="query-code-not-ascii-digits"),
    ],
)
def test_impilo_refuses_with_a_400_when_an_integer_is_one_python_cannot_convert(
    twins: Twins, path: str, headers: dict[str, str]
) -> None:
    response = twins.client.get(f"{base('impilo')}{path}", headers=headers)
    assert is_vendor_error("impilo", response) and response.status_code == 400, response.text[:300]
    assert len(message_of("impilo", response)) < 500  # the value is not echoed whole
    assert twins.twin.mismatches == []


def test_journal_lists_every_entry_when_the_limit_has_more_digits_than_python_converts(client: TestClient) -> None:
    client.get(f"{base('impilo')}/patient/1", headers=IMPILO_KEY)
    response = client.get("/__mock/requests", params={"limit": HUGE})
    assert response.status_code == 200 and len(response.json()) == 1
    assert client.get("/__mock/requests", params={"limit": "²"}).status_code == 400


# --- 5. bounded work: violations are capped, and the answer says so ----------------------------------------


@pytest.mark.parametrize("fast_path", PATHS)
def test_create_patient_lists_at_most_the_cap_of_violations_when_a_body_has_150000(
    make_client: Callable[..., TestClient], fast_path: bool
) -> None:
    client = make_client(fast_path=fast_path)
    body = json.dumps({"externalId": "big", "conditions": [{}] * 150_000}).encode()
    headers = {**LEGIT_AUTH, "Content-Type": "application/json"}
    response = client.post(f"{base('legit_health')}/patients", content=body, headers=headers)

    assert is_vendor_error("legit_health", response) and response.status_code == 400
    assert len(response.content) < 64_000  # was 28 MB
    assert len(response.json()["violations"]) == MAX_VIOLATIONS
    assert f"and more violations not listed (the mock lists at most {MAX_VIOLATIONS})" in response.json()["detail"]
    assert client.get("/healthz").status_code == 200


def test_create_patient_says_nothing_was_cut_when_the_violations_are_few(client: TestClient) -> None:
    response = client.post(f"{base('legit_health')}/patients", json={"conditions": [{}]}, headers=LEGIT_AUTH)
    assert response.status_code == 400 and 0 < len(response.json()["violations"]) < MAX_VIOLATIONS
    assert "not listed" not in response.json()["detail"]


# --- every unexpected exception is logged with its traceback, answered in the vendor's shape ---------------


@pytest.mark.parametrize("fast_path", PATHS)
def test_an_unexpected_handler_error_is_logged_with_its_traceback_when_answered_500(
    fast_path: bool, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(**_: Any) -> Any:
        raise RuntimeError("a bug in a handler")

    app = create_app(seed=0, fast_path=fast_path)
    context = context_of(app)
    context.services["impilo"].get_patient = broken  # before the app starts: both paths resolve it then
    with (
        caplog.at_level(logging.ERROR, logger="mocks.http.errors"),
        TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client,
    ):
        response = client.get(f"{base('impilo')}/patient/1", headers=IMPILO_KEY)

    assert response.status_code == 500
    assert response.json()["message"] == "Internal mock error: RuntimeError"
    assert response.json()["path"] == f"{base('impilo')}/patient/1"
    assert context.dispatch.served == (1 if fast_path else 0)  # the path under test answered it
    (record,) = [r for r in caplog.records if r.name == "mocks.http.errors"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    assert "a bug in a handler" in caplog.text and "Traceback" in caplog.text


def test_a_refused_request_is_not_logged_as_an_error(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="mocks.http.errors"):
        assert client.post(f"{base('impilo')}/patient", json={}, headers=IMPILO_KEY).status_code == 400
        assert client.get(f"{base('impilo')}/patient/99999999", headers=IMPILO_KEY).status_code == 404
    assert [r for r in caplog.records if r.name == "mocks.http.errors"] == []


@pytest.mark.parametrize("fast_path", PATHS)
@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/x-www-form-urlencoded", "text/plain"])
def test_a_read_sent_with_a_body_type_and_no_body_is_served_like_any_read(
    make_client: Callable[..., TestClient], fast_path: bool, content_type: str
) -> None:
    """A GET takes no body, so its Content-Type is ignored (Connexion would parse the empty form and 400)."""
    client = make_client(fast_path=fast_path)
    reads = {
        "impilo": "/patient/1234",
        "heidi": "/patient-profiles",
        "legit_health": "/patients?externalIds[]=a449666c710c",
    }
    for api, path in reads.items():
        auth = credentials(client, api)
        plain = client.get(f"{base(api)}{path}", headers=auth)
        typed = client.get(f"{base(api)}{path}", headers={**auth, "Content-Type": content_type})
        assert (plain.status_code, typed.status_code) == (200, 200), (api, typed.text[:300])
        assert typed.json() == plain.json()


@pytest.mark.parametrize("fast_path", PATHS)
def test_a_create_sent_as_a_form_it_does_not_take_is_still_refused_in_the_vendors_shape(
    make_client: Callable[..., TestClient], fast_path: bool
) -> None:
    client = make_client(fast_path=fast_path)
    created = client.post(f"{base('impilo')}/patient", headers={**IMPILO_KEY, "Content-Type": "multipart/form-data"})
    assert created.status_code == 415 and is_vendor_error("impilo", created), created.text[:300]
