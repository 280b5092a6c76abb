"""The console commands the package installs (`[project.scripts]`): `healthcare-mocks` serves the mock as
`make mock` does, and `healthcare-contract` runs the contract suite as `make contract` does, with the exit
code it documents (0 kept, 1 drift, 2 cannot test) as the process's own, where `make` turns each failure into 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from mocks.app import context_of
from tests.support.helpers import base, free_port, wait_for_health
from tests.support.live import LiveServer

BIN = Path(sys.executable).parent


def command(name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], capture_output=True, text=True, timeout=600, env={**os.environ, **env}
    )


def contract_on(server: LiveServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The read-only contract run of Legit.Health against `server`, as CI would call it."""
    url = f"{server.url}{base('legit_health')}"
    return command("healthcare-contract", "--api", "legit_health", "--url", url, "--reports", str(tmp_path),
                   READ_ONLY="1")  # fmt: skip


def test_healthcare_contract_exits_0_when_the_server_keeps_its_contract(tmp_path: Path) -> None:
    with LiveServer(seed=0) as server:
        finished = contract_on(server, tmp_path)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert 'failures="0"' in (tmp_path / "contract-junit.xml").read_text()


def test_healthcare_contract_exits_1_when_the_server_drifts_from_its_spec(tmp_path: Path) -> None:
    server = LiveServer(seed=0, validate_responses=False)
    handlers = context_of(server.app).services["legit_health"]  # resolved at the first request: replaced now
    original = handlers.get_patients

    async def drifted(*args: Any, **kwargs: Any) -> Any:
        body, status = await original(*args, **kwargs)
        return [{**patient, "gender": 42} for patient in body], status  # not a gender the spec allows

    handlers.get_patients = drifted
    with server:
        finished = contract_on(server, tmp_path)
    assert finished.returncode == 1, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert "### GET /patients: `response_schema_conformance`" in (tmp_path / "contract.md").read_text()


def test_healthcare_contract_exits_2_with_the_cause_when_the_server_cannot_be_reached(tmp_path: Path) -> None:
    finished = command("healthcare-contract", "--api", "impilo", "--url", f"http://127.0.0.1:{free_port()}/api/v3",
                       "--reports", str(tmp_path))  # fmt: skip
    assert finished.returncode == 2
    assert finished.stderr.startswith("contract: configuration problem: cannot reach http://127.0.0.1:")


def test_healthcare_mocks_serves_the_mock_apis_with_the_make_targets_options() -> None:
    port = free_port()
    process = subprocess.Popen([str(BIN / "healthcare-mocks"), "--port", str(port), "--seed", "3"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}/healthz", timeout=60, alive=lambda: process.poll() is None)
        assert health == {"status": "ok", "seed": 3}
        assert httpx.get(f"http://127.0.0.1:{port}/apis.json").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_healthcare_mocks_exits_2_in_one_line_when_an_option_is_bad() -> None:
    finished = command("healthcare-mocks", "--port", "eighty")
    assert finished.returncode == 2
    assert finished.stderr.count("\n") == 1 and "is not a TCP port" in finished.stderr
