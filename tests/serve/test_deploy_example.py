"""The deployment example (docs/deploy/, docs/DEPLOY.md) holds together: the compose file parses, the mock's
variables are ones the mock reads and make a shared mock it would start, probes and the load balancer name
the mock's port, and every file it names exists. (Docker itself is not run.)"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from mocks.config import from_env
from mocks.http.guard import exposure_refusals
from mocks.vendors import VENDORS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")
PORT = 8000


class Reads(Mapping[str, str]):
    """An empty environment that remembers every variable asked of it."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return False

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return default

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def example_env() -> dict[str, str]:
    lines = (DEPLOY / "example.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def filled(value: str) -> str:
    """A compose value with each `${VAR...}` as a filled .env gives it: example.env's value, or one of
    your own where it leaves it empty."""
    example = example_env()
    return INTERPOLATION.sub(lambda m: example.get(m[1]) or f"own-{m[1].lower().replace('_', '-')}-value", value)


def test_compose_file_runs_replicas_of_the_mock_on_postgres_behind_a_load_balancer(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"mock", "postgres", "lb"}
    mock = services["mock"]
    assert mock["deploy"]["replicas"] == "${MOCK_REPLICAS:-3}"
    assert mock["command"] == ["python", "-m", "mocks", "--host", "0.0.0.0", "--port", str(PORT)]
    assert (
        mock["environment"]["STATE"].startswith("postgresql://") and "@postgres:5432/" in mock["environment"]["STATE"]
    )
    assert mock["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["lb"]["depends_on"]["mock"]["condition"] == "service_healthy"
    assert f"http://127.0.0.1:{PORT}/healthz" in " ".join(mock["healthcheck"]["test"])


def test_compose_mock_variables_are_all_read_by_the_mock(compose: dict[str, Any]) -> None:
    reads = Reads()
    from_env(environ=reads, vendors=VENDORS)
    assert set(compose["services"]["mock"]["environment"]) - reads.asked == set()


def test_compose_mock_variables_make_a_shared_mock_that_starts(compose: dict[str, Any]) -> None:
    env = {name: filled(str(value)) for name, value in compose["services"]["mock"]["environment"].items()}
    config = from_env(environ=env, vendors=VENDORS)
    assert exposure_refusals("0.0.0.0", PORT, config, VENDORS) == []


def test_compose_leaves_out_no_variable_the_shared_mock_needs(compose: dict[str, Any]) -> None:
    environment = compose["services"]["mock"]["environment"]
    secrets = {setting.env for vendor in VENDORS for setting in vendor.settings if setting.secret}
    for name in {"ADMIN_TOKEN", "CORS_ORIGINS", "ALLOWED_HOSTS", *secrets}:
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", environment[name]), (
            f"{name} must be required: {environment[name]}"
        )


def test_every_compose_and_env_variable_is_documented_and_in_the_example_env(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    interpolated = set(INTERPOLATION.findall(text))
    example = set(example_env())
    guide = (ROOT / "docs" / "DEPLOY.md").read_text()
    assert interpolated == example
    assert [name for name in sorted(interpolated) if f"`{name}`" not in guide] == []


def test_load_balancer_config_proxies_to_the_mock_service_port_and_files_named_exist(compose: dict[str, Any]) -> None:
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert re.search(rf"^\s*server mock:{PORT} resolve\b", nginx, re.MULTILINE)
    assert "proxy_set_header Host $http_host;" in nginx  # the mock answers only the names it serves
    lb = compose["services"]["lb"]
    assert lb["volumes"] == ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
    build = compose["services"]["mock"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for copied in re.findall(r"^COPY (\S+)", dockerfile, re.MULTILINE):
        assert (ROOT / copied).exists(), copied
