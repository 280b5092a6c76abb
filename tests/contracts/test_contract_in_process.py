"""The mock keeps its own contract: every Schemathesis phase and check, in-process, zero failures.

Each request goes to two mocks (`tests/support/twin.py`): one with the compiled dispatcher (the default), one with
Connexion's chain only. Their answers must be equal, so the fast path is held to everything Connexion does;
and the fast path must have answered a fair share of them itself, so that a regression to "everything
handed on" cannot pass as equality.
"""

from __future__ import annotations

import pytest

import specs
from contracts.runner import load_config, run
from mocks import context_of, create_app
from tests.support.twin import Twin

METHODS = {"get", "put", "post", "patch", "delete"}
# Share of the contract suite's requests the compiled plans answer alone; measured 0.52 (Impilo), 0.61 (Heidi)
# and 0.61 (Legit.Health): the rest are mostly requests with invalid bodies, queries or credentials.
MIN_FAST_SHARE = 0.35
# Examples per operation: the suite's fuzzing is bounded per operation (`make contract` runs the full profiles)
EXAMPLES_PER_OPERATION = 10


def operation_labels(api: str) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in specs.load(api)["paths"].items()
        for method in item
        if method in METHODS
    }


@pytest.mark.parametrize("api", specs.APIS)
def test_mock_passes_every_schemathesis_phase_and_check_when_run_in_process(api: str) -> None:
    fast = create_app(seed=0)
    twin = Twin(fast, create_app(seed=0, fast_path=False))
    outcome = run(api, app=twin, config=load_config(overrides={"generation": {"max-examples": EXAMPLES_PER_OPERATION}}))
    report = "\n".join(f"{f.operation} [{f.check}] {f.title}: {f.message}\n  {f.curl}" for f in outcome.failures)
    assert outcome.failures == [], report
    differences = "\n".join(f"{m.request}\n  fast: {m.first}\n  Connexion: {m.second}" for m in twin.mismatches[:5])
    assert twin.mismatches == [], f"{len(twin.mismatches)} of {twin.compared} answers differ:\n{differences}"
    assert outcome.errors == []
    assert outcome.operations == operation_labels(api)
    assert outcome.cases > EXAMPLES_PER_OPERATION * len(outcome.operations)
    fast_path = context_of(fast).dispatch
    assert fast_path.served >= MIN_FAST_SHARE * twin.compared, (
        f"{fast_path.served} of {twin.compared}: {fast_path.report()}"
    )
    assert "plan-fault" not in fast_path.declined  # a plan that fails is a bug, even though Connexion answered
