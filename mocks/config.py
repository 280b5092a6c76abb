"""Settings of one mock server: seed, credentials, webhook schedule, limits. Read from env by `from_env`.

What is particular to an API (its credential variables, its `<NAME>_LATENCY`) comes from the rows of the
vendors it is given (`Configurable`: a vendor's name, settings and their defaults); this module names none.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from mocks.values import Delay, parse_delay, parse_rate

DEFAULT_CORS_ORIGINS = (r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?",)
ADMIN_TOKEN_MIN = 16


@dataclass(frozen=True)
class Setting:
    """One configurable value of a vendor: the variable that sets it, the field of the vendor's credentials
    it fills, and its default (None: the spec's `info.x-mock.credentials` value for `env`). `kind` int takes
    whole numbers >= `minimum`. A `secret` left at its public default is named by the exposure warning."""

    env: str
    field: str
    default: Any = None
    kind: type = str
    minimum: int = 0
    secret: bool = True

    def read(self, env: Mapping[str, str], default: Any) -> Any:
        if self.kind is int:
            return _int(env, self.env, default, self.minimum)
        return env.get(self.env, default)


class Configurable(Protocol):
    """What `from_env` needs of a vendor (`mocks.vendor.Vendor` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def settings(self) -> Sequence[Setting]: ...

    def defaults(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Conditions:
    """Simulated network conditions of one API: added latency, and the share of requests answered with one
    of the operation's documented 5xx/429 responses (operations documenting none are never failed)."""

    latency_ms: Delay = (0, 0)
    error_rate: float = 0.0


@dataclass(frozen=True)
class MockConfig:
    seed: int = 0
    # API name -> credential field -> value (`Setting.field`); what is missing is the vendor's default,
    # filled in by `with_defaults` (create_app does): {"heidi": {"jwt_ttl_seconds": 60}} changes one value.
    credentials: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
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
    # A state fixture file (FIXTURES=...) loaded once the store is seeded, and again after each reset.
    fixtures: str | None = None
    # ADMIN_TOKEN: when set, the admin API (`/__mock/*`) answers only `Authorization: Bearer <it>`
    # (mocks/http/guard.py); required to listen beyond loopback. Kept out of the repr (logs, tracebacks).
    admin_token: str | None = field(default=None, repr=False)
    # The validating proxy (mocks/proxy/): API name -> the vendor's (or a sandbox's) base URL its requests go
    # to (UPSTREAM_<NAME>), the operationIds the mock still serves itself (MOCKED_<NAME>), and the folder
    # upstream exchanges are recorded into (RECORD). No upstream: the proxy is not installed at all.
    upstreams: Mapping[str, str] = field(default_factory=dict)
    mocked: Mapping[str, frozenset[str]] = field(default_factory=dict)
    record_dir: str | None = None
    examples_file: str | None = None  # EXAMPLES: named examples recorded by RECORD, added to the served specs
    upstream_timeout_seconds: float = 30.0

    def conditions_for(self, api: str) -> Conditions:
        return self.conditions.get(api, Conditions())

    def credentials_for(self, api: str) -> Mapping[str, Any]:
        """One API's credential values by field (`api_key`, `jwt_secret` ...)."""
        return self.credentials.get(api, {})

    def with_defaults(self, vendors: Iterable[Configurable]) -> MockConfig:
        """This config with each vendor's default credentials where it gives none."""
        filled = {v.name: {**v.defaults(), **self.credentials.get(v.name, {})} for v in vendors}
        return self.with_(credentials={**self.credentials, **filled})

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


def _conditions(env: Mapping[str, str], names: Iterable[str]) -> dict[str, Conditions]:
    """LATENCY / ERROR_RATE for every API, overridden per API by `<NAME>_LATENCY`, `<NAME>_ERROR_RATE`."""
    found = {}
    for name in names:
        latency = next((n for n in (f"{name.upper()}_LATENCY", "LATENCY") if _set(env, n)), None)
        rate = next((n for n in (f"{name.upper()}_ERROR_RATE", "ERROR_RATE") if _set(env, n)), None)
        found[name] = Conditions(
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


def _admin_token(env: Mapping[str, str]) -> str | None:
    """ADMIN_TOKEN, at least ADMIN_TOKEN_MIN characters (a short one is guessed)."""
    token = _set(env, "ADMIN_TOKEN")
    if token is not None and len(token.strip()) < ADMIN_TOKEN_MIN:
        raise ValueError(
            f"ADMIN_TOKEN has {len(token.strip())} characters; use at least {ADMIN_TOKEN_MIN}, "
            "e.g. ADMIN_TOKEN=$(openssl rand -hex 32)"
        )
    return token.strip() if token is not None else None


def _listen(env: Mapping[str, str]) -> tuple[str, int] | None:
    """MOCK_LISTEN=host:port, set by `python -m mocks` for the processes it starts."""
    host, _, port = (_set(env, "MOCK_LISTEN") or "").rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def _upstreams(env: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """UPSTREAM_<NAME>=<base URL> per API: an http(s) URL with a host, kept without its trailing slash."""
    found = {}
    for name in names:
        variable = f"UPSTREAM_{name.upper()}"
        url = (_set(env, variable) or "").strip()
        if not url:
            continue
        scheme, _, rest = url.partition("://")
        if scheme.lower() not in ("http", "https") or not rest.split("/")[0]:
            raise ValueError(
                f"{variable}={url!r} is not an http(s) base URL; use e.g. {variable}=https://sandbox.example.com/api"
            )
        found[name] = url.rstrip("/")
    return found


def _mocked(env: Mapping[str, str], names: Iterable[str]) -> dict[str, frozenset[str]]:
    """MOCKED_<NAME>=createPatient,getPatient per API: operationIds the mock serves while the rest go upstream."""
    found = {}
    for name in names:
        text = _set(env, f"MOCKED_{name.upper()}") or ""
        operations = frozenset(part.strip() for part in text.split(",") if part.strip())
        if operations:
            found[name] = operations
    return found


def _credentials(env: Mapping[str, str], vendor: Configurable) -> dict[str, Any]:
    defaults = vendor.defaults()
    return {s.field: s.read(env, defaults[s.field]) for s in vendor.settings}


def from_env(
    seed: int | None = None, environ: Mapping[str, str] | None = None, vendors: Sequence[Configurable] = ()
) -> MockConfig:
    """Config from the environment: the mock's variables, and the settings and conditions of `vendors` (none
    are read for a vendor not given); unknown values raise ValueError with the cause."""
    env = os.environ if environ is None else environ
    base = MockConfig()
    return MockConfig(
        seed=_int(env, "SEED", base.seed) if seed is None else seed,
        credentials={vendor.name: _credentials(env, vendor) for vendor in vendors},
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
        conditions=_conditions(env, [vendor.name for vendor in vendors]),
        journal_size=_int(env, "JOURNAL_SIZE", base.journal_size, minimum=1),
        access_log=env.get("ACCESS_LOG", "0") not in ("", "0", "false", "no"),
        state_file=env.get("STATE") or None,
        fast_path=env.get("FAST_PATH", "1") not in ("0", "false", "no"),
        allowed_hosts=_hosts(env, "ALLOWED_HOSTS"),
        listen=_listen(env),
        fixtures=_set(env, "FIXTURES"),
        admin_token=_admin_token(env),
        upstreams=_upstreams(env, [vendor.name for vendor in vendors]),
        mocked=_mocked(env, [vendor.name for vendor in vendors]),
        record_dir=_set(env, "RECORD"),
        examples_file=_set(env, "EXAMPLES"),
        upstream_timeout_seconds=_seconds(env, "UPSTREAM_TIMEOUT", base.upstream_timeout_seconds),
    )
