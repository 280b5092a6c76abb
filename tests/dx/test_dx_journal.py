"""The request journal (`/__mock/requests`) and the access log."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from mocks.app import context_of
from mocks.dx.journal import ACCESS_LOGGER
from tests.support.helpers import IMPILO_KEY, LEGIT_AUTH, base, heidi_token


def journal(client: TestClient, **filters: Any) -> list[dict[str, Any]]:
    response = client.get("/__mock/requests", params=filters)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_journal_records_what_the_frontend_sent_and_got_when_it_calls_an_api(client: TestClient) -> None:
    created = client.post(
        f"{base('impilo')}/patient?source=web",
        json={"firstName": "Ann", "lastName": "Journal"},
        headers={**IMPILO_KEY, "X-Trace": "t-1"},
    )
    [entry] = journal(client)
    assert entry["api"] == "impilo" and entry["method"] == "POST"
    assert entry["path"] == f"{base('impilo')}/patient"
    assert entry["query"] == {"source": ["web"]}
    assert entry["body"] == {"firstName": "Ann", "lastName": "Journal"}
    assert entry["status"] == created.status_code
    assert entry["responseBody"] == created.json()
    assert entry["headers"]["x-trace"] == "t-1"
    assert isinstance(entry["durationMs"], float) and entry["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("header", "value", "shown"),
    [
        pytest.param("Impilo-API-Key", "mock-impilo-api-key", "***", id="impilo-key"),
        pytest.param("Heidi-Api-Key", "mock-heidi-api-key", "***", id="heidi-key"),
        pytest.param("Authorization", "Bearer mock-legit-health-token", "Bearer ***", id="bearer-keeps-scheme"),
        pytest.param("Proxy-Authorization", "Basic dXNlcjpwYXNzd29yZA==", "Basic ***", id="proxy-keeps-scheme"),
        pytest.param("Cookie", "session=c00k1e-value; theme=dark", "***", id="cookie"),
    ],
)
def test_journal_masks_credentials_when_they_are_sent(client: TestClient, header: str, value: str, shown: str) -> None:
    client.get(f"{base('impilo')}/patient/1234", headers={header: value})
    [entry] = journal(client)
    assert entry["headers"][header.lower()] == shown
    assert value not in str(entry)


def test_journal_keeps_errors_and_the_original_query_when_a_response_is_forced(client: TestClient) -> None:
    client.get(f"{base('impilo')}/patient/1234?__code=404", headers=IMPILO_KEY)
    client.get(f"{base('impilo')}/patient/1234")
    forced, unauthorized = journal(client)
    assert (forced["status"], forced["forced"], forced["query"]) == (404, True, {"__code": ["404"]})
    assert (unauthorized["status"], unauthorized["forced"]) == (401, False)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({"api": "impilo"}, [("GET", 200), ("POST", 201), ("GET", 404)], id="by-api-name"),
        pytest.param({"api": "legit-health"}, [("GET", 200)], id="by-api-slug"),
        pytest.param({"method": "post"}, [("POST", 201)], id="by-method-any-case"),
        pytest.param({"path": "/patient/"}, [("GET", 200), ("GET", 404)], id="by-path-substring"),
        pytest.param({"status": "404"}, [("GET", 404)], id="by-status"),
        pytest.param({"status": "2xx", "api": "impilo"}, [("GET", 200), ("POST", 201)], id="by-status-class"),
        pytest.param({"limit": "1"}, [("GET", 200)], id="limit-keeps-the-newest"),
    ],
)
def test_journal_lists_only_matching_requests_when_filtered(
    client: TestClient, filters: dict[str, str], expected: list[tuple[str, int]]
) -> None:
    client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY)
    client.post(f"{base('impilo')}/patient", json={"firstName": "A", "lastName": "B"}, headers=IMPILO_KEY)
    client.get(f"{base('impilo')}/patient/999999", headers=IMPILO_KEY)
    client.get(f"{base('legit_health')}/patients?externalIds[]=a449666c710c", headers=LEGIT_AUTH)
    assert [(e["method"], e["status"]) for e in journal(client, **filters)] == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param({"colour": "red"}, "unknown filter colour", id="unknown-filter"),
        pytest.param({"limit": "many"}, "limit='many' is not a whole number", id="bad-limit"),
    ],
)
def test_journal_is_400_with_the_cause_when_a_filter_is_wrong(
    client: TestClient, query: dict[str, str], message: str
) -> None:
    response = client.get("/__mock/requests", params=query)
    assert response.status_code == 400 and message in response.json()["message"]


def test_journal_leaves_out_the_mocks_own_routes_and_docs_when_they_are_called(client: TestClient) -> None:
    for path in ("/", "/healthz", "/__mock/state", f"{base('heidi')}/openapi.json", f"{base('heidi')}/ui/"):
        assert client.get(path).status_code == 200
    assert journal(client) == []


@pytest.mark.parametrize(
    ("empty", "status"),
    [
        pytest.param(lambda c: c.delete("/__mock/requests"), 204, id="delete-clears"),
        pytest.param(lambda c: c.post("/__mock/reset"), 200, id="reset-clears"),
    ],
)
def test_journal_is_empty_when_cleared_or_reset(
    client: TestClient, empty: Callable[[TestClient], Any], status: int
) -> None:
    client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY)
    assert len(journal(client)) == 1
    assert empty(client).status_code == status
    assert journal(client) == []


def test_journal_keeps_only_the_newest_requests_when_it_is_full(make_client: Callable[..., TestClient]) -> None:
    client = make_client(journal_size=3)
    for size in range(1, 6):
        client.get(f"{base('impilo')}/patient?size={size}", headers=IMPILO_KEY)
    assert [e["query"]["size"] for e in journal(client)] == [["3"], ["4"], ["5"]]


@pytest.mark.parametrize(
    ("enabled", "expected"),
    [
        pytest.param(
            True,
            [
                f"api=impilo method=GET path={base('impilo')}/patient/1234 status=200",
                "api=mock method=POST path=/__mock/reset status=200",
            ],
            id="on-one-line-per-request",
        ),
        pytest.param(False, [], id="quiet-by-default"),
    ],
)
def test_access_log_writes_api_method_path_status_and_ms_when_enabled(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture, enabled: bool, expected: list[str]
) -> None:
    client = make_client(access_log=enabled)
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY)
        client.post("/__mock/reset")
        client.get("/__mock/requests")  # the landing page's polling: not logged
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert [line.rsplit(" ms=", 1)[0] for line in lines] == expected
    assert all(float(line.rsplit(" ms=", 1)[1]) >= 0 for line in lines)


def strict_journal(client: TestClient) -> list[dict[str, Any]]:
    """The journal as a strict JSON parser reads it (RFC 8259: no NaN or Infinity, no lone surrogates)."""
    response = client.get("/__mock/requests")
    assert response.status_code == 200, response.text
    return list(orjson.loads(response.content))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"a":NaN}', id="nan"),
        pytest.param(b'{"a":-Infinity}', id="infinity"),
        pytest.param(b'{"a":"\\ud800"}', id="lone-surrogate"),
        pytest.param(b'{"a":' * 990 + b"1" + b"}" * 990, id="nested-990-deep"),
    ],
)
def test_journal_answers_strict_json_with_the_body_as_text_when_a_body_is_not_strict_json(
    client: TestClient, body: bytes
) -> None:
    sent = client.post(f"{base('impilo')}/patient", content=body, headers={"Content-Type": "application/json"})
    [entry] = strict_journal(client)
    assert (entry["status"], entry["body"], entry["bodyIsText"]) == (sent.status_code, body.decode(), True)
    assert entry["responseBody"] == sent.json() and entry["responseBodyIsText"] is False


def test_journal_answers_strict_json_with_the_response_as_text_when_the_api_answers_a_lone_surrogate(
    client: TestClient,
) -> None:
    # The API refuses lone surrogates now; a state file written before that (or edited by hand) may hold one.
    patients = context_of(client.app).store.collection("impilo", "patients")  # type: ignore[arg-type]
    patients.put(1234, {**patients.get(1234), "firstName": "\ud800x"})
    read = client.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY)
    assert read.status_code == 200 and b"\\ud800x" in read.content
    [entry] = strict_journal(client)
    assert (entry["body"], entry["responseBodyIsText"]) == (None, True)
    assert entry["responseBody"] == read.text


def test_journal_masks_secret_fields_in_bodies_when_a_secret_is_set_or_a_token_issued(client: TestClient) -> None:
    set_secret = client.post(f"{base('impilo')}/webhook-secret", json={"secret": "hush-4711"}, headers=IMPILO_KEY)
    assert set_secret.json() == {"secret": "hush-4711"}  # the vendor's own answer is not masked
    jwt = heidi_token(client)["Authorization"].removeprefix("Bearer ")
    response = client.get("/__mock/requests")
    assert b"hush-4711" not in response.content and jwt.encode() not in response.content
    secret, issued = response.json()
    assert (secret["body"], secret["responseBody"]) == ({"secret": "***"}, {"secret": "***"})
    assert issued["responseBody"]["token"] == "***" and issued["responseBody"]["expiration_time"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"secret": "hush-4711\\ud800"}', id="refused-with-a-lone-surrogate"),
        pytest.param(b'{"secret":"hush-4711","n":NaN}', id="refused-with-nan"),
        pytest.param(b'{"secret" : "hush-4711', id="cut-short"),
    ],
)
def test_journal_masks_secret_fields_when_a_body_is_shown_as_text(client: TestClient, body: bytes) -> None:
    client.post(
        f"{base('impilo')}/webhook-secret", content=body, headers={**IMPILO_KEY, "Content-Type": "application/json"}
    )
    response = client.get("/__mock/requests")
    assert response.status_code == 200 and b"hush-4711" not in response.content
    [entry] = response.json()
    assert entry["bodyIsText"] is True and '"***"' in entry["body"]


def test_journal_keeps_the_first_64_kib_of_a_large_body_and_says_it_was_cut(client: TestClient) -> None:
    note = "x" * (900 * 1024)  # under MAX_BODY_BYTES (1 MB): the API takes it, the journal keeps 64 KiB
    body = json.dumps({"firstName": "Big", "lastName": "Body", "note": note}).encode()
    sent = client.post(
        f"{base('impilo')}/patient", content=body, headers={**IMPILO_KEY, "Content-Type": "application/json"}
    )
    assert sent.status_code == 201, sent.text[:300]  # `note` is not an Impilo field: ignored
    [entry] = strict_journal(client)
    assert entry["bodyIsText"] is True and entry["body"].endswith("…")
    assert entry["body"][:-1] == body[: 64 * 1024].decode()
