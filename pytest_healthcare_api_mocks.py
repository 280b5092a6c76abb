"""The pytest plugin installed with the package (entry point `pytest11`): the mock APIs in your own tests.

A module of its own, beside the `mocks` package, so that importing the mock happens under its warning filter.

- `mock_apis`: every API of the mock served over HTTP on a free port for the test session (the server
  `make mock` runs: `mocks.serve.server.served`, Granian embedded), its state reset before each test.
- `mock_apis_asgi`: the same without a port, for `httpx.AsyncClient` through the ASGI transport.

Both hand the test a `MockAPIs`: each API's base URL and ready credential headers (a bearer obtained by
exchange already exchanged), `client(api)`, and what the mock holds and saw: `state()`, `journal()`,
`webhook_attempts()`, `outbox()`, plus `expect_request(...)` and `wait_for_webhook(...)` that fail with what
the mock did see. `@pytest.mark.mock_state("world")` (or `indirect` parametrization of either fixture)
starts a test from a state fixture file (mocks/dx/fixtures.py); `--mock-seed N` (ini `mock_seed`) seeds.
"""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

with warnings.catch_warnings():  # what connexion's imports warn about is not the downstream project's to fix
    warnings.simplefilter("ignore", DeprecationWarning)
    import specs
    from mocks.app import context_of, create_app
    from mocks.config import from_env
    from mocks.dx.fixtures import FixtureError, load_file
    from mocks.serve.server import embedded_server, served
    from mocks.vendor import Vendor
    from mocks.vendors import VENDORS

__all__ = ["MockAPIs", "credential_headers"]

MARKER = "mock_state"
SUFFIXES = ("", ".yaml", ".yml", ".json")
Get = Callable[[str, Mapping[str, str], Mapping[str, str]], httpx.Response]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("healthcare-api-mocks", "the mock APIs (mock_apis, mock_apis_asgi fixtures)")
    group.addoption("--mock-seed", type=int, default=None, help="seed of the mock APIs' data (ini: mock_seed; 0)")
    parser.addini("mock_seed", "seed of the mock APIs' data (default 0)", default="0")
    parser.addini("mock_states", "folder of named state fixture files for @pytest.mark.mock_state (from rootdir)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(name): start the test from a state fixture file of the mock APIs (path or name)"
    )


def _seed(config: pytest.Config) -> int:
    option = config.getoption("--mock-seed")
    return int(option if option is not None else config.getini("mock_seed") or 0)


def _exchange(spec: dict[str, Any], scheme: str) -> tuple[str, dict[str, str]]:
    """The GET operation secured by `scheme` alone (the exchange), and its required query parameters filled
    with the spec's examples."""
    for path, item in spec["paths"].items():
        operation = item.get("get") or {}
        if operation.get("security") == [{scheme: []}]:
            params = {
                p["name"]: str(p.get("example", p.get("schema", {}).get("example", "")))
                for p in operation.get("parameters", [])
                if p.get("in") == "query" and p.get("required")
            }
            return path, params
    raise LookupError(f"no GET operation secured by {scheme} alone to exchange a key for a bearer")


def credential_headers(vendor: Vendor, credentials: Mapping[str, Any], get: Get) -> dict[str, str]:
    """The headers a client of `vendor` sends, from its spec's security schemes and the mock's credentials;
    for `info.x-mock.auth: jwt-exchange`, the bearer its exchange operation answers (`get`: path, params,
    headers -> response)."""
    spec = specs.load(vendor.name)
    value = next(credentials[s.field] for s in vendor.settings if s.env in vendor.facts.credentials)
    schemes = spec.get("components", {}).get("securitySchemes", {})
    key = next(((n, s["name"]) for n, s in schemes.items() if s["type"] == "apiKey" and s.get("in") == "header"), None)
    if vendor.facts.auth == "jwt-exchange" and key is not None:
        path, params = _exchange(spec, key[0])
        response = get(f"{vendor.base_path}{path}", params, {key[1]: str(value)})
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['token']}"}
    if key is not None:
        return {key[1]: str(value)}
    return {"Authorization": f"Bearer {value}"}


