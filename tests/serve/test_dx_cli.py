"""Start-up: settings from flags and variables, one-line errors with exit code 2, reload, access log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mocks.config import Conditions, from_env
from mocks.serve.server import FACTORY, uvicorn_options
from mocks.vendors import VENDORS
from tests.support.helpers import IMPILO_KEY, base, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


def start(args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mocks", *args],
        capture_output=True, text=True, timeout=60, cwd=cwd, env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({"LATENCY": "abc"}, "LATENCY='abc' is not a delay in ms; use e.g. LATENCY=200", id="latency-word"),
        pytest.param(
            {"HEIDI_LATENCY": "300-50"}, "HEIDI_LATENCY='300-50': the range is reversed", id="latency-reversed"
        ),
        pytest.param({"ERROR_RATE": "2"}, "ERROR_RATE='2' is not a rate between 0 and 1", id="rate-above-one"),
        pytest.param({"SEED": "x"}, "SEED='x' is not a whole number >= 0; use e.g. SEED=0", id="seed-word"),
        pytest.param({"JOURNAL_SIZE": "0"}, "JOURNAL_SIZE='0' is not a whole number >= 1", id="journal-empty"),
    ],
)
def test_from_env_raises_a_message_naming_the_variable_when_a_value_is_bad(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        from_env(environ=environ, vendors=VENDORS)


def test_from_env_lets_a_per_api_variable_win_when_both_are_set() -> None:
    environ = {"LATENCY": "100", "IMPILO_LATENCY": "50-300", "LEGIT_HEALTH_ERROR_RATE": "0.5"}
    config = from_env(environ=environ, vendors=VENDORS)
    assert config.conditions_for("impilo") == Conditions(latency_ms=(50, 300))
    assert config.conditions_for("heidi") == Conditions(latency_ms=(100, 100))
    assert config.conditions_for("legit_health") == Conditions(latency_ms=(100, 100), error_rate=0.5)


def test_from_env_ignores_empty_values_when_make_passes_them_through() -> None:
    config = from_env(environ={"LATENCY": "", "ERROR_RATE": "", "SEED": "", "ACCESS_LOG": ""}, vendors=VENDORS)
    assert config.seed == 0 and config.access_log is False
    assert config.conditions_for("impilo") == Conditions()


@pytest.mark.parametrize(
    ("args", "environ", "line"),
    [
        pytest.param([], {"LATENCY": "abc"}, "error: LATENCY='abc' is not a delay in ms; use e.g.", id="latency"),
        pytest.param([], {"ERROR_RATE": "2"}, "error: ERROR_RATE='2' is not a rate between 0 and 1", id="error-rate"),
        pytest.param(["--error-rate", "lots"], {}, "error: ERROR_RATE='lots' is not a rate", id="error-rate-flag"),
        pytest.param(["--port", "x"], {}, "error: argument --port: 'x' is not a TCP port; use a number", id="port"),
        pytest.param(["--port", "70000"], {}, "error: argument --port: '70000' is not a TCP port", id="port-range"),
    ],
)
def test_python_m_mocks_exits_2_with_one_line_saying_what_to_fix_when_a_setting_is_bad(
    args: list[str], environ: dict[str, str], line: str
) -> None:
    result = start(args, environ)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(line), result.stderr


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """mocks/ and specs/ (and the bundled specs) in a scratch folder, to break or edit without harm."""
    for folder in ("mocks", "specs", "build"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.tmp"))
    return tmp_path


def test_python_m_mocks_exits_2_with_one_line_naming_the_problem_when_a_spec_does_not_load(project_copy: Path) -> None:
    spec = project_copy / "specs" / "heidi.yaml"
    spec.write_text(spec.read_text().replace("paths:", "paths: [", 1))
    result = start(["--port", str(free_port())], cwd=project_copy)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: the mock could not start:") and "heidi.yaml" in result.stderr
    assert "make lint" in result.stderr


def test_uvicorn_options_serve_the_env_factory_and_watch_code_and_specs_when_reloading() -> None:
    options = uvicorn_options("127.0.0.1", 8000, "warning", reload=True)
    assert options["factory"] is True and options["reload"] is True
    assert {Path(d).name for d in options["reload_dirs"]} == {"mocks", "specs"}  # type: ignore[attr-defined]
    assert "*.yaml" in options["reload_includes"]  # type: ignore[operator]
    assert FACTORY == "mocks.serve.server:app_from_env"
    assert "factory" not in uvicorn_options("127.0.0.1", 8000, "warning", reload=False)


def test_reload_serves_the_edited_spec_and_access_log_prints_requests_when_both_are_on(project_copy: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "mocks", "--port", str(port), "--reload", "--access-log"],
        cwd=project_copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    spec_url = f"{url}{base('impilo')}/openapi.json"

    def title_is(title: str) -> Callable[[], bool]:
        return lambda: bool(httpx.get(spec_url).json()["info"]["title"] == title)

    try:
        assert wait_until(title_is("Impilo API"), timeout=40, ignoring=(httpx.TransportError,))
        assert httpx.get(f"{url}{base('impilo')}/patient/1234", headers=IMPILO_KEY).status_code == 200
        spec = project_copy / "specs" / "impilo.yaml"
        spec.write_text(spec.read_text().replace("title: Impilo API", "title: Impilo API (edited)", 1))
        assert wait_until(title_is("Impilo API (edited)"), timeout=40, ignoring=(httpx.TransportError,))
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert f"api=impilo method=GET path={base('impilo')}/patient/1234 status=200 ms=" in output
