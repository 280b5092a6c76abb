"""Run Schemathesis' engine (all phases, all checks) on one API and collect what failed.

The same code drives the in-process run in `make test` (an ASGI app) and `make contract` (a URL).
"""

from __future__ import annotations

import os
import string
import tomllib
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

import contracts.checks  # noqa: F401  (registers the vendor-rule checks with Schemathesis)
import specs
from contracts.auth import JWT_REFRESH_SECONDS, jwt_exchange_auth, jwt_fetcher
from contracts.guard import WriteGuard
from contracts.shard import linked_within

ROOT = Path(__file__).resolve().parent.parent
# the checkout's; an installed package carries a copy beside this module (contracts/schemathesis.toml links to it)
CONFIG_FILE = next(p for p in (ROOT / "schemathesis.toml", Path(__file__).parent / "schemathesis.toml") if p.exists())
PROFILES: dict[str, dict[str, Any]] = {
    # every pull request: all three APIs against the mock in well under two minutes
    "quick": {"generation": {"max-examples": 20}, "phases": {"stateful": {"max-steps": 12}}},
    # nightly: many more cases, bounded by MAX_TIME seconds (default 900) per API
    "deep": {"generation": {"max-examples": 500}, "phases": {"stateful": {"max-steps": 40}}},
}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# An operation's `x-side-effects` in its spec: `messages` (it may e-mail or text someone although it changes
# no record) keeps it out of READ_ONLY runs; `account` (it changes how the whole account is served, e.g. a
# webhook that makes the server POST patient data to a fuzzed URL) keeps it out of runs against a shared
# server (URL given).
NOT_READ_ONLY, NOT_SHARED = "messages", "account"
IN_PROCESS_HOST = {"Host": "localhost"}


@dataclass(frozen=True)
class Failure:
    operation: str
    check: str
    title: str
    message: str
    curl: str


