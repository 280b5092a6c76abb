"""The mock server as a whole: index, API list, health, served specs, CORS, admin, concurrency, CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mocks.vendors import VENDORS
from tests.support.helpers import (
    IMPILO_KEY,
    LEGIT_AUTH,
    base,
    free_port,
    in_threads,
    on_each_store,
    read_back,
    state,
    wait_for_health,
)
from tests.support.live import LiveServer


def test_apis_json_lists_the_three_apis_by_name_with_their_urls(client: TestClient) -> None:
    listed = client.get("/apis.json").json()
    assert [a["slug"] for a in listed] == ["heidi", "impilo", "legit-health"]
    impilo = listed[1]
    assert impilo["baseUrl"] == "http://localhost/impilo/api/v3"
    assert impilo["specUrl"] == "http://localhost/impilo/api/v3/openapi.json"
    assert impilo["docsUrl"] == "http://localhost/impilo/api/v3/ui/"
    assert set(impilo) == {"slug", "title", "baseUrl", "specUrl", "docsUrl"}


def test_index_page_links_every_api_and_shows_credentials(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for api in VENDORS:
        assert f"{api.base_path}/ui/" in page.text
    assert "mock-impilo-api-key" in page.text and "mock-legit-health-token" in page.text


def test_healthz_answers_200_with_the_seed(make_client: Callable[..., TestClient]) -> None:
    response = make_client(seed=7).get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "seed": 7}


@pytest.mark.parametrize("api", VENDORS, ids=lambda a: a.slug)
def test_each_api_serves_its_spec_with_servers_pointing_at_the_mock_and_a_swagger_ui(
    client: TestClient, api: Any
) -> None:
    spec = client.get(f"{api.base_path}/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["servers"] == [{"url": api.base_path}]
    assert spec.json()["info"]["title"] == api.title
    ui = client.get(f"{api.base_path}/ui/")
    assert ui.status_code == 200 and "swagger" in ui.text.lower()


def test_cors_preflight_is_allowed_for_a_localhost_frontend(client: TestClient) -> None:
    response = client.options(
        f"{base('impilo')}/patient",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "impilo-api-key,content-type"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    simple = client.get(f"{base('impilo')}/patient/1234", headers={**IMPILO_KEY, "Origin": "http://127.0.0.1:3000"})
    assert simple.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"


def test_cors_is_not_granted_to_other_origins_by_default(client: TestClient) -> None:
    response = client.get(
        f"{base('impilo')}/patient/1234", headers={**IMPILO_KEY, "Origin": "https://evil.example.org"}
    )
    assert "access-control-allow-origin" not in response.headers


@on_each_store
def test_reset_returns_to_the_seed_state(client: TestClient) -> None:
    seeded = state(client)
    client.post(f"{base('impilo')}/patient", json={"firstName": "A", "lastName": "B"}, headers=IMPILO_KEY)
    assert state(client) != seeded
    assert client.post("/__mock/reset").json()["reset"] is True
    assert state(client) == seeded


def test_state_export_holds_every_api(client: TestClient) -> None:
    exported = state(client)
    assert set(exported) == {"impilo", "heidi", "legit_health"}
    assert len(exported["impilo"]["patients"]) >= 50


def test_unknown_path_under_an_api_is_404_in_that_vendors_shape(client: TestClient) -> None:
    response = client.get(f"{base('legit_health')}/nothing-here", headers=LEGIT_AUTH)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_unsupported_method_is_405_with_an_exact_allow_header(client: TestClient) -> None:
    response = client.delete(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH, PUT"


def test_concurrent_creates_get_unique_ids_and_exact_totals() -> None:
    with LiveServer(seed=0) as server, httpx.Client(base_url=server.url) as http:
        url = f"{server.url}{base('impilo')}/patient"
        before = http.get(url, headers=IMPILO_KEY).json()["total"]

        def create(worker: httpx.Client, n: int) -> int:
            response = worker.post(url, json={"firstName": f"C{n}", "lastName": "Load"}, headers=IMPILO_KEY)
            assert response.status_code == 201, response.text
            return int(response.json()["id"])

        ids = in_threads(create, range(1000))
        after = http.get(url, params={"name": "Load", "size": 250}, headers=IMPILO_KEY).json()
        assert len(set(ids)) == 1000
        assert http.get(url, headers=IMPILO_KEY).json()["total"] == before + 1000
        assert after["total"] == 1000
        assert read_back(url, ids) == [f"C{n}" for n in range(1000)]


def test_python_m_mocks_exits_2_with_a_one_line_cause_when_the_port_is_taken() -> None:
    with LiveServer(seed=0) as server:
        result = subprocess.run(
            [sys.executable, "-m", "mocks", "--port", str(server.port)], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: port {server.port}")


def test_python_m_mocks_serves_and_prints_base_urls_and_credentials() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mocks", "--port", str(port), "--seed", "3"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        banner = "".join(process.stdout.readline() for _ in range(9))
        assert f"http://127.0.0.1:{port}/impilo/api/v3" in banner and "mock-impilo-api-key" in banner
        assert banner.splitlines()[-1] == "  State: in memory (STATE=<file> keeps it), 1 worker process"
        health = wait_for_health(f"http://127.0.0.1:{port}/healthz")
        assert health == {"status": "ok", "seed": 3}
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close() if process.stdout else None


@pytest.mark.parametrize(
    ("moments", "expected"),
    [
        ((1_795_000_000.0,), ["2026-11-18T11:06:40.000Z"]),
        ((1_795_000_000.9994,), ["2026-11-18T11:06:40.999Z"]),
        # the cached second is replaced when the clock moves on, and again if it steps back
        ((1_795_000_000.5, 1_795_000_001.25, 1_794_999_999.0), [
            "2026-11-18T11:06:40.500Z", "2026-11-18T11:06:41.250Z", "2026-11-18T11:06:39.000Z",
        ]),
    ],
)  # fmt: skip
def test_timestamps_are_utc_to_the_millisecond_across_seconds(moments: tuple[float, ...], expected: list[str]) -> None:
    from mocks.state.clock import now_iso

    assert [now_iso(clock=partial(float, m)) for m in moments] == expected
