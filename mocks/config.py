"""Settings of one mock server: seed, credentials, webhook schedule, limits. Read from env by `from_env`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from mocks.apis import APIS
from mocks.values import Delay, parse_delay, parse_rate

DEFAULT_CORS_ORIGINS = (r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?",)


@dataclass(frozen=True)
class Credentials:
    impilo_api_key: str = "mock-impilo-api-key"
    heidi_api_key: str = "mock-heidi-api-key"
    heidi_jwt_secret: str = "mock-heidi-jwt-signing-secret-not-for-production"
    heidi_jwt_ttl_seconds: int = 3600
    legit_health_token: str = "mock-legit-health-token"


@dataclass(frozen=True)
class Conditions:
    """Simulated network conditions of one API: added latency, and the share of requests answered with one
    of the operation's documented 5xx/429 responses (operations documenting none are never failed)."""

    latency_ms: Delay = (0, 0)
    error_rate: float = 0.0


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
    # Ports the mock itself listens on (OWN_PORTS; `python -m mocks` adds its --port): webhooks to this machine
    # on them are refused, as are webhooks to /__mock paths (mocks/webhooks/policy.py).
    own_ports: tuple[int, ...] = ()
    max_body_bytes: int = 1_000_000
    # Seconds a request's body has to arrive once the mock starts reading it (BODY_TIMEOUT); a body still
    # incomplete then is answered 408 and its connection closed (mocks/serve/server.py `BodyDeadline`).
    body_timeout_seconds: float = 10.0
    validate_responses: bool = True
    cors_origin_regex: str = "|".join(DEFAULT_CORS_ORIGINS)
    # SQLite file holding the state (STATE=...): survives restarts and is shared by WORKERS processes.
    # None keeps everything in memory (the default).
    state_file: str | None = None
    conditions: Mapping[str, Conditions] = field(default_factory=dict)  # API name -> conditions; default none
    journal_size: int = 500  # requests kept by /__mock/requests
    access_log: bool = False
    # Answer the requests a compiled plan can serve alone ahead of Connexion's chain (mocks/http/fast_path.py).
    fast_path: bool = True
    # Names a request's Host may give besides localhost, 127.0.0.1 and [::1] (ALLOWED_HOSTS, comma list;
    # "*.example.com" covers its subdomains, "*" any name). Any other Host is refused (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()
    # (host, port) `python -m mocks` listens on (--host/--port); None in process. Its host is a served name
    # unless it is a wildcard (0.0.0.0, ::); the landing page and the start-up warning say who can reach it.
    listen: tuple[str, int] | None = None

    def conditions_for(self, api: str) -> Conditions:
        return self.conditions.get(api, Conditions())

    def with_(self, **changes: object) -> MockConfig:
        return replace(self, **changes)  # type: ignore[arg-type]


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part.strip())


