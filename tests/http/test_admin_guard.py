"""Who may use the mock: the Host a request names (DNS rebinding), where admin calls that change state come
from and what they carry (CSRF), and what the mock says when it listens beyond this machine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mocks.config import MockConfig, from_env
from mocks.http.guard import exposure_warning
from mocks.vendors import VENDORS
from tests.support.helpers import IMPILO_KEY, LEGIT_AUTH, base, free_port, state, wait_for_health

B = base("impilo")
FOREIGN = {"Host": "attacker.example"}
EVIL = "http://evil.example"
PATIENT = {"firstName": "Ada", "lastName": "Lovelace"}


# --- Host -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/__mock/state", "/apis.json", "/", "/__mock/requests", "/healthz"])
def test_host_guard_refuses_mock_routes_with_400_when_host_is_foreign(client: TestClient, path: str) -> None:
    response = client.get(path, headers=FOREIGN)
    assert response.status_code == 400
    assert "ALLOWED_HOSTS" in response.json()["message"] and "patients" not in response.text


def test_host_guard_refuses_a_vendor_post_without_storing_or_echoing_when_host_is_foreign(client: TestClient) -> None:
    before = state(client, "impilo")["patients"]
    response = client.post(f"{B}/patient", json=PATIENT, headers={**IMPILO_KEY, **FOREIGN})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["path"] == f"{B}/patient" and "attacker.example" in body["message"]
    assert "location" not in response.headers
    assert state(client, "impilo")["patients"] == before


def test_host_guard_refuses_a_trailing_slash_redirect_when_host_is_foreign(client: TestClient) -> None:
    response = client.get("/healthz/", headers=FOREIGN, follow_redirects=False)
    assert response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize(
    ("api", "auth", "shape"),
    [
        pytest.param("heidi", {"Heidi-Api-Key": "mock-heidi-api-key"}, lambda b: b["detail"]["msg"], id="heidi-detail"),
        pytest.param("legit_health", LEGIT_AUTH, lambda b: b["detail"] and b["status"] == 400, id="legit-problem"),
    ],
)
def test_host_guard_answers_in_the_vendor_shape_when_host_is_foreign(
    client: TestClient, api: str, auth: dict[str, str], shape: Callable[[Any], Any]
) -> None:
    response = client.get(f"{base(api)}/anything", headers={**auth, **FOREIGN})
    assert response.status_code == 400 and shape(response.json())


def test_host_guard_refuses_requests_without_a_host_header(client: TestClient) -> None:
    app = client.app
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/__mock/state", "raw_path": b"/__mock/state",
             "query_string": b"", "headers": [], "scheme": "http", "server": ("127.0.0.1", 8000),
             "asgi": {"version": "3.0"}, "http_version": "1.0", "root_path": ""}  # fmt: skip
    client.portal.call(app, scope, receive, send)  # type: ignore[union-attr, arg-type]
    assert sent[0]["status"] == 400 and b"no Host header" in sent[1]["body"]


@pytest.mark.parametrize(
    ("host", "config"),
    [
        pytest.param("localhost", {}, id="localhost"),
        pytest.param("localhost:8000", {}, id="localhost-port"),
        pytest.param("127.0.0.1:5173", {}, id="ipv4-loopback"),
        pytest.param("[::1]:8000", {}, id="ipv6-loopback"),
        pytest.param("mock.internal:8000", {"allowed_hosts": ("mock.internal",)}, id="configured"),
        pytest.param("api.corp.example", {"allowed_hosts": ("*.corp.example",)}, id="configured-wildcard"),
        pytest.param("devbox.lan:8000", {"listen": ("devbox.lan", 8000)}, id="listen-name"),
        pytest.param("anything.example", {"allowed_hosts": ("*",)}, id="any-when-star"),
    ],
)
def test_host_guard_serves_the_names_it_answers_to(
    make_client: Callable[..., TestClient], host: str, config: dict[str, Any]
) -> None:
    client = make_client(**config)
    assert client.get("/__mock/state", headers={"Host": host}).status_code == 200
    created = client.post(f"{B}/patient", json=PATIENT, headers={**IMPILO_KEY, "Host": host})
    assert created.status_code == 201
    listed = client.get("/apis.json", headers={"Host": host}).json()
    assert f"http://{host}{B}" in [api["baseUrl"] for api in listed]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("", (), id="unset"),
        pytest.param("Mock.Internal, *.corp.example,fd00::5", ("mock.internal", "*.corp.example", "fd00::5"),
                     id="names-wildcards-ipv6"),
    ],
)  # fmt: skip
def test_config_allowed_hosts_are_read_from_env(value: str, expected: tuple[str, ...]) -> None:
    assert from_env(environ={"ALLOWED_HOSTS": value}).allowed_hosts == expected


@pytest.mark.parametrize("value", ["mock.internal:8000", "[::1]:8000", "a.*.example", "*example.com"])
def test_config_allowed_hosts_is_refused_with_a_hint_when_not_a_host_name(value: str) -> None:
    with pytest.raises(ValueError, match=r"ALLOWED_HOSTS: .* is not a host name .*use e\.g\."):
        from_env(environ={"ALLOWED_HOSTS": value})


def test_host_guard_serves_a_configured_ipv6_address(make_client: Callable[..., TestClient]) -> None:
    client = make_client(allowed_hosts=("fd00::5",))
    assert client.get("/healthz", headers={"Host": "[fd00::5]:8000"}).status_code == 200


def test_host_guard_refuses_other_names_when_listening_on_every_interface(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(listen=("0.0.0.0", 8000))
    assert client.get("/healthz", headers={"Host": "0.0.0.0:8000"}).status_code == 400
    assert client.get("/healthz", headers={"Host": "192.168.1.20:8000"}).status_code == 400


def test_served_mock_refuses_foreign_host_on_the_fast_path_when_started_with_python_m_mocks() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mocks", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(f"{url}/healthz", alive=lambda: process.poll() is None)
        with httpx.Client(base_url=url, headers=IMPILO_KEY) as http:
            assert http.get(f"{B}/patient/1").status_code == 200  # the compiled dispatcher is ready now
            assert http.get(f"{B}/patient/1", headers=FOREIGN).status_code == 400
            refused = http.post(f"{B}/patient", json=PATIENT, headers=FOREIGN)
            assert refused.status_code == 400 and "location" not in refused.headers
            assert http.get(f"{B}/patient/1", headers={"Host": f"localhost:{port}"}).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- admin routes that change state -----------------------------------------------------------------------


def _created(client: TestClient) -> int:
    response = client.post(f"{B}/patient", json=PATIENT, headers=IMPILO_KEY)
    assert response.status_code == 201
    return int(response.json()["id"])


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        pytest.param(
            {"Origin": EVIL, "Content-Type": "application/x-www-form-urlencoded"}, b"a=1", 403, id="cross-site-form"
        ),
        pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, b"", 415, id="form-without-origin"),
        pytest.param({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--\r\n", 415, id="multipart"),
        pytest.param({"Content-Type": "text/plain;charset=UTF-8"}, b"{}", 415, id="text-plain-fetch"),
        pytest.param({}, b"{}", 415, id="body-without-type"),
        pytest.param({"Origin": EVIL, "Content-Type": "application/json"}, b"{}", 403, id="json-from-evil-origin"),
        pytest.param({"Origin": "null"}, b"", 403, id="opaque-origin"),
    ],
)
def test_admin_reset_is_refused_and_state_kept_when_the_request_could_come_from_another_site(
    client: TestClient, headers: dict[str, str], content: bytes, status: int
) -> None:
    patient = _created(client)
    response = client.post("/__mock/reset", headers=headers, content=content)
    assert response.status_code == status and response.json()["message"]
    assert client.get(f"{B}/patient/{patient}", headers=IMPILO_KEY).status_code == 200


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        pytest.param({}, b"", id="no-body"),
        pytest.param({"Content-Type": "application/json"}, b"{}", id="json-body"),
        pytest.param({"Content-Type": "application/json; charset=utf-8"}, b"", id="json-type-empty"),
        pytest.param({"Origin": "http://localhost:5173"}, b"", id="cors-allowed-origin"),
        pytest.param({"Origin": "http://localhost"}, b"", id="same-origin"),
    ],
)
def test_admin_reset_resets_when_the_request_is_json_or_bodiless_from_an_allowed_origin(
    client: TestClient, headers: dict[str, str], content: bytes
) -> None:
    patient = _created(client)
    response = client.post("/__mock/reset", headers=headers, content=content)
    assert response.status_code == 200 and response.json()["reset"] is True
    assert client.get(f"{B}/patient/{patient}", headers=IMPILO_KEY).status_code == 404


def test_admin_reset_accepts_the_pages_own_origin_when_reached_by_a_configured_name(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(allowed_hosts=("devbox.lan",))
    headers = {"Host": "devbox.lan:8000", "Origin": "http://devbox.lan:8000"}
    assert client.post("/__mock/reset", headers=headers).status_code == 200
    assert client.post("/__mock/reset", headers={**headers, "Origin": "http://other.lan:8000"}).status_code == 403


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        pytest.param(
            {"Origin": EVIL, "Content-Type": "application/x-www-form-urlencoded"}, b"status=cancelled", 403,
            id="cross-site-form",
        ),
        pytest.param({"Content-Type": "text/plain"}, b'{"status": "cancelled"}', 415, id="text-plain-fetch"),
        pytest.param({"Origin": EVIL, "Content-Type": "application/json"}, b'{"status": "cancelled"}', 403,
                     id="json-from-evil-origin"),
    ],
)  # fmt: skip
def test_admin_order_status_is_refused_and_order_kept_when_the_request_could_come_from_another_site(
    client: TestClient, headers: dict[str, str], content: bytes, status: int
) -> None:
    before = client.get(f"{B}/order/1", headers=IMPILO_KEY).json()["currentStatus"]
    response = client.post("/__mock/impilo/orders/1/status", headers=headers, content=content)
    assert response.status_code == status
    assert client.get(f"{B}/order/1", headers=IMPILO_KEY).json()["currentStatus"] == before


def test_admin_order_status_moves_the_order_when_the_body_is_json(client: TestClient) -> None:
    response = client.post("/__mock/impilo/orders/1/status", json={"status": "cancelled"})
    assert response.status_code == 200
    assert client.get(f"{B}/order/1", headers=IMPILO_KEY).json()["currentStatus"] == "cancelled"


@pytest.mark.parametrize("path", ["/__mock/outbox", "/__mock/requests"])
def test_admin_delete_is_refused_with_403_when_origin_is_another_site(client: TestClient, path: str) -> None:
    patient = {"externalId": "kept-1", "email": "kept@example.com"}  # one journal entry, one email in the outbox
    assert client.post(f"{base('legit_health')}/patients", json=patient, headers=LEGIT_AUTH).status_code == 201
    kept = client.get(path).json()
    assert len(kept) == 1
    assert client.delete(path, headers={"Origin": EVIL}).status_code == 403
    assert client.get(path).json() == kept
    assert client.delete(path).status_code == 204
    assert client.get(path).json() == []


def test_admin_reads_are_served_whatever_their_origin(client: TestClient) -> None:
    assert client.get("/__mock/summary", headers={"Origin": EVIL}).status_code == 200


# --- listening beyond this machine ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_exposure_warning_names_the_risks_and_the_remedy_when_listening_beyond_loopback(host: str) -> None:
    warning = exposure_warning(host, 8000, MockConfig(), VENDORS)
    assert warning is not None and warning.startswith("WARNING: the mock listens on")
    warning = " ".join(warning.split())  # as read, whatever the line breaks
    for needed in ("other machines can reach it", "/__mock", "no authentication", "public defaults",
                   "ALLOWED_HOSTS", "drop --host"):  # fmt: skip
        assert needed in warning, needed


def test_exposure_warning_leaves_out_the_credentials_when_all_are_your_own() -> None:
    own = {
        "impilo": {"api_key": "a"},
        "heidi": {"api_key": "b", "jwt_secret": "c" * 32},
        "legit_health": {"token": "d"},
    }
    warning = exposure_warning("0.0.0.0", 8000, MockConfig(credentials=own), VENDORS)
    assert warning is not None and "public defaults" not in " ".join(warning.split())


def test_exposure_warning_names_only_the_defaults_left_when_some_credentials_are_your_own() -> None:
    own = {"impilo": {"api_key": "a"}, "heidi": {"jwt_secret": "c" * 32}}
    warning = " ".join((exposure_warning("0.0.0.0", 8000, MockConfig(credentials=own), VENDORS) or "").split())
    assert "The credentials of Heidi Health API, Legit.Health API are the public defaults" in warning
    assert "set HEIDI_API_KEY and LEGIT_HEALTH_TOKEN to your own" in warning


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_exposure_warning_is_none_when_listening_on_loopback(host: str) -> None:
    assert exposure_warning(host, 8000, MockConfig(), VENDORS) is None


def test_python_m_mocks_warns_and_asks_for_the_admin_token_when_started_on_every_interface() -> None:
    port, token = free_port(), "a-shared-mock-admin-token"
    shared = {"ADMIN_TOKEN": token, "CORS_ORIGINS": r"https://app\.example\.com", "IMPILO_API_KEY": "own-1",
              "HEIDI_API_KEY": "own-2", "HEIDI_JWT_SECRET": "own-3" * 8, "LEGIT_HEALTH_TOKEN": "own-4"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "mocks", "--host", "0.0.0.0", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **shared},
    )  # fmt: skip
    root = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(f"{root}/healthz", alive=lambda: process.poll() is None)
        page = httpx.get(f"{root}/").text
        sent = ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": f"Bearer {token}"})
        answers = [httpx.get(f"{root}/__mock/state", headers=headers).status_code for headers in sent]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert stderr.startswith(f"WARNING: the mock listens on 0.0.0.0:{port} (every network interface)")
    assert "only requests with the admin token" in " ".join(stderr.split()) and token not in stderr
    assert f"0.0.0.0:{port}" in page and "reachable from other machines" in page and "own-1" not in page
    assert answers == [401, 403, 200]


@pytest.mark.parametrize(
    ("listen", "shown", "absent"),
    [
        pytest.param(("0.0.0.0", 8000), ["0.0.0.0:8000", "reachable from other machines", "no authentication"],
                     "this machine only", id="every-interface"),
        pytest.param(("127.0.0.1", 8000), ["127.0.0.1:8000", "reachable from this machine only"],
                     "other machines", id="loopback"),
    ],
)  # fmt: skip
def test_landing_page_says_where_the_mock_is_reachable(
    make_client: Callable[..., TestClient], listen: tuple[str, int], shown: list[str], absent: str
) -> None:
    page = make_client(listen=listen).get("/").text
    for text in shown:
        assert text in page, text
    assert absent not in page
