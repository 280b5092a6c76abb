"""The pytest plugin (pytest_healthcare_api_mocks.py), tested as pytest plugins are: a small downstream project run by
`pytester` in a fresh process, where the plugin comes from the installed package's `pytest11` entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

WORLD = Path(__file__).parent / "data" / "fixtures" / "world.yaml"

RECEIVER = """
import http.server, json, threading
import pytest


class Receiver:
    def __init__(self):
        self.bodies = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.server.shutdown()
    started.server.server_close()
"""

DOWNSTREAM = """
import pytest

PATIENT = {"firstName": "Ada", "lastName": "Lovelace"}


def test_create_read_and_find_it_in_the_journal(mock_apis):
    with mock_apis.client("impilo") as impilo:
        created = impilo.post("/patient", json=PATIENT)
        assert created.status_code == 201
        assert impilo.get(f"/patient/{created.json()['id']}").json()["lastName"] == "Lovelace"
    entry = mock_apis.expect_request("POST", "/impilo/api/v3/patient", status=201)
    assert entry["body"] == PATIENT
    assert any(p["lastName"] == "Lovelace" for p in mock_apis.state("impilo")["patients"])


def test_state_and_journal_are_reset_before_each_test(mock_apis):
    assert not any(p["lastName"] == "Lovelace" for p in mock_apis.state("impilo")["patients"])
    assert mock_apis.journal() == []


def test_heidi_credentials_come_with_the_jwt_exchanged(mock_apis):
    assert mock_apis.headers("heidi")["Authorization"].startswith("Bearer ey")
    with mock_apis.client("heidi") as heidi:
        assert heidi.get("/patient-profiles").status_code == 200


def test_a_webhook_is_delivered_to_the_tests_receiver(mock_apis, receiver):
    with mock_apis.client("impilo") as impilo:
        assert impilo.post("/webhook", json={"type": "patient.created", "url": receiver.url}).is_success
        impilo.post("/patient", json=PATIENT)
    attempt = mock_apis.wait_for_webhook("patient.created")
    assert attempt["url"] == receiver.url
    assert receiver.bodies[0]["payload"]["lastName"] == "Lovelace"


def test_the_outbox_holds_what_the_mock_sent(mock_apis):
    with mock_apis.client("legit_health") as legit:
        created = legit.post("/patients", json={"externalId": "plug-1", "firstName": "A", "lastName": "B",
                                                "email": "a.b@example.com"})
        assert created.status_code == 201
    assert [m["to"] for m in mock_apis.outbox("legit_health")] == ["a.b@example.com"]


@pytest.mark.mock_state("world")
def test_a_named_state_fixture_is_loaded(mock_apis):
    with mock_apis.client("impilo") as impilo:
        assert impilo.get("/patient/5000").json()["site"]["name"] == "Test Clinic"


@pytest.mark.parametrize("mock_apis", ["world"], indirect=True)
def test_a_state_fixture_named_as_the_fixtures_argument_is_loaded(mock_apis):
    assert mock_apis.state("heidi")["sessions"][-1]["session_name"] == "Intake"


def test_the_seed_option_seeds_the_mock(mock_apis):
    import httpx

    assert httpx.get(f"{mock_apis.url}/healthz").json()["seed"] == 5


@pytest.mark.anyio
async def test_in_process_with_an_async_client(mock_apis_asgi):
    async with mock_apis_asgi.async_client("legit_health") as legit:
        found = await legit.get("/patients", params={"externalIds[]": "a449666c710c"})
    assert [p["externalId"] for p in found.json()] == ["a449666c710c"]
    assert mock_apis_asgi.expect_request("GET", "/patients", status=200)["api"] == "legit_health"
"""

FAILING = """
import pytest


def test_expects_a_request_never_made(mock_apis):
    with mock_apis.client("impilo") as impilo:
        impilo.get("/patient/1234")
    mock_apis.expect_request("DELETE", "/patient/1234")


@pytest.mark.mock_state("broken")
def test_starts_from_a_broken_state(mock_apis):
    pass


@pytest.mark.mock_state("missing")
def test_starts_from_a_missing_state(mock_apis):
    pass
"""


@pytest.fixture
def downstream(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project outside this repository: its own conftest, tests and state fixture files."""
    pytester.makeconftest(RECEIVER)
    pytester.makeini("[pytest]\nmock_states = states\nfilterwarnings = error\n")  # as strict as this project
    (pytester.path / "states").mkdir()
    (pytester.path / "states" / "world.yaml").write_text(WORLD.read_text())
    (pytester.path / "states" / "broken.json").write_text('{"impilo": {"patients": [{"id": 1, "siteId": 424242}]}}')
    return pytester


def test_plugin_serves_resets_and_reports_the_mock_apis_when_a_downstream_project_uses_its_fixtures(
    downstream: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_TOKEN", "downstream-admin-token-0123456789")  # a shared setup's: the plugin sends it
    downstream.makepyfile(test_downstream=DOWNSTREAM)
    result = downstream.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--mock-seed", "5")
    result.assert_outcomes(passed=9, warnings=0)  # none from the plugin nor from what it imports


def test_plugin_failures_say_what_the_mock_saw_and_what_was_wrong_when_a_downstream_test_fails(
    downstream: pytest.Pytester,
) -> None:
    downstream.makepyfile(test_failing=FAILING)
    result = downstream.runpytest_subprocess("-p", "no:cacheprovider", "--mock-seed", "3")
    result.assert_outcomes(failed=1, errors=2)
    assert "During handling of the above exception" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_starts_from_a_broken_state*",
            "fixtures not loaded (1 problem):",
            "*broken.json: impilo.patients[[]0[]] (id 1): field siteId: the id of a record in impilo.sites;*",
            "*ERROR at setup of test_starts_from_a_missing_state*",
            "mock_state('missing'): no such state fixture file; looked for *",
            "*test_expects_a_request_never_made*",
            "the mock saw no request DELETE /patient/1234; it saw 1: GET /impilo/api/v3/patient/1234 -> 200",
        ]
    )
