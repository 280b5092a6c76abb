"""Impilo's credential: one API key in the `Impilo-API-Key` header."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mocks.http.errors import unauthorized
from mocks.http.security import same
from mocks.vendor import Check, Setting

SETTINGS = (Setting("IMPILO_API_KEY", "api_key"),)


def checks(credentials: Mapping[str, Any]) -> dict[str, Check]:
    def api_key(value: str, required_scopes: Any = None) -> dict[str, Any]:
        if not same(value, credentials["api_key"]):
            raise unauthorized("Invalid API key supplied in Impilo-API-Key header")
        return {"sub": "impilo-client"}

    return {"apiKey": api_key}


def hint(credentials: Mapping[str, Any]) -> str:
    return f"Impilo-API-Key: {credentials['api_key']}"
