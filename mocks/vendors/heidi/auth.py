"""Heidi's credentials: the EHR vendor's API key (`Heidi-Api-Key`) for `GET /jwt`, which issues the HS256 JWT
(`Authorization: Bearer`) every other operation takes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from mocks.http.errors import unauthorized
from mocks.http.security import same
from mocks.vendor import Check, Setting

SETTINGS = (
    Setting("HEIDI_API_KEY", "api_key"),
    Setting("HEIDI_JWT_SECRET", "jwt_secret", "mock-heidi-jwt-signing-secret-not-for-production"),
    Setting("HEIDI_JWT_TTL", "jwt_ttl_seconds", 3600, kind=int, minimum=1, secret=False),
    # Heidi states no upload limit; the mock's (413 beyond it), for audio and context documents alike.
    # The pause between the pieces of a streamed consult note, so a frontend sees it arrive.
    Setting("HEIDI_STREAM_CHUNK_MS", "stream_chunk_ms", 20, kind=int, minimum=0, secret=False),
    Setting("HEIDI_MAX_UPLOAD_BYTES", "max_upload_bytes", 50 * 1024 * 1024, kind=int, minimum=1, secret=False),
)


def issue_jwt(
    credentials: Mapping[str, Any], email: str, user_id: str, now: datetime | None = None
) -> tuple[str, datetime]:
    """An HS256 JWT for one Heidi API user, and its expiry time."""
    issued = now or datetime.now(UTC)
    expires = issued + timedelta(seconds=credentials["jwt_ttl_seconds"])
    claims = {"sub": user_id, "email": email, "iat": int(issued.timestamp()), "exp": int(expires.timestamp())}
    return jwt.encode(claims, credentials["jwt_secret"], algorithm="HS256"), expires


def checks(credentials: Mapping[str, Any]) -> dict[str, Check]:
    def api_key(value: str, required_scopes: Any = None) -> dict[str, Any]:
        if not same(value, credentials["api_key"]):
            raise unauthorized("Invalid Heidi-Api-Key", "InvalidApiKeyError")
        return {"sub": "heidi-vendor"}

    def bearer(token: str, required_scopes: Any = None) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, credentials["jwt_secret"], algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("Token has expired", "TokenExpiredError") from exc
        except jwt.InvalidTokenError as exc:
            raise unauthorized(f"Invalid token: {exc}", "InvalidTokenError") from exc
        return dict(claims)

    return {"apiKey": api_key, "bearer": bearer}


def hint(credentials: Mapping[str, Any]) -> str:
    return f"Heidi-Api-Key: {credentials['api_key']} (GET /jwt, then Authorization: Bearer <token>)"
