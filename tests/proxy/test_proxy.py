"""The validating proxy (mocks/proxy/): a mock in front of another mock standing in for the vendor, clean and
drifted (tests/support/drift.py), hybrid, unreachable, recording; credentials never leak."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.middleware.gzip import GZipMiddleware
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.runner import load_config, run
from mocks import create_app
from mocks.config import from_env
from mocks.proxy import proxy_of
from mocks.proxy.__main__ import main
from mocks.vendors import VENDORS
from tests.support import drift
from tests.support.examples import PATIENT_MINIMAL
from tests.support.helpers import HEIDI_KEY, IMPILO_KEY, LEGIT_AUTH, base, free_port
from tests.support.live import LiveServer
from tests.support.webhooks import stop_deliveries

IMPILO, HEIDI, LEGIT = base("impilo"), base("heidi"), base("legit_health")
SECRETS = ("mock-impilo-api-key", "mock-heidi-api-key", "mock-legit-health-token")
Proxied = Callable[..., TestClient]


def upstreams(root: str = "http://127.0.0.1") -> dict[str, str]:
    """Every API proxied to the mock at `root` (its base URLs, as `/apis.json` lists them)."""
    return {api.name: f"{root}{api.base_path}" for api in VENDORS}


@pytest.fixture
def proxied() -> Iterator[Proxied]:
    """Factory: a client of a fresh mock proxying every API to `upstream` (an ASGI app, in process)."""
    opened: list[tuple[TestClient, Any]] = []

    def make(upstream: Any = None, **overrides: Any) -> TestClient:
        upstream = upstream if upstream is not None else create_app(seed=0)
        app = create_app(seed=1, **{"upstreams": upstreams(), **overrides})
        proxy = proxy_of(app)
        assert proxy is not None
        proxy.transport = httpx.ASGITransport(upstream)
        client = TestClient(app, base_url="http://localhost", raise_server_exceptions=False)
        client.__enter__()
        opened.append((client, upstream))
        return client

    yield make
    for client, upstream in opened:
        client.__exit__(None, None, None)
        stop_deliveries(client.app)
        if hasattr(upstream, "mock_context"):
            stop_deliveries(upstream)


def drift_report(client: TestClient) -> dict[str, Any]:
    response = client.get("/__mock/drift")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def heidi_bearer(client: TestClient) -> dict[str, str]:
    jwt = client.get(f"{HEIDI}/jwt", params={"email": "test@heidihealth.com", "third_party_internal_id": "u-1"},
                     headers=HEIDI_KEY)  # fmt: skip
    assert jwt.status_code == 200, jwt.text
    return {"Authorization": f"Bearer {jwt.json()['token']}"}


def some_traffic(client: TestClient) -> list[httpx.Response]:
    """Reads, a create and an error on each API, as a frontend would send them."""
    bearer = heidi_bearer(client)
    return [
        client.get(f"{IMPILO}/patient", params={"page": 1, "size": 3}, headers=IMPILO_KEY),
        client.get(f"{IMPILO}/patient/1234", headers=IMPILO_KEY),
        client.post(f"{IMPILO}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY),
        client.get(f"{IMPILO}/item/999999", headers=IMPILO_KEY),
        client.get(f"{IMPILO}/site/1", headers={"Impilo-API-Key": "wrong-key"}),
        client.get(f"{HEIDI}/patient-profiles", headers=bearer),
        client.post(f"{HEIDI}/patient-profiles", json={"first_name": "Ada", "last_name": "Lovelace"}, headers=bearer),
        client.get(f"{LEGIT}/patients", params={"externalIds[]": "hrm-1"}, headers=LEGIT_AUTH),
        client.get(f"{LEGIT}/patients/00000000-0000-4000-8000-000000000000", headers=LEGIT_AUTH),
        client.post(
            f"{LEGIT}/patients",
            json={"externalId": "hrm-2", "firstName": "Ana", "email": "ana@example.com"},
            headers=LEGIT_AUTH,
        ),
    ]


def test_proxy_reports_no_drift_when_the_upstream_keeps_the_spec(proxied: Proxied) -> None:
    client = proxied()

    answers = some_traffic(client)

    assert [r.status_code for r in answers] == [200, 200, 201, 404, 401, 200, 200, 200, 404, 201]
    assert {r.headers["x-mock-proxy"] for r in answers} == {"upstream"}
    assert [r.headers.get("x-mock-drift") for r in answers if "x-mock-drift" in r.headers] == []
    report = drift_report(client)
    assert (report["verdict"], report["exitCode"], report["drift"]) == ("no drift", 0, {})
    assert report["servedBy"] == {"upstream": 11, "mock": 0, "unreachable": 0}


def test_proxy_answers_what_the_upstream_answered_when_it_serves_another_state(proxied: Proxied) -> None:
    upstream = create_app(seed=0)
    direct = TestClient(upstream, base_url="http://localhost").get(f"{IMPILO}/patient/1234", headers=IMPILO_KEY)
    own = TestClient(create_app(seed=1), base_url="http://localhost").get(f"{IMPILO}/patient/1234", headers=IMPILO_KEY)

    through = proxied(upstream).get(f"{IMPILO}/patient/1234", headers=IMPILO_KEY)

    assert direct.json() != own.json()  # the two seeds differ, so the answer says who gave it
    assert (through.status_code, through.json()) == (200, direct.json())


def kit_page_not_first() -> Any:
    """listKits says the first page is not the first."""
    return drift.with_result("impilo", "list_kits", lambda body, status: ({**body, "first": False}, status))


@pytest.mark.parametrize(
    ("broken", "method", "path", "body", "operation", "rule", "detail"),
    [
        pytest.param(drift.site_without_id, "GET", f"{IMPILO}/site/1", None, "getSite", "response-schema",
                     '"id" is a required property', id="site-without-id"),
        pytest.param(drift.kit_page_total_as_text, "GET", f"{IMPILO}/kit?page=1&size=2", None, "listKits",
                     "response-schema", 'is not of type "integer" (at total)', id="kit-page-total-as-text"),
        pytest.param(drift.item_not_found_in_another_shape, "GET", f"{IMPILO}/item/999999", None, "getItem",
                     "error-shape", "a 404 body is not the vendor's error shape", id="item-not-found-in-another-shape"),
        pytest.param(drift.site_created_with_200, "POST", f"{IMPILO}/site", {"name": "North clinic"}, "createSite",
                     "response-status", "200 is not documented for createSite", id="site-created-with-200"),
        pytest.param(kit_page_not_first, "GET", f"{IMPILO}/kit?page=1&size=2", None, "listKits", "page-envelope",
                     "first is False, expected True", id="kit-page-not-first"),
        pytest.param(drift.patients_as_text, "GET", f"{LEGIT}/patients", None, "getPatients",
                     "response-content-type", "'text/plain'", id="patients-as-text"),
    ],
)  # fmt: skip
def test_proxy_reports_each_drift_without_changing_the_answer_when_the_upstream_drifts(
    proxied: Proxied, broken: Callable[[], ASGIApp], method: str, path: str, body: Any, operation: str, rule: str,
    detail: str,
) -> None:  # fmt: skip
    headers = LEGIT_AUTH if path.startswith(LEGIT) else IMPILO_KEY
    direct = TestClient(broken(), base_url="http://localhost").request(method, path, json=body, headers=headers)
    client = proxied(broken())  # another instance in the same state

    through = client.request(method, path, json=body, headers=headers)

    assert (through.status_code, through.content) == (direct.status_code, direct.content)
    assert through.headers["content-type"] == direct.headers["content-type"]
    assert f"{rule}: " in through.headers["x-mock-drift"] and detail in through.headers["x-mock-drift"]
    report = drift_report(client)
    assert (report["verdict"], report["exitCode"]) == ("drift", 1)
    found = report["drift"][path.split("/")[1].replace("-", "_")][operation][rule]
    assert found["count"] == 1 and detail in found["last"]
    journal = client.get("/__mock/requests", params={"path": path.split("?")[0]}).json()
    assert [e["responseHeaders"]["x-mock-drift"] for e in journal] == [through.headers["x-mock-drift"]]


def test_proxy_reports_an_invalid_request_the_upstream_accepted_when_the_vendor_is_lenient(proxied: Proxied) -> None:
    lenient = drift.site_list_ignores_its_query()
    client = proxied(lenient)

    response = client.get(f"{IMPILO}/site", params={"size": "many"}, headers=IMPILO_KEY)

    assert response.status_code == 200
    assert "request: query.size:" in response.headers["x-mock-drift"]
    assert "accepted-invalid-request: the upstream answered 200" in response.headers["x-mock-drift"]
    report = drift_report(client)
    assert list(report["requestViolations"]["impilo"]["listSites"]) == ["request"]
    assert "accepted-invalid-request" in report["drift"]["impilo"]["listSites"]


def test_proxy_serves_listed_operations_from_the_mock_when_mocked(proxied: Proxied) -> None:
    upstream = create_app(seed=0)
    client = proxied(upstream, mocked={"impilo": frozenset({"createPatient"})})

    created = client.post(f"{IMPILO}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
    read = client.get(f"{IMPILO}/patient/{created.json()['id']}", headers=IMPILO_KEY)

    assert (created.status_code, created.headers["x-mock-proxy"]) == (201, "mock")
    assert (read.status_code, read.headers["x-mock-proxy"]) == (404, "upstream")  # the upstream never saw it
    assert drift_report(client)["servedBy"] == {"upstream": 1, "mock": 1, "unreachable": 0}


def _lacking(status: int, method: str, path: str) -> ASGIApp:
    """The mock, except that it answers `status` to `method path` (an operation the sandbox lacks)."""
    app = create_app(seed=0)

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) == (method, path):
            await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"Not here"})
            return
        await app(scope, receive, send)

    route.mock_context = app.mock_context  # type: ignore[attr-defined]
    return route


@pytest.mark.parametrize("status", [404, 501])
def test_proxy_serves_an_operation_from_the_mock_when_the_upstream_lacks_it(proxied: Proxied, status: int) -> None:
    client = proxied(_lacking(status, "POST", f"{IMPILO}/site"))

    created = client.post(f"{IMPILO}/site", json={"name": "North clinic"}, headers=IMPILO_KEY)

    assert (created.status_code, created.headers["x-mock-proxy"], created.json()["name"]) == (
        201,
        "mock",
        "North clinic",
    )
    assert "x-mock-drift" not in created.headers


def test_proxy_passes_a_documented_404_through_when_the_resource_is_missing(proxied: Proxied) -> None:
    client = proxied(_lacking(404, "GET", f"{IMPILO}/site/77"))

    missing = client.get(f"{IMPILO}/site/77", headers=IMPILO_KEY)

    assert (missing.status_code, missing.headers["x-mock-proxy"], missing.text) == (404, "upstream", "Not here")
    assert "error-shape" in missing.headers["x-mock-drift"]


def test_proxy_answers_502_in_the_vendor_shape_when_the_upstream_is_unreachable() -> None:
    app = create_app(seed=0, upstreams={"impilo": f"http://127.0.0.1:{free_port()}{IMPILO}"})
    with TestClient(app, base_url="http://localhost") as client:
        response = client.get(f"{IMPILO}/site/1", headers=IMPILO_KEY)
        report = drift_report(client)

    assert (response.status_code, response.headers["x-mock-proxy"]) == (502, "unreachable")
    assert response.json()["status"] == 502 and "could not be reached (ConnectError)" in response.json()["message"]
    assert report["exitCode"] == 2 and report["verdict"].startswith("cannot check: http://127.0.0.1:")


def _without_site_ids(app: Any) -> Any:
    """`app` with getSite leaving out the required `id` (tests/support/drift.py `site_without_id`, served)."""
    handlers = drift.handlers_of(app, "impilo")
    original = handlers.get_site

    async def changed(*args: Any, **kwargs: Any) -> tuple[Any, int]:
        body, status = await original(*args, **kwargs)
        return {k: v for k, v in body.items() if k != "id"}, status

    handlers.get_site = changed
    return app


def test_proxy_command_exits_with_the_verdict_when_served_over_http(capsys: pytest.CaptureFixture[str]) -> None:
    vendor = LiveServer(seed=0, validate_responses=False)
    _without_site_ids(vendor.app)  # before its first request, when its operations are resolved
    with vendor, LiveServer(seed=1, upstreams=upstreams(vendor.url)) as proxy:
        assert main(["check", "--url", proxy.url]) == 2  # nothing reached the upstream yet
        page = httpx.get(f"{proxy.url}{IMPILO}/patient/1234", headers=IMPILO_KEY)
        direct = httpx.get(f"{vendor.url}{IMPILO}/patient/1234", headers=IMPILO_KEY)
        httpx.get(f"{proxy.url}{IMPILO}/site", params={"size": "many"}, headers=IMPILO_KEY)  # the caller's fault
        clean = main(["check", "--url", proxy.url])
        fast_path = httpx.get(f"{proxy.url}/__mock/summary").json()["fastPath"]
        httpx.get(f"{proxy.url}{IMPILO}/site/1", headers=IMPILO_KEY)
        drifted = main(["check", "--url", proxy.url])
    with LiveServer(seed=0, upstreams={"impilo": f"http://127.0.0.1:{free_port()}{IMPILO}"}) as cut_off:
        httpx.get(f"{cut_off.url}{IMPILO}/patient/1234", headers=IMPILO_KEY)
        unreachable = main(["check", "--url", cut_off.url])
    with LiveServer(seed=0) as plain:
        not_a_proxy = main(["check", "--url", plain.url])

    assert (page.json(), page.headers["x-mock-proxy"]) == (direct.json(), "upstream")  # not the fast path's own
    assert fast_path["declined"]["needs-full-chain:proxy"] == 2 and fast_path["served"] == 0
    assert (clean, drifted, unreachable, not_a_proxy) == (0, 1, 2, 2)
    printed = capsys.readouterr()
    assert "the caller's request: impilo listSites request x1: query.size:" in printed.out
    assert "drift: impilo getSite response-schema x1" in printed.out and "proxies nothing" in printed.err


def test_proxy_records_exchanges_fixtures_and_examples_with_secrets_masked(proxied: Proxied, tmp_path: Path) -> None:
    client = proxied(record_dir=str(tmp_path))

    some_traffic(client)

    written = {path.name: path.read_text() for path in tmp_path.iterdir()}
    assert sorted(written) == ["examples.json", "exchanges.jsonl", "fixtures.json"]
    lines = [json.loads(line) for line in written["exchanges.jsonl"].splitlines()]
    assert len(lines) == 11
    assert next(line for line in lines if line["api"] == "impilo")["headers"]["impilo-api-key"] == "***"
    assert next(line for line in lines if line["operationId"] == "getJwt")["responseBody"]["token"] == "***"
    fixtures = json.loads(written["fixtures.json"])
    assert {r["id"] for r in fixtures["impilo"]["patients"]} >= {1234}
    assert set(fixtures["heidi"]) == {"profiles"} and set(fixtures["legit_health"]) == {"patients"}
    examples = json.loads(written["examples.json"])
    assert examples["impilo"]["getPatient"]["recorded-200"]["value"]["id"] == 1234
    assert "recorded-404" in examples["impilo"]["getItem"]
    for text in written.values():
        assert not any(secret in text for secret in SECRETS)
        assert "eyJ" not in text  # no JWT


def test_proxy_keeps_credentials_out_of_the_journal_and_the_logs(
    proxied: Proxied, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = proxied(drift.site_without_id(), access_log=True)

    some_traffic(client)
    client.get(f"{IMPILO}/site/1", headers=IMPILO_KEY)
    journal = client.get("/__mock/requests").text

    assert "x-mock-drift" in journal and "api=impilo method=GET path=/impilo/api/v3/site/1" in caplog.text
    for text in (journal, caplog.text):
        assert not any(secret in text for secret in SECRETS)
        assert "eyJ" not in text


def test_proxy_settings_are_read_per_api_when_given_in_the_environment() -> None:
    env = {"UPSTREAM_IMPILO": "https://sandbox.example.com/api/v3/", "MOCKED_IMPILO": "createPatient, getSite",
           "RECORD": "recordings"}  # fmt: skip

    config = from_env(environ=env, vendors=VENDORS)

    assert config.upstreams == {"impilo": "https://sandbox.example.com/api/v3"}
    assert config.mocked == {"impilo": frozenset({"createPatient", "getSite"})}
    assert config.record_dir == "recordings"
    with pytest.raises(ValueError, match="UPSTREAM_HEIDI='ftp://x' is not an http"):
        from_env(environ={"UPSTREAM_HEIDI": "ftp://x"}, vendors=VENDORS)
    with pytest.raises(ValueError, match="MOCKED_IMPILO names createThing"):
        create_app(upstreams=upstreams(), mocked={"impilo": frozenset({"createThing"})})


def test_proxy_installs_nothing_when_no_upstream_is_set() -> None:
    app = create_app(seed=0)
    with TestClient(app, base_url="http://localhost") as client:
        assert client.get("/__mock/drift").status_code == 404
    assert proxy_of(app) is None
    assert not any("Proxy" in getattr(m, "__name__", repr(m)) for m in app.middleware.middlewares)


def test_proxy_run_command_exits_with_the_verdict_of_its_traffic_when_given_a_command() -> None:
    send = "import httpx, os, sys; httpx.get(os.environ['MOCK_IMPILO_URL'] + '/site/1', headers={'Impilo-API-Key': 'mock-impilo-api-key'}); sys.exit(int(sys.argv[1]))"  # noqa: E501
    with LiveServer(seed=0) as vendor, pytest.MonkeyPatch.context() as env:
        env.setenv("UPSTREAM_IMPILO", f"{vendor.url}{IMPILO}")
        kept = main(["run", "--port", str(free_port()), "--", sys.executable, "-c", send, "0"])
        failed = main(["run", "--port", str(free_port()), "--", sys.executable, "-c", send, "1"])

    assert (kept, failed) == (0, 3)


def test_recorded_examples_are_served_by_name_when_loaded_with_examples(
    proxied: Proxied, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recording = proxied(record_dir=str(tmp_path))
    vendor_answer = recording.get(f"{IMPILO}/patient/1234", headers=IMPILO_KEY).json()
    (tmp_path / "stray.json").write_text(json.dumps({"impilo": {"getPatient": {"recorded-299": {"value": {}}}}}))

    with TestClient(
        create_app(seed=1, examples_file=str(tmp_path / "examples.json")), base_url="http://localhost"
    ) as mock:
        replayed = mock.get(f"{IMPILO}/patient/1234", headers={**IMPILO_KEY, "Prefer": "example=recorded-200"})
        spec = mock.get(f"{IMPILO}/openapi.json").json()
        own = mock.get(f"{IMPILO}/patient/1234", headers=IMPILO_KEY).json()

    assert (replayed.status_code, replayed.json()) == (200, vendor_answer) and own != vendor_answer
    media = spec["paths"]["/patient/{patientId}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert media["examples"]["recorded-200"]["value"] == vendor_answer
    with pytest.raises(ValueError, match=r"EXAMPLES=.*cannot be read as JSON"):
        create_app(examples_file=str(tmp_path / "missing.json"))
    create_app(examples_file=str(tmp_path / "stray.json"))
    assert "not in the specs, left out: impilo getPatient recorded-299" in caplog.text


@pytest.mark.parametrize(
    ("api", "operation_ids"),
    [
        pytest.param("impilo", ["createPatient", "getPatient", "listSites", "getSite", "listKits", "getItem",
                                "updateWebhook", "listWebhookLogs"], id="impilo"),
        pytest.param("legit_health", ["createPatient", "getPatients", "getPatient", "patchPatient",
                                      "createEpisodeOfCare", "createEncounter"], id="legit-health"),
    ],
)  # fmt: skip
def test_proxy_finds_no_drift_in_the_contract_suite_traffic_when_the_upstream_keeps_the_spec(
    proxied: Proxied, api: str, operation_ids: list[str]
) -> None:
    client = proxied()

    outcome = run(api, app=client.app, operation_ids=operation_ids, config=load_config(overrides=drift.FAST))

    assert outcome.failures == [] and outcome.errors == []
    report = drift_report(client)
    assert report["servedBy"]["upstream"] > 20 * len(operation_ids)
    assert (report["drift"], report["exitCode"]) == ({}, 0)


def test_proxy_answers_the_decoded_body_when_the_upstream_compresses(proxied: Proxied) -> None:
    upstream = create_app(seed=0)
    compressing = GZipMiddleware(upstream, minimum_size=10)
    compressing.mock_context = upstream.mock_context  # type: ignore[attr-defined]
    direct = TestClient(compressing, base_url="http://localhost").get(f"{IMPILO}/patient", headers=IMPILO_KEY)
    assert direct.headers["content-encoding"] == "gzip"  # as the client library asks for it by default

    through = proxied(compressing).get(f"{IMPILO}/patient", headers={**IMPILO_KEY, "Accept-Encoding": "identity"})

    assert (through.status_code, through.json()) == (200, direct.json())
    assert "content-encoding" not in through.headers and "x-mock-drift" not in through.headers
    assert through.headers["content-length"] == str(len(through.content))


def test_proxy_command_sends_the_admin_token_when_the_mock_asks_for_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "proxy-test-admin-token-0001"
    with LiveServer(seed=0, admin_token=token, upstreams=upstreams(f"http://127.0.0.1:{free_port()}")) as shared:
        httpx.get(f"{shared.url}{IMPILO}/patient/1234", headers=IMPILO_KEY)
        refused = main(["check", "--url", shared.url])
        monkeypatch.setenv("ADMIN_TOKEN", token)
        read = main(["check", "--url", shared.url])

    printed = capsys.readouterr()
    assert (refused, read) == (2, 2)  # the upstream is unreachable: read, it says so
    assert "asks for its admin token: set ADMIN_TOKEN" in printed.err
    assert "proxy: cannot check: http://127.0.0.1:" in printed.out