class MockAPIs:
    """The mock APIs as a test sees them: where they are, how to call them, and what they hold and saw."""

    def __init__(self, app: Any, url: str, http: Any) -> None:
        self.app, self.url, self._http = app, url, http  # `http`: a sync client of the mock's root
        self.context = context_of(app)
        self.vendors: tuple[Vendor, ...] = self.context.vendors
        self.base_urls = {v.name: f"{url}{v.base_path}" for v in self.vendors}
        self._headers: dict[str, dict[str, str]] = {}
        token = self.context.config.admin_token  # ADMIN_TOKEN: the admin API asks for it
        self._admin = {"Authorization": f"Bearer {token}"} if token else {}

    def headers(self, api: str) -> dict[str, str]:
        """Ready credential headers of `api` (Heidi's JWT already exchanged), made once per test."""
        if api not in self._headers:
            vendor = self._vendor(api)
            get: Get = lambda path, params, headers: self._http.get(path, params=params, headers=headers)  # noqa: E731
            self._headers[api] = credential_headers(vendor, self.context.config.credentials_for(api), get)
        return dict(self._headers[api])

    def client(self, api: str, **options: Any) -> httpx.Client:
        """An `httpx.Client` on `api`'s base URL with its credentials (served variant; close it, or use `with`)."""
        return httpx.Client(base_url=self.base_urls[api], headers=self.headers(api), timeout=30, **options)

    def async_client(self, api: str, **options: Any) -> httpx.AsyncClient:
        """An `httpx.AsyncClient` on `api`: over the port, or in process through the ASGI transport."""
        if self.url == ASGI_ROOT:
            options.setdefault("transport", httpx.ASGITransport(app=served(self.app)))
        return httpx.AsyncClient(base_url=self.base_urls[api], headers=self.headers(api), timeout=30, **options)

    # --- what the mock holds and saw ---

    def state(self, api: str | None = None) -> dict[str, Any]:
        """Every stored record by API and collection (`GET /__mock/state`), or `api`'s collections."""
        exported: dict[str, Any] = self._read("/__mock/state")
        return exported if api is None else exported[api]

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """The vendor API requests the mock answered, oldest first; filters: api, method, path, status."""
        return self._read("/__mock/requests", {k: str(v) for k, v in filters.items() if v is not None})  # type: ignore[no-any-return]

    def webhook_attempts(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt (status, error, time); none when no API sends webhooks."""
        response = self._http.get("/__mock/webhooks/attempts", headers=self._admin)
        return response.json() if response.status_code == 200 else []  # type: ignore[no-any-return]

    def outbox(self, api: str | None = None) -> list[dict[str, Any]]:
        """What the mock "sent" (emails, SMS), of every API or of `api`."""
        return self._read("/__mock/outbox", {"api": api} if api else {})  # type: ignore[no-any-return]

    def load(self, path: str | Path) -> dict[str, dict[str, int]]:
        """Load a state fixture file now (all or nothing; `FixtureError` lists every problem)."""
        return load_file(self.context, path)

    def reset(self) -> None:
        """Back to the seed state (and the `FIXTURES` file, when set): journal, outbox and webhooks emptied."""
        self._headers.clear()
        response = self._http.post("/__mock/reset", headers=self._admin)
        assert response.status_code == 200, f"POST /__mock/reset answered {response.status_code}: {response.text}"

    # --- assertions that say what the mock did see ---

    def expect_request(self, method: str, path: str, status: int | None = None, **filters: Any) -> dict[str, Any]:
        """The latest journal entry for `method` on a path containing `path` (and `status`); when there is
        none, the test fails listing what the journal holds."""
        found = self.journal(method=method, path=path, status=status, **filters)
        if found:
            return found[-1]
        seen = [f"{e['method']} {e['path']} -> {e['status']}" for e in self.journal()][-20:]
        wanted = f"{method.upper()} {path}" + (f" -> {status}" if status is not None else "")
        pytest.fail(f"the mock saw no request {wanted}; it saw {len(seen)}: " + ("; ".join(seen) or "none"),
                    pytrace=False)  # fmt: skip

    def wait_for_webhook(
        self, webhook_type: str | None = None, status: int = 200, timeout: float = 10.0
    ) -> dict[str, Any]:
        """The first delivery attempt of `webhook_type` answered `status`, waited for up to `timeout` s; when
        none comes, the test fails listing the attempts made."""
        deadline = time.monotonic() + timeout
        while True:
            attempts = self.webhook_attempts()
            for attempt in attempts:
                if attempt.get("status") == status and webhook_type in (None, attempt.get("webhookType")):
                    return attempt
            if time.monotonic() > deadline:
                made = [
                    f"{a.get('webhookType')} to {a.get('url')}: {a.get('status') or a.get('error')}" for a in attempts
                ]
                pytest.fail(f"no {webhook_type or 'webhook'} delivery answered {status} within {timeout:g} s; "
                            f"attempts: {'; '.join(made) or 'none'}", pytrace=False)  # fmt: skip
            time.sleep(0.05)

    def _read(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        response = self._http.get(path, params=params or {}, headers=self._admin)
        assert response.status_code == 200, f"GET {path} answered {response.status_code}: {response.text}"
        return response.json()

    def _vendor(self, api: str) -> Vendor:
        found = next((v for v in self.vendors if v.name == api), None)
        if found is None:
            raise KeyError(f"no API {api!r}; the mock serves {', '.join(v.name for v in self.vendors)}")
        return found


ASGI_ROOT = "http://localhost"  # a name the mock serves (its Host check refuses others)


class _Served:
    """One mock app served on 127.0.0.1 on a free port, on its own event loop in a background thread."""

    def __init__(self, seed: int) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        config = from_env(seed=seed, vendors=VENDORS).with_(own_ports=(self.port,))
        self.app = _app(config)
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = embedded_server(served(self.app), "127.0.0.1", self.port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.loop.run_until_complete(self.server.serve())
        # as `asyncio.run` does when `make mock` stops: what is still pending is cancelled and awaited
        self.loop.run_until_complete(_cancel_pending())

    def __enter__(self) -> _Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the mock APIs did not start on {self.url}")
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()
        _stop_deliveries(self.app)


async def _cancel_pending() -> None:
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _app(config: Any) -> Any:
    """`create_app`, quietly: what connexion warns about as it loads is not the downstream project's to fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return create_app(config=config)


def _stop_deliveries(app: Any) -> None:
    for service in context_of(app).services.values():
        close = getattr(getattr(service, "webhooks", None), "close", None)
        if close is not None:
            close()


def _state_file(request: pytest.FixtureRequest) -> Path | None:
    """The state fixture the test asks for (`mock_state` marker or indirect parameter), as a file."""
    marker = request.node.get_closest_marker(MARKER)
    name = marker.args[0] if marker and marker.args else getattr(request, "param", None)
    if name is None:
        return None
    folders = [Path(request.node.path).parent, Path(request.node.path).parent / "fixtures"]
    configured = request.config.getini("mock_states")
    if configured:
        folders.append(Path(request.config.rootpath) / str(configured))
    candidates = [Path(name)] if Path(name).is_absolute() else [f / f"{name}{s}" for f in folders for s in SUFFIXES]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        pytest.fail(f"{MARKER}({name!r}): no such state fixture file; looked for " + ", ".join(map(str, candidates)),
                    pytrace=False)  # fmt: skip
    return found


def _prepared(apis: MockAPIs, request: pytest.FixtureRequest) -> MockAPIs:
    apis.reset()
    path = _state_file(request)
    problem = None
    if path is not None:
        try:
            apis.load(path)
        except FixtureError as exc:
            problem = str(exc)
    if problem is not None:  # outside the `except`: the failure is the problems, not a chained traceback
        pytest.fail(problem, pytrace=False)
    return apis


@pytest.fixture(scope="session")
def mock_apis_server(pytestconfig: pytest.Config) -> Iterator[MockAPIs]:
    """The mock APIs served on a free port for the whole session (state not reset: use `mock_apis`)."""
    with _Served(_seed(pytestconfig)) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield MockAPIs(server.app, server.url, http)


@pytest.fixture
def mock_apis(mock_apis_server: MockAPIs, request: pytest.FixtureRequest) -> MockAPIs:
    """The session's mock APIs over HTTP, reset to the seed (and the test's `mock_state`) before the test."""
    return _prepared(mock_apis_server, request)


@pytest.fixture(scope="session")
def mock_apis_app(pytestconfig: pytest.Config) -> Iterator[MockAPIs]:
    """The mock APIs in this process, no port, for the whole session (state not reset: use `mock_apis_asgi`)."""
    with warnings.catch_warnings():  # Starlette's notice about httpx: its test client is what serves here
        warnings.simplefilter("ignore", DeprecationWarning)
        from starlette.testclient import TestClient
    app = _app(from_env(seed=_seed(pytestconfig), vendors=VENDORS))
    with TestClient(served(app), base_url=ASGI_ROOT) as http:  # type: ignore[arg-type]
        yield MockAPIs(app, ASGI_ROOT, http)
    _stop_deliveries(app)


@pytest.fixture
def mock_apis_asgi(mock_apis_app: MockAPIs, request: pytest.FixtureRequest) -> MockAPIs:
    """The in-process mock APIs, reset before the test; call them with `await`-able `async_client(api)`."""
    return _prepared(mock_apis_app, request)
