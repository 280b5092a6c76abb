"""Two-step auth for Schemathesis (`info.x-mock.auth: jwt-exchange`, Heidi's): exchange the API key at GET /jwt,
send the JWT as a bearer.

The token is cached and fetched again every `JWT_REFRESH_SECONDS` (well inside the 1-hour lifetime the
mock gives, and the vendor's), so long runs never send an expired token.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import httpx

JWT_REFRESH_SECONDS = 300


class ConfigurationError(RuntimeError):
    """The suite cannot run as configured (bad credentials, unreachable server...)."""


def jwt_fetcher(app: Any, base_url: str | None) -> Callable[[], str]:
    """A function returning a fresh Heidi JWT, over HTTP or from an in-process ASGI app."""
    params = {
        "email": os.environ.get("HEIDI_USER_EMAIL", "test@heidihealth.com"),
        "third_party_internal_id": os.environ.get("HEIDI_USER_ID", "contract-suite"),
    }

    def fetch() -> str:
        headers = {"Heidi-Api-Key": os.environ.get("HEIDI_API_KEY", "")}
        if app is not None:
            from starlette.testclient import TestClient

            # a Host the mock serves (the test client's own, `testserver`, is refused)
            client = TestClient(app, base_url="http://localhost")
            response: Any = client.get(f"{base_url}/jwt", params=params, headers=headers)
        else:
            try:
                response = httpx.get(f"{base_url}/jwt", params=params, headers=headers, timeout=30)
            except httpx.HTTPError as exc:
                raise ConfigurationError(f"cannot reach {base_url}/jwt: {exc}") from exc
        if response.status_code != 200:
            raise ConfigurationError(f"GET {base_url}/jwt answered {response.status_code}: check HEIDI_API_KEY")
        return str(response.json()["token"])

    return fetch


def jwt_exchange_auth(fetch: Callable[[], str]) -> type:
    """A Schemathesis auth provider class that sets `Authorization: Bearer <jwt>` on every case."""

    class HeidiJwtAuth:
        def get(self, case: Any, ctx: Any) -> str:
            return fetch()

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return HeidiJwtAuth
