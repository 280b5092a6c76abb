"""The mock keeps its own contract: every Schemathesis phase and check, in-process, zero failures."""

from __future__ import annotations

import pytest

import specs
from contracts.runner import run
from mocks import create_app

METHODS = {"get", "put", "post", "patch", "delete"}


def operation_labels(api: str) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in specs.load(api)["paths"].items()
        for method in item
        if method in METHODS
    }


@pytest.mark.parametrize("api", specs.APIS)
def test_mock_passes_every_schemathesis_phase_and_check_when_run_in_process(api: str) -> None:
    outcome = run(api, app=create_app(seed=0))
    report = "\n".join(f"{f.operation} [{f.check}] {f.title}: {f.message}\n  {f.curl}" for f in outcome.failures)
    assert outcome.failures == [], report
    assert outcome.errors == []
    assert outcome.operations == operation_labels(api)
    assert outcome.cases > 20 * len(outcome.operations)
