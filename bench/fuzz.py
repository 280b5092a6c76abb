"""Negative fuzzing of one API, in-process, until it has taken `target` cases: no 5xx, no corrupted data.

Schemathesis (through `contracts.runner.run`, every phase and check) sends invalid requests
(`generation.mode = "negative"`) to one `create_app(seed=0)`, round after round with the next seed, until
the API has answered `target` cases (bounded in rounds and seconds). The store is snapshotted before and
after; `bench.ledger` says which differences no accepted call accounts for. Last, every stored record is
read back through the API (response validation is on in the mock, so a record the fuzzing left
malformed would answer 500). `bench.formats` runs the same loop in positive mode, with odd formats.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import specs
from bench.ledger import Ledger, diff, snapshot
from contracts.auth import jwt_fetcher
from contracts.runner import client_headers, load_config, run

# collection -> GET path of one record, per API; the record's id goes into {}. An API not listed is fuzzed,
# not read back.
READBACK = {
    "impilo": {
        "patients": "/patient/{}",
        "sites": "/site/{}",
        "items": "/item/{}",
        "kits": "/kit/{}",
        "devices": "/device/{}",
        "orders": "/order/{}",
    },
    "heidi": {"profiles": "/patient-profiles/{}", "sessions": "/sessions/{}"},
    "legit_health": {
        "practitioners": "/practitioners/{}",
        "patients": "/patients/{}",
        "conditions": "/conditions/{}/episodes-of-care",
        "episodesOfCare": "/episodes-of-care/{}",
        "encounters": "/encounters/{}",
    },
}
SAMPLES = 5


def readback(app: Any, api: str) -> dict[str, Any]:
    """GET every stored record of `api` through the app; anything but 200 is a record left unservable."""
    from starlette.testclient import TestClient

    from mocks import context_of

    facts = specs.facts(api)
    base = facts.base_path
    headers = client_headers(api)
    if facts.auth == "jwt-exchange":
        headers = {"Authorization": f"Bearer {jwt_fetcher(app, base)()}"}
    store = context_of(app).store
    statuses: dict[str, int] = {}
    bad: list[str] = []
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        for name, template in READBACK.get(api, {}).items():
            for record in store.collection(api, name).values():
                key = record.get("id", record.get("session_id"))
                response = client.get(base + template.format(key), headers=headers)
                statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
                if response.status_code != 200 and len(bad) < SAMPLES:
                    bad.append(f"GET {template.format(key)}: {response.status_code} {response.text[:300]}")
    return {"requests": sum(statuses.values()), "statuses": statuses, "not_ok": bad, "ok": set(statuses) <= {"200"}}


def fuzz_api(
    api: str,
    target: int,
    examples: int,
    seed: int,
    max_rounds: int,
    time_limit: float,
    mode: str = "negative",
    app: Any = None,
) -> dict[str, Any]:
    """Fuzz `api` of `app` (a fresh `create_app(seed=0)` by default) in Schemathesis' generation `mode`."""
    warnings.filterwarnings("ignore")  # connexion's note about starlette's test client; not ours
    from mocks import context_of, create_app

    app = app if app is not None else create_app(seed=0)
    store = context_of(app).store
    before = snapshot(store)
    ledger = Ledger(api)
    rounds: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    errors: list[str] = []
    cases, started = 0, time.monotonic()
    with ledger.active():
        for n in range(max_rounds):
            if cases >= target or time.monotonic() - started > time_limit:
                break
            overrides = {"seed": seed + n, "generation": {"mode": mode, "max-examples": examples}}
            t0 = time.monotonic()
            outcome = run(api, app=app, config=load_config("quick", overrides))
            cases += outcome.cases
            rounds.append(
                {
                    "seed": seed + n,
                    "max_examples": examples,
                    "cases": outcome.cases,
                    "responses": outcome.responses,
                    "seconds": round(time.monotonic() - t0, 1),
                }
            )
            failures += [
                {
                    "operation": f.operation,
                    "check": f.check,
                    "title": f.title,
                    "message": f.message[:1500],
                    "curl": f.curl[:3000],
                    "seed": str(seed + n),
                }
                for f in outcome.failures
            ]
            errors += outcome.errors
            print(
                f"  {api:<13} round {n + 1}: seed {seed + n}, {outcome.cases} cases ({cases} so far), "
                f"{len(outcome.failures)} failures, {rounds[-1]['seconds']} s",
                flush=True,
            )
    data = diff(before, snapshot(store), ledger)
    back = readback(app, api)
    server_error_checks = [f for f in failures if f["check"] == "not_a_server_error"]
    checks = {
        "enough_cases": cases >= target,
        "no_server_error_check_failed": not server_error_checks,
        "no_5xx_response": ledger.server_error_count == 0,
        "stored_data_intact": data["intact"],
        "every_record_reads_back": back["ok"],
        "no_engine_error": not errors,
    }
    return {
        "mode": mode,
        "cases": cases,
        "target": target,
        "seconds": round(time.monotonic() - started, 1),
        "rounds": rounds,
        "statuses": {str(k): v for k, v in sorted(ledger.statuses.items())},
        "server_errors": ledger.server_error_count,
        "server_error_samples": ledger.server_errors,
        "accepted_writes": ledger.accepted_writes,
        "failures": failures,
        "engine_errors": errors[:SAMPLES],
        "data": data,
        "readback": back,
        "checks": checks,
        "ok": all(checks.values()),
    }