def _set(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, or None when unset or empty (make passes empty variables through)."""
    return env.get(name) or None


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    text = _set(env, name)
    if text is None:
        return default
    if not text.strip().isdigit() or int(text) < minimum:
        raise ValueError(f"{name}={text!r} is not a whole number >= {minimum}; use e.g. {name}={default}")
    return int(text)


def _ports(env: Mapping[str, str], name: str) -> tuple[int, ...]:
    parts = [part.strip() for part in (_set(env, name) or "").split(",") if part.strip()]
    if not all(part.isdigit() and 0 < int(part) < 65536 for part in parts):
        raise ValueError(f"{name}={env[name]!r} is not a list of TCP ports; use e.g. {name}=8000,8001")
    return tuple(int(part) for part in parts)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = _set(env, name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ValueError(f"{name}={text!r} is not a number of seconds > 0; use e.g. {name}={default:g}")
    return value


def _conditions(env: Mapping[str, str]) -> dict[str, Conditions]:
    """LATENCY / ERROR_RATE for every API, overridden per API by e.g. IMPILO_LATENCY, HEIDI_ERROR_RATE."""
    found = {}
    for api in APIS:
        latency = next((n for n in (f"{api.name.upper()}_LATENCY", "LATENCY") if _set(env, n)), None)
        rate = next((n for n in (f"{api.name.upper()}_ERROR_RATE", "ERROR_RATE") if _set(env, n)), None)
        found[api.name] = Conditions(
            latency_ms=parse_delay(env[latency], latency) if latency else (0, 0),
            error_rate=parse_rate(env[rate], rate) if rate else 0.0,
        )
    return found


def _hosts(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma list of host names (any port): "*" only alone or as a "*." prefix (Starlette's TrustedHost
    rule), no port (one colon: an IPv6 address has more)."""
    hosts = tuple(h.strip().lower() for h in (_set(env, name) or "").split(",") if h.strip())
    for host in hosts:
        wildcard = "*" in host[1:] or (host.startswith("*") and host != "*" and not host.startswith("*."))
        if wildcard or host.count(":") == 1 or "]:" in host:
            raise ValueError(
                f"{name}: {host!r} is not a host name (no port; '*' alone or as a '*.' prefix); "
                f"use e.g. {name}=mock.internal,*.example.com,192.168.1.20"
            )
    return hosts


def _listen(env: Mapping[str, str]) -> tuple[str, int] | None:
    """MOCK_LISTEN=host:port, set by `python -m mocks` for the processes it starts."""
    host, _, port = (_set(env, "MOCK_LISTEN") or "").rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def from_env(seed: int | None = None, environ: dict[str, str] | None = None) -> MockConfig:
    """Config from `MOCK_*` / vendor credential variables; unknown values raise ValueError with the cause."""
    env = os.environ if environ is None else environ
    defaults = Credentials()
    credentials = Credentials(
        impilo_api_key=env.get("IMPILO_API_KEY", defaults.impilo_api_key),
        heidi_api_key=env.get("HEIDI_API_KEY", defaults.heidi_api_key),
        heidi_jwt_secret=env.get("HEIDI_JWT_SECRET", defaults.heidi_jwt_secret),
        heidi_jwt_ttl_seconds=_int(env, "HEIDI_JWT_TTL", defaults.heidi_jwt_ttl_seconds, minimum=1),
        legit_health_token=env.get("LEGIT_HEALTH_TOKEN", defaults.legit_health_token),
    )
    base = MockConfig()
    return MockConfig(
        seed=_int(env, "SEED", base.seed) if seed is None else seed,
        credentials=credentials,
        webhook_retry_schedule=_floats(env["WEBHOOK_RETRIES"])
        if "WEBHOOK_RETRIES" in env
        else base.webhook_retry_schedule,
        webhook_timeout_seconds=float(env.get("WEBHOOK_TIMEOUT", base.webhook_timeout_seconds)),
        webhook_hosts=tuple(h.strip() for h in env["WEBHOOK_HOSTS"].split(",") if h.strip())
        if "WEBHOOK_HOSTS" in env
        else base.webhook_hosts,
        own_ports=_ports(env, "OWN_PORTS"),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", base.max_body_bytes, minimum=1),
        body_timeout_seconds=_seconds(env, "BODY_TIMEOUT", base.body_timeout_seconds),
        validate_responses=env.get("VALIDATE_RESPONSES", "1") not in ("0", "false", "no"),
        cors_origin_regex=env.get("CORS_ORIGINS", base.cors_origin_regex),
        conditions=_conditions(env),
        journal_size=_int(env, "JOURNAL_SIZE", base.journal_size, minimum=1),
        access_log=env.get("ACCESS_LOG", "0") not in ("", "0", "false", "no"),
        state_file=env.get("STATE") or None,
        fast_path=env.get("FAST_PATH", "1") not in ("0", "false", "no"),
        allowed_hosts=_hosts(env, "ALLOWED_HOSTS"),
        listen=_listen(env),
    )
