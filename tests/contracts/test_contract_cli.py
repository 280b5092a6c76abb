"""`python -m contracts` (make contract) against a real mock server: exit codes, safety, reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.__main__ import main
from contracts.runner import load_config, run
from tests.support.helpers import base, state
from tests.support.live import LiveServer


def state_of(server: LiveServer) -> dict[str, Any]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        return state(http)


def key(record: dict[str, Any]) -> str:
    return str(record.get("id", record.get("session_id")))


def pre_existing_records_changed(before: dict[str, Any], after: dict[str, Any], api: str) -> list[str]:
    changed = []
    for name, records in before[api].items():
        assert len({key(r) for r in records}) == len(records), f"{name} records need a unique key"
        now = {key(r): r for r in after[api][name]}
        changed += [f"{name}/{key(r)}" for r in records if now.get(key(r)) != r]
    return changed


@pytest.mark.parametrize("api", ["impilo", "heidi", "legit_health"])
def test_contract_run_by_url_passes_and_changes_nothing_it_did_not_create(api: str, tmp_path: Path) -> None:
    with LiveServer(seed=0) as server:
        before = state_of(server)
        code = main(["--api", api, "--url", f"{server.url}{base(api)}", "--reports", str(tmp_path)])
        after = state_of(server)
    assert code == 0, (tmp_path / "contract.md").read_text()
    assert pre_existing_records_changed(before, after, api) == []
    assert 'failures="0"' in (tmp_path / "contract-junit.xml").read_text()
    assert "| pass |" in (tmp_path / "contract.md").read_text()


def test_contract_read_only_run_changes_nothing_at_all(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("READ_ONLY", "1")
    with LiveServer(seed=0) as server:
        before = state_of(server)
        code = main(["--api", "impilo", "--url", f"{server.url}{base('impilo')}", "--reports", str(tmp_path)])
        after = state_of(server)
    assert code == 0
    assert after["impilo"] == before["impilo"]
    tested = (tmp_path / "contract-junit.xml").read_text()
    assert "GET /patient" in tested and "POST /patient" not in tested and "PATCH" not in tested


@pytest.mark.parametrize(
    ("argv", "env", "cause"),
    [
        pytest.param(["--api", "nope"], {}, "unknown API", id="unknown-api"),
        pytest.param(["--api", "all", "--url", "http://127.0.0.1:9"], {}, "one API's base URL", id="url-with-all"),
        pytest.param(["--api", "impilo", "--url", "http://127.0.0.1:9/x"], {}, "cannot reach", id="unreachable"),
        pytest.param(["--api", "impilo", "--profile", "slow"], {}, "unknown PROFILE", id="bad-profile"),
        pytest.param(["--api", "impilo", "--rate", "fast"], {}, "RATE", id="bad-rate"),
    ],
)
def test_contract_exits_2_with_a_one_line_cause_when_misconfigured(
    argv: list[str], env: dict[str, str], cause: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and cause in err[0]


def test_contract_exits_2_when_every_call_is_401(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("LEGIT_HEALTH_TOKEN", "not-the-token")
    monkeypatch.setenv("READ_ONLY", "1")
    with LiveServer(seed=0) as server:
        code = main(
            ["--api", "legit_health", "--url", f"{server.url}{base('legit_health')}", "--reports", str(tmp_path)]
        )
    assert code == 2
    assert "answered 401" in capsys.readouterr().err


def test_contract_rate_option_bounds_the_requests_per_second() -> None:
    phases = {"coverage": {"enabled": False}, "stateful": {"enabled": False}}
    config = load_config(overrides={"generation": {"max-examples": 6}, "phases": phases})
    with LiveServer(seed=0) as server:
        httpx.delete(f"{server.url}/__mock/requests")
        outcome = run("impilo", base_url=f"{server.url}{base('impilo')}", operation_ids=["getItem", "getKit"],
                      rate="4/s", config=config)  # fmt: skip
        journal = httpx.get(f"{server.url}/__mock/requests", params={"api": "impilo"}).json()
    moments = sorted(datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")) for entry in journal)
    assert outcome.ok and len(moments) >= 10
    busiest = max(sum(1 for m in moments if timedelta(0) <= m - start < timedelta(seconds=1)) for start in moments)
    assert busiest <= 5  # 4 per second, plus one at a window's edge
