"""Acme's credential: one API key in `X-Acme-Key` (its default is the spec's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mocks.http.errors import unauthorized
from mocks.http.security import same
from mocks.vendor import Check, Setting

SETTINGS = (Setting("ACME_API_KEY", "api_key"),)


def checks(credentials: Mapping[str, Any]) -> dict[str, Check]:
    def api_key(value: str, required_scopes: Any = None) -> dict[str, Any]:
        if not same(value, credentials["api_key"]):
            raise unauthorized("X-Acme-Key is not a key of this account")
        return {"sub": "acme-client"}

    return {"apiKey": api_key}


def hint(credentials: Mapping[str, Any]) -> str:
    return f"X-Acme-Key: {credentials['api_key']}"
