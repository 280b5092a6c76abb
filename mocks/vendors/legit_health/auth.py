"""Legit.Health's credential: one bearer token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mocks.http.errors import unauthorized
from mocks.http.security import same
from mocks.vendor import Check, Setting

SETTINGS = (Setting("LEGIT_HEALTH_TOKEN", "token"),)


def checks(credentials: Mapping[str, Any]) -> dict[str, Check]:
    def bearer(token: str, required_scopes: Any = None) -> dict[str, Any]:
        if not same(token, credentials["token"]):
            raise unauthorized("Invalid bearer token")
        return {"sub": "legit-health-client"}

    return {"bearer": bearer}


def hint(credentials: Mapping[str, Any]) -> str:
    return f"Authorization: Bearer {credentials['token']}"
