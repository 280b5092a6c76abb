"""Credential checks, plugged into Connexion's own security middleware through its `security_map`.

Connexion instantiates security handlers without arguments, so each API gets handler subclasses made in
the app factory that close over that app's credentials. A missing credential is Connexion's 401
("No authorization token provided"); a wrong one is a `MockError` 401 in the vendor's shape.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from connexion.security import ApiKeySecurityHandler, BearerSecurityHandler

from mocks.config import Credentials
from mocks.http.errors import unauthorized

Check = Callable[..., dict[str, Any]]


def _handler(base: type, check: Check) -> type:
    """A subclass of a Connexion handler whose info function is `check` (instead of an x-*InfoFunc)."""

    def _resolve_func(self: object, security_scheme: dict[str, Any]) -> Check:
        return check

    return type(f"Mock{base.__name__}", (base,), {"_resolve_func": _resolve_func})


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def issue_heidi_jwt(
    credentials: Credentials, email: str, user_id: str, now: datetime | None = None
) -> tuple[str, datetime]:
    """An HS256 JWT for one Heidi API user, and its expiry time."""
    issued = now or datetime.now(UTC)
    expires = issued + timedelta(seconds=credentials.heidi_jwt_ttl_seconds)
    claims = {"sub": user_id, "email": email, "iat": int(issued.timestamp()), "exp": int(expires.timestamp())}
    return jwt.encode(claims, credentials.heidi_jwt_secret, algorithm="HS256"), expires


def security_map(api: str, credentials: Credentials) -> dict[str, type]:
    """Connexion `security_map` for one API."""
    bases = {"apiKey": ApiKeySecurityHandler, "bearer": BearerSecurityHandler}
    return {kind: _handler(bases[kind], check) for kind, check in credential_checks(api, credentials).items()}


def credential_checks(api: str, credentials: Credentials) -> dict[str, Check]:
    """One API's credential checks by Connexion scheme kind (`apiKey`, `bearer`): claims, or a 401 raised."""

    def impilo_key(api_key: str, required_scopes: Any = None) -> dict[str, Any]:
        if not _same(api_key, credentials.impilo_api_key):
            raise unauthorized("Invalid API key supplied in Impilo-API-Key header")
        return {"sub": "impilo-client"}

    def heidi_key(api_key: str, required_scopes: Any = None) -> dict[str, Any]:
        if not _same(api_key, credentials.heidi_api_key):
            raise unauthorized("Invalid Heidi-Api-Key", "InvalidApiKeyError")
        return {"sub": "heidi-vendor"}

    def heidi_jwt(token: str, required_scopes: Any = None) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, credentials.heidi_jwt_secret, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("Token has expired", "TokenExpiredError") from exc
        except jwt.InvalidTokenError as exc:
            raise unauthorized(f"Invalid token: {exc}", "InvalidTokenError") from exc
        return dict(claims)

    def legit_bearer(token: str, required_scopes: Any = None) -> dict[str, Any]:
        if not _same(token, credentials.legit_health_token):
            raise unauthorized("Invalid bearer token")
        return {"sub": "legit-health-client"}

    table: dict[str, dict[str, Check]] = {
        "impilo": {"apiKey": impilo_key},
        "heidi": {"apiKey": heidi_key, "bearer": heidi_jwt},
        "legit_health": {"bearer": legit_bearer},
    }
    return table[api]
