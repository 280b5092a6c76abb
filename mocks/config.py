"""Settings of one mock server: seed, credentials, webhook schedule, limits. Read from env by `from_env`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

DEFAULT_CORS_ORIGINS = (r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?",)


@dataclass(frozen=True)
class Credentials:
    impilo_api_key: str = "mock-impilo-api-key"
    heidi_api_key: str = "mock-heidi-api-key"
    heidi_jwt_secret: str = "mock-heidi-jwt-signing-secret-not-for-production"
    heidi_jwt_ttl_seconds: int = 3600
    legit_health_token: str = "mock-legit-health-token"


@dataclass(frozen=True)
class MockConfig:
    seed: int = 0
    credentials: Credentials = field(default_factory=Credentials)
    # Seconds between webhook retries; the vendor waits 15/30/60 minutes, the mock 15/30/60 seconds.
    webhook_retry_schedule: tuple[float, ...] = (15.0, 30.0, 60.0)
    webhook_timeout_seconds: float = 5.0
    # Hosts webhooks may be delivered to; "*" allows any. Loopback only by default, so a mock run by a
    # fuzzer or a vendor example (https://example.com/webhook) never sends traffic off the machine.
    webhook_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
    max_body_bytes: int = 1_000_000
    validate_responses: bool = True
    cors_origin_regex: str = "|".join(DEFAULT_CORS_ORIGINS)

    def with_(self, **changes: object) -> MockConfig:
        return replace(self, **changes)  # type: ignore[arg-type]


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part.strip())


def from_env(seed: int | None = None, environ: dict[str, str] | None = None) -> MockConfig:
    """Config from `MOCK_*` / vendor credential variables; unknown values raise ValueError with the cause."""
    env = os.environ if environ is None else environ
    defaults = Credentials()
    credentials = Credentials(
        impilo_api_key=env.get("IMPILO_API_KEY", defaults.impilo_api_key),
        heidi_api_key=env.get("HEIDI_API_KEY", defaults.heidi_api_key),
        heidi_jwt_secret=env.get("HEIDI_JWT_SECRET", defaults.heidi_jwt_secret),
        heidi_jwt_ttl_seconds=int(env.get("HEIDI_JWT_TTL", defaults.heidi_jwt_ttl_seconds)),
        legit_health_token=env.get("LEGIT_HEALTH_TOKEN", defaults.legit_health_token),
    )
    base = MockConfig()
    return MockConfig(
        seed=int(env.get("SEED", base.seed)) if seed is None else seed,
        credentials=credentials,
        webhook_retry_schedule=_floats(env["WEBHOOK_RETRIES"])
        if "WEBHOOK_RETRIES" in env
        else base.webhook_retry_schedule,
        webhook_timeout_seconds=float(env.get("WEBHOOK_TIMEOUT", base.webhook_timeout_seconds)),
        webhook_hosts=tuple(h.strip() for h in env["WEBHOOK_HOSTS"].split(",") if h.strip())
        if "WEBHOOK_HOSTS" in env
        else base.webhook_hosts,
        max_body_bytes=int(env.get("MAX_BODY_BYTES", base.max_body_bytes)),
        validate_responses=env.get("VALIDATE_RESPONSES", "1") not in ("0", "false", "no"),
        cors_origin_regex=env.get("CORS_ORIGINS", base.cors_origin_regex),
    )