@dataclass
class Outcome:
    api: str
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    failures: list[Failure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unauthorized: int = 0
    responses: int = 0
    successes: int = 0

    @property
    def locked_out(self) -> bool:
        """Nothing succeeded and (almost) every answer was 401: the credentials are wrong, not the API.
        (Probes such as unsupported methods are answered 405 before auth, so "every" cannot be literal.)"""
        return self.responses > 0 and self.successes == 0 and self.unauthorized >= 0.8 * self.responses

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        nested = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if nested else value
    return merged


def default_credentials() -> dict[str, str]:
    """Every API's credential variables and the mock's values for them (each spec's `info.x-mock`)."""
    return {name: value for api in specs.APIS for name, value in specs.facts(api).credentials.items()}


def client_headers(api: str) -> dict[str, str]:
    """The headers `api`'s project in schemathesis.toml sends on every request, its `${VAR}`s filled from the
    environment or the mock's defaults (a bearer obtained by exchange, `info.x-mock.auth`, is not among them)."""
    values = {**default_credentials(), **os.environ}
    title = specs.facts(api).title
    projects: list[dict[str, Any]] = tomllib.loads(CONFIG_FILE.read_text()).get("project", [])
    project: dict[str, Any] = next((p for p in projects if p.get("title") == title), {})
    return {name: string.Template(value).safe_substitute(values) for name, value in project.get("headers", {}).items()}


def load_config(
    profile: str = "quick", overrides: dict[str, Any] | None = None, text: str | None = None
) -> SchemathesisConfig:
    """schemathesis.toml (or `text` in its format) + a profile + overrides; `${VAR}` credentials default to
    the mock's."""
    for name, value in default_credentials().items():
        os.environ.setdefault(name, value)
    data = _merge(tomllib.loads(CONFIG_FILE.read_text() if text is None else text), PROFILES[profile])
    if profile == "deep":
        data["max-time"] = int(os.environ.get("MAX_TIME", "900"))
    return SchemathesisConfig.from_dict(_merge(data, overrides or {}), base_dir=str(ROOT))


def load_schema(
    api: str,
    *,
    app: Any = None,
    base_url: str | None = None,
    config: SchemathesisConfig | None = None,
    operation_ids: Iterable[str] | None = None,
    read_only: bool = False,
    rate: str | None = None,
    shared: bool = False,
) -> Any:
    """The spec of `api`, bound to an in-process ASGI app or to a server's base URL, filtered."""
    config = config or load_config()
    schema: Any
    if app is not None:
        # Requests name `localhost`, a host the mock serves (Schemathesis' own, `testserver`, is refused).
        path = specs.facts(api).base_path
        schema = schemathesis.openapi.from_asgi(f"{path}/openapi.json", app, config=config, headers=IN_PROCESS_HOST)
        base_url = f"http://{IN_PROCESS_HOST['Host']}{path}"
        schema.config.update(base_url=base_url)
    else:
        schema = schemathesis.openapi.from_dict(specs.load(api), config=config)
        if base_url:
            schema.config.update(base_url=base_url)
    if rate:
        schema.config.update(rate_limit=rate)
    # Only excludes here: with `[[project.operations]]` in the config, Schemathesis already holds a
    # catch-all include, and a further `include()` would be OR-ed with it (selecting everything).
    if operation_ids:
        wanted = set(operation_ids)
        schema = schema.exclude(lambda ctx: ctx.operation.definition.raw.get("operationId") not in wanted)
        if not linked_within(api, wanted):  # e.g. a shard holding only an API's unlinked operations
            schema.config.phases.stateful.enabled = False
    if read_only:
        schema = schema.exclude(lambda ctx: ctx.operation.method.upper() not in SAFE_METHODS)
        schema = schema.exclude(lambda ctx: NOT_READ_ONLY in _side_effects(ctx))
    if shared:
        schema = schema.exclude(lambda ctx: NOT_SHARED in _side_effects(ctx))
    if specs.facts(api).auth == "jwt-exchange":
        schema.auth(refresh_interval=JWT_REFRESH_SECONDS)(jwt_exchange_auth(jwt_fetcher(app, base_url)))
    return schema


def _side_effects(ctx: Any) -> list[str]:
    return list(ctx.operation.definition.raw.get("x-side-effects") or ())


def run(
    api: str,
    *,
    app: Any = None,
    base_url: str | None = None,
    config: SchemathesisConfig | None = None,
    operation_ids: Iterable[str] | None = None,
    read_only: bool = False,
    rate: str | None = None,
    guard: WriteGuard | None = None,
    shared: bool = False,
    on_event: Callable[[Any], None] | None = None,
) -> Outcome:
    """Run every phase and check against one API and return what was tested and what failed."""
    if read_only:
        config = config or load_config(overrides={"phases": {"stateful": {"enabled": False}}})
    schema = load_schema(api, app=app, base_url=base_url, config=config, operation_ids=operation_ids,
                         read_only=read_only, rate=rate, shared=shared)  # fmt: skip
    outcome = Outcome(api)
    with guard.active() if guard is not None else nullcontext():
        _consume(from_schema(schema).execute(), outcome, on_event)
    return outcome


def _consume(stream: Iterable[Any], outcome: Outcome, on_event: Callable[[Any], None] | None) -> None:
    for event in stream:
        if on_event is not None:
            on_event(event)
        if isinstance(event, events.ScenarioFinished):
            _collect(outcome, event.recorder)
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")


def _collect(outcome: Outcome, recorder: Any) -> None:
    outcome.cases += len(recorder.cases)
    for node in recorder.cases.values():
        outcome.operations.add(node.value.operation.label)
    for interaction in recorder.interactions.values():
        if interaction.response is not None:
            outcome.responses += 1
            outcome.unauthorized += interaction.response.status_code == 401
            outcome.successes += 200 <= interaction.response.status_code < 300
    seen = {(f.operation, f.check, f.title) for f in outcome.failures}
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            info = check.failure_info
            case = recorder.cases[case_id].value if case_id in recorder.cases else None
            failure = Failure(
                operation=case.operation.label if case else recorder.label,
                check=check.name,
                title=getattr(info.failure, "title", str(info.failure)),
                message=getattr(info.failure, "message", ""),
                curl=getattr(info, "code_sample", ""),
            )
            if (failure.operation, failure.check, failure.title) not in seen:
                seen.add((failure.operation, failure.check, failure.title))
                outcome.failures.append(failure)
