"""Where webhooks may go: refusals at registration (400 in Impilo's shape, nothing stored) and at delivery
(a logged attempt, nothing sent), decided on the resolved address with a fake resolver (the machine has no
outside DNS); the mock's own port and admin paths; failed attempts that do not tell closed ports from open."""

from __future__ import annotations

import asyncio
import socket
import socketserver
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mocks import __main__ as cli
from mocks import context_of
from mocks.config import from_env
from mocks.webhooks import policy as webhook_policy
from tests.support.examples import PATIENT_MINIMAL
from tests.support.helpers import IMPILO_KEY, base, free_port, state, wait_until
from tests.support.live import LiveServer
from tests.support.receiver import Receiver
from tests.support.webhooks import attempts, dispatcher, logs

B = base("impilo")
PUBLIC = "93.184.216.34"  # a public address: nothing in these tests connects to it


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A fake resolver: the names in the returned table resolve to its addresses, others as the machine does."""
    table: dict[str, list[str]] = {}
    real = webhook_policy.resolve

    async def fake(host: str, port: int) -> list[str]:
        return list(table[host]) if host in table else await real(host, port)

    monkeypatch.setattr(webhook_policy, "resolve", fake)
    return table


def port_of(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


def register(client: TestClient | httpx.Client, url: str, event: str = "patient.created") -> httpx.Response:
    return client.post(f"{B}/webhook", json={"type": event, "url": url}, headers=IMPILO_KEY)


def stored_hooks(client: TestClient) -> list[dict[str, Any]]:
    return state(client, "impilo")["webhooks"]  # type: ignore[no-any-return]


def store_hook(client: TestClient, url: str) -> None:
    """A webhook stored without registration, as a state file written before these rules holds it."""
    hooks = context_of(client.app).services["impilo"].records.webhooks  # type: ignore[arg-type]
    hooks.add(lambda key: {"id": key, "type": "patient.created", "url": url})


def assert_refused_in_impilo_shape(response: httpx.Response, path: str, words: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["status"], body["error"], body["path"]) == (400, "Bad Request", path)
    assert words in body["message"], body["message"]


REFUSED_AT_REGISTRATION = [
    pytest.param("http://127.attacker.example/hook", {"127.attacker.example": [PUBLIC]}, (), "starts like a loopback",
                 id="name-starting-with-127"),
    pytest.param("http://127.0.0.1.nip.io/hook", {"127.0.0.1.nip.io": [PUBLIC]}, (), "starts like a loopback",
                 id="nip-io-resolving-to-a-public-address"),
    pytest.param("http://127.0.0.1.nip.io:9/hook", {"127.0.0.1.nip.io": ["127.0.0.1"]}, (), "starts like a loopback",
                 id="nip-io-resolving-to-loopback"),
    pytest.param("http://app.10.0.0.7.sslip.io/hook", {}, (), "spells a private address (10.0.0.7)",
                 id="name-spelling-a-private-ip"),
    pytest.param("http://localhost.attacker.example/hook", {}, (), "looks like localhost", id="localhost-lookalike"),
    pytest.param("http://2130706433:9/hook", {}, (), "loopback address (127.0.0.1) in a non-standard notation",
                 id="decimal-ipv4"),
    pytest.param("http://intranet.example/hook", {"intranet.example": ["10.1.2.3"]}, (), "resolves to 10.1.2.3",
                 id="name-resolving-to-a-private-address"),
    pytest.param("http://inward.example:9/hook", {"inward.example": ["127.0.0.1"]}, (), "resolves to 127.0.0.1",
                 id="unlisted-name-resolving-to-loopback"),
    pytest.param("http://169.254.169.254/latest/meta-data/", {}, (), "link-local", id="cloud-metadata-address"),
    pytest.param("http://0.0.0.0:9/hook", {}, (), "unspecified", id="unspecified-address"),
    pytest.param("http://127.0.0.1:9/__mock/reset", {}, (), "admin API", id="admin-path-on-another-port"),
    pytest.param("http://[::1]:9/__mock", {}, (), "admin API", id="admin-root-on-ipv6-loopback"),
    pytest.param("http://127.0.0.1:9/%5F%5Fmock/reset", {}, (), "admin API", id="admin-path-percent-encoded"),
    pytest.param("http://localhost:9/hook/..//__mock/reset", {}, (), "admin API", id="admin-path-behind-dot-segments"),
    pytest.param("http://127.0.0.1:8000/impilo/api/v3/patient", {}, (8000,), "own address", id="own-port"),
    pytest.param("http://localhost:8000/", {}, (8000,), "own address", id="own-port-by-name"),
    pytest.param("http://[::ffff:127.0.0.1]:8000/", {}, (8000,), "own address", id="own-port-ipv4-mapped"),
    pytest.param("http://127.9.9.9:8000/", {}, (8000,), "own address", id="own-port-other-loopback-address"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "names", "own_ports", "words"), REFUSED_AT_REGISTRATION)
def test_webhook_registration_is_refused_with_400_and_nothing_stored_when_the_url_is_a_disguise_or_the_mock(
    make_client: Callable[..., TestClient],
    dns: dict[str, list[str]],
    url: str,
    names: dict[str, list[str]],
    own_ports: tuple[int, ...],
    words: str,
) -> None:
    dns.update(names)
    client = make_client(own_ports=own_ports)
    assert_refused_in_impilo_shape(register(client, url), f"{B}/webhook", words)
    assert stored_hooks(client) == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        pytest.param("http://127.0.0.1:9/__mock/reset", "admin API", id="admin-path"),
        pytest.param("http://127.attacker.example/hook", "starts like a loopback", id="name-starting-with-127"),
    ],
)
def test_webhook_update_is_refused_with_400_and_keeps_the_old_url_when_the_new_url_is_refused(
    make_client: Callable[..., TestClient], url: str, words: str
) -> None:
    client = make_client()
    hook = register(client, "http://127.0.0.1:9/hook").json()
    response = client.patch(f"{B}/webhook/{hook['id']}", json={"url": url}, headers=IMPILO_KEY)
    assert_refused_in_impilo_shape(response, f"{B}/webhook/{hook['id']}", words)
    assert stored_hooks(client) == [hook]
    assert client.patch(f"{B}/webhook/999", json={"url": url}, headers=IMPILO_KEY).status_code == 404


@pytest.mark.parametrize(
    ("url", "names", "hosts"),
    [
        pytest.param("https://example.com/webhook", {}, None, id="seed-example-not-resolving"),
        pytest.param("https://example.com/webhook", {"example.com": [PUBLIC]}, None, id="seed-example-public"),
        pytest.param("http://127.0.0.1:9/hook", {}, None, id="loopback-address"),
        pytest.param("http://127.0.0.2:9/hook", {}, None, id="other-loopback-address"),
        pytest.param("http://localhost:9/hook", {}, None, id="localhost"),
        pytest.param("http://[::1]:9/hook", {}, None, id="ipv6-loopback"),
        pytest.param("http://hooks.internal:9/hook", {"hooks.internal": ["10.0.0.5"]}, ("hooks.internal",),
                     id="listed-name-resolving-to-a-private-address"),
        pytest.param("http://127.0.0.1.nip.io:9/hook", {"127.0.0.1.nip.io": ["10.0.0.5"]}, ("*",),
                     id="any-host-allowed"),
    ],
)  # fmt: skip
def test_webhook_registration_is_accepted_when_the_host_is_allowed_or_an_ordinary_public_host(
    make_client: Callable[..., TestClient],
    dns: dict[str, list[str]],
    url: str,
    names: dict[str, list[str]],
    hosts: tuple[str, ...] | None,
) -> None:
    dns.update(names)
    client = make_client(**({"webhook_hosts": hosts} if hosts else {}))
    response = register(client, url)
    assert response.status_code == 200, response.text
    assert stored_hooks(client) == [response.json()]


def test_webhook_registration_is_refused_when_any_host_is_allowed_but_the_url_is_the_mock(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(webhook_hosts=("*",), own_ports=(8000,))
    assert_refused_in_impilo_shape(register(client, "http://127.0.0.1:8000/"), f"{B}/webhook", "own address")
    assert_refused_in_impilo_shape(register(client, "http://localhost:1/__mock/reset"), f"{B}/webhook", "admin API")
    assert stored_hooks(client) == []


def refused_attempt(client: TestClient) -> dict[str, Any]:
    """The one attempt of the one delivery (after it is finished)."""
    client.post(f"{B}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
    assert wait_until(lambda: attempts(client) and not dispatcher(client).unfinished)
    [attempt] = attempts(client)
    return attempt


LOOPBACK_DEFAULT = ("localhost", "127.0.0.1", "::1")


@pytest.mark.parametrize(
    ("path", "host", "names", "hosts", "own", "words"),
    [
        pytest.param("/hook", "127.0.0.1", {}, LOOPBACK_DEFAULT, True, "own address", id="own-port"),
        pytest.param("/__mock/reset", "127.0.0.1", {}, LOOPBACK_DEFAULT, False, "admin API", id="admin-path"),
        pytest.param("/hook", "127.0.0.1.nip.io", {"127.0.0.1.nip.io": [PUBLIC]}, LOOPBACK_DEFAULT, False,
                     "is not a listed name", id="nip-io-resolving-to-a-public-address"),
        pytest.param("/hook", "127.0.0.1.nip.io", {"127.0.0.1.nip.io": ["127.0.0.1"]}, LOOPBACK_DEFAULT, False,
                     "is not a listed name", id="nip-io-resolving-to-loopback"),
        pytest.param("/hook", "127.attacker.example", {"127.attacker.example": [PUBLIC]}, LOOPBACK_DEFAULT, False,
                     "is not a listed name", id="name-starting-with-127"),
        pytest.param("/hook", "hooks.test", {"hooks.test": ["127.0.0.1"]}, ("hooks.test",), True,
                     "own address (127.0.0.1 port", id="listed-name-resolving-to-the-mocks-port"),
        pytest.param("/__mock/reset", "hooks.test", {"hooks.test": ["::1", "127.0.0.1"]}, ("*",), False,
                     "admin API", id="any-host-allowed-name-resolving-to-an-admin-path"),
    ],
)  # fmt: skip
def test_webhook_delivery_is_refused_and_logged_without_a_request_when_the_target_is_not_allowed(
    make_client: Callable[..., TestClient],
    receiver: Receiver,
    dns: dict[str, list[str]],
    path: str,
    host: str,
    names: dict[str, list[str]],
    hosts: tuple[str, ...],
    own: bool,
    words: str,
) -> None:
    dns.update(names)
    port = port_of(receiver.url)
    client = make_client(webhook_hosts=hosts, own_ports=(port,) if own else ())
    store_hook(client, f"http://{host}:{port}{path}")
    attempt = refused_attempt(client)
    assert attempt["status"] is None and attempt["error"].startswith("not delivered:") and words in attempt["error"]
    assert receiver.arrived == 0
    [row] = logs(client)
    assert (row["retryAttempts"], row["lastResponseStatus"]) == (0, 0)  # refused, not retried


@pytest.mark.parametrize("hosts", [pytest.param(("receiver.test",), id="listed-name"),
                                   pytest.param(("*",), id="any-host-allowed")])  # fmt: skip
def test_webhook_delivery_connects_to_the_address_it_checked_when_the_host_is_a_name(
    make_client: Callable[..., TestClient], receiver: Receiver, dns: dict[str, list[str]], hosts: tuple[str, ...]
) -> None:
    dns["receiver.test"] = ["127.0.0.1"]  # only the fake resolver knows this name
    client = make_client(webhook_hosts=hosts)
    url = receiver.url.replace("127.0.0.1", "receiver.test")
    assert register(client, url).status_code == 200
    client.post(f"{B}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
    [delivery] = receiver.wait_for(1)
    assert delivery["headers"]["Host"] == f"receiver.test:{port_of(receiver.url)}"
    assert delivery["body"]["type"] == "patient.created"


def test_webhook_delivery_is_decided_again_on_the_address_when_dns_changed_after_registration(
    make_client: Callable[..., TestClient], receiver: Receiver, dns: dict[str, list[str]]
) -> None:
    port = port_of(receiver.url)
    client = make_client(webhook_hosts=("*",), own_ports=(port,))
    dns["rebind.example"] = [PUBLIC]
    assert register(client, f"http://rebind.example:{port}/hook").status_code == 200  # public: accepted
    dns["rebind.example"] = ["127.0.0.1"]  # and now the mock's own address
    attempt = refused_attempt(client)
    assert "own address" in attempt["error"] and receiver.arrived == 0


class _NotHttp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")


def test_webhook_failed_attempts_read_the_same_when_the_port_is_closed_or_not_http(
    make_client: Callable[..., TestClient],
) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _NotHttp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = make_client(webhook_retry_schedule=())
        register(client, f"http://127.0.0.1:{free_port()}/closed")
        register(client, f"http://127.0.0.1:{server.server_address[1]}/ssh")
        client.post(f"{B}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
        assert wait_until(lambda: len(attempts(client)) == 2 and not dispatcher(client).unfinished)
    finally:
        server.shutdown()
        server.server_close()
    assert [(a["status"], a["error"]) for a in attempts(client)] == [(None, "connection failed")] * 2


def test_webhook_registration_is_refused_when_the_url_is_the_live_servers_own_port(fresh_server: LiveServer) -> None:
    with httpx.Client(base_url=fresh_server.url) as http:
        for url in (f"http://127.0.0.1:{fresh_server.port}/healthz", f"http://localhost:{fresh_server.port}/"):
            assert_refused_in_impilo_shape(register(http, url), f"{B}/webhook", "own address")
        assert http.get(f"{B}/webhook", headers=IMPILO_KEY).json()["content"] == []


def test_webhook_policy_own_ports_come_from_the_command_line_and_own_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []
    monkeypatch.setattr(cli, "build", lambda config: built.append(config) or object())
    monkeypatch.setattr(cli, "run", lambda *args: None)
    monkeypatch.setenv("OWN_PORTS", "9001")
    port = free_port()
    assert cli.main(["--port", str(port)]) == 0
    assert set(built[0].own_ports) == {port, 9001}


def test_webhook_policy_own_ports_variable_is_refused_when_not_ports() -> None:
    with pytest.raises(ValueError, match="OWN_PORTS='http' is not a list of TCP ports"):
        from_env(environ={"OWN_PORTS": "http"})


def test_webhook_policy_resolves_names_with_the_loops_getaddrinfo() -> None:
    assert asyncio.run(webhook_policy.resolve("localhost", 80)) == list(
        dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM))
    )
