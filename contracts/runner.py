"""Run Schemathesis' engine (all phases, all checks) on one API and collect what failed.

The same code drives the in-process run in `make test` (an ASGI app) and `make contract` (a URL).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

import specs
from contracts.auth import JWT_REFRESH_SECONDS, heidi_jwt_auth, jwt_fetcher

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = ROOT / "schemathesis.toml"
DEFAULT_CREDENTIALS = {
    "IMPILO_API_KEY": "mock-impilo-api-key",
    "HEIDI_API_KEY": "mock-heidi-api-key",
    "LEGIT_HEALTH_TOKEN": "mock-legit-health-token",
}


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

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors


def load_config(overrides: dict[str, Any] | None = None) -> SchemathesisConfig:
    """schemathesis.toml with `${VAR}` credentials defaulted to the mock's, plus optional overrides."""
    for name, value in DEFAULT_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    text = CONFIG_FILE.read_text()
    config = SchemathesisConfig.from_str(text, base_dir=str(ROOT))
    if overrides:
        config = SchemathesisConfig.from_dict(_merge(_toml(text), overrides), base_dir=str(ROOT))
    return config


def _toml(text: str) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(text)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def load_schema(
    api: str, *, app: Any = None, base_url: str | None = None, config: SchemathesisConfig | None = None
) -> Any:
    """The spec of `api`, bound to an in-process ASGI app or to a server's base URL."""
    config = config or load_config()
    if app is not None:
        from mocks.apis import BY_NAME

        base_url = BY_NAME[api].base_path
        schema = schemathesis.openapi.from_asgi(f"{base_url}/openapi.json", app, config=config)
    else:
        schema = schemathesis.openapi.from_dict(specs.load(api), config=config)
        if base_url:
            schema.config.update(base_url=base_url)
    if api == "heidi":
        schema.auth(refresh_interval=JWT_REFRESH_SECONDS)(heidi_jwt_auth(jwt_fetcher(app, base_url)))
    return schema


def run(api: str, *, app: Any = None, base_url: str | None = None, config: SchemathesisConfig | None = None) -> Outcome:
    """Run every phase and check against one API and return what was tested and what failed."""
    schema = load_schema(api, app=app, base_url=base_url, config=config)
    outcome = Outcome(api)
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _collect(outcome, event.recorder)
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(
                f"{event.label}: {event.info.format() if hasattr(event.info, 'format') else event.value}"
            )
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")
    return outcome


def _collect(outcome: Outcome, recorder: Any) -> None:
    outcome.cases += len(recorder.cases)
    for node in recorder.cases.values():
        outcome.operations.add(node.value.operation.label)
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
