"""The mock keeps its own contract: every Schemathesis phase and check, in-process, zero failures.

Each request goes to two mocks (`tests/support/twin.py`): one with the compiled dispatcher (the default), one with
Connexion's chain only. Their answers must be equal, so the fast path is held to everything Connexion does.
"""

from __future__ import annotations

import pytest

import specs
from contracts.runner import run
from mocks import create_app
from tests.support.twin import Twin

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
    twin = Twin(create_app(seed=0), create_app(seed=0, fast_path=False))
    outcome = run(api, app=twin)
    report = "\n".join(f"{f.operation} [{f.check}] {f.title}: {f.message}\n  {f.curl}" for f in outcome.failures)
    assert outcome.failures == [], report
    differences = "\n".join(f"{m.request}\n  fast: {m.first}\n  Connexion: {m.second}" for m in twin.mismatches[:5])
    assert twin.mismatches == [], f"{len(twin.mismatches)} of {twin.compared} answers differ:\n{differences}"
    assert outcome.errors == []
    assert outcome.operations == operation_labels(api)
    assert outcome.cases > 20 * len(outcome.operations)
