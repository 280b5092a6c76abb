"""The soak run's judgement, without the soak itself: bench.ledger decides which store changes accepted
calls account for, and bench.receivers misbehave as told (`make soak` runs the real thing)."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from bench.ledger import Ledger, diff, ids_in
from bench.receivers import running_hub

BEFORE: dict[str, Any] = {
    "impilo": {
        "patients": [{"id": 3, "firstName": "Ann", "siteId": 1}],
        "sites": [{"id": 1, "name": "North"}, {"id": 3, "name": "South"}],
    },
    "heidi": {
        "profiles": [{"id": "5eb7cf5a86d9755df3a6c593", "first_name": "Bo"}],
        "sessions": [{"session_id": "4344653630", "patient_profile_id": "5eb7cf5a86d9755df3a6c593"}],
    },
}


def call(
    method: str, path: str, status: int, params: dict[str, Any] | None = None, body: Any = None, answer: Any = None
) -> tuple[Any, Any]:
    operation = SimpleNamespace(path=path, definition=SimpleNamespace(raw={"operationId": "op"}))
    case = SimpleNamespace(
        method=method,
        operation=operation,
        path_parameters=params or {},
        body=body,
        as_curl_command=lambda: f"curl -X {method} {path}",
    )
    return case, SimpleNamespace(status_code=status, json=lambda: answer)


def ledger_of(api: str, *calls: tuple[Any, Any]) -> Ledger:
    ledger = Ledger(api)
    for case, response in calls:
        ledger.record(case, response)
    return ledger


def test_ids_in_collects_values_under_id_like_keys_when_nested() -> None:
    body = {"id": 7, "site": {"id": 2}, "patient_profile_ids": ["a", "b"], "name": "x", "siteId": None}
    assert ids_in(body) == {"7", "2", "a", "b"}


def test_diff_is_intact_when_an_accepted_put_targeted_the_changed_record() -> None:
    after = copy.deepcopy(BEFORE)
    after["impilo"]["sites"][1]["name"] = "Renamed"
    ledger = ledger_of("impilo", call("PUT", "/site/{siteId}", 200, {"siteId": 3}, {"name": "Renamed"}))
    result = diff(BEFORE, after, ledger)
    assert result["intact"] is True
    assert result["collections"]["sites"]["changed"] == 1


def test_diff_flags_a_change_when_the_accepted_write_targeted_another_collection() -> None:
    after = copy.deepcopy(BEFORE)
    after["impilo"]["patients"][0]["firstName"] = "Changed"
    ledger = ledger_of("impilo", call("PUT", "/site/{siteId}", 200, {"siteId": 3}, {"name": "Renamed"}))
    result = diff(BEFORE, after, ledger)
    assert result["intact"] is False
    assert result["collections"]["patients"]["unexplained"]["changed"] == ["3"]


@pytest.mark.parametrize("status", [400, 409, 422], ids=["bad-request", "conflict", "unprocessable"])
def test_diff_flags_a_change_when_the_write_was_rejected(status: int) -> None:
    after = copy.deepcopy(BEFORE)
    after["impilo"]["sites"][1]["name"] = "Renamed"
    ledger = ledger_of("impilo", call("PUT", "/site/{siteId}", status, {"siteId": 3}, {"name": "Renamed"}))
    assert diff(BEFORE, after, ledger)["intact"] is False


def test_diff_flags_a_new_record_when_no_accepted_response_named_it() -> None:
    after = copy.deepcopy(BEFORE)
    after["impilo"]["sites"].append({"id": 1290, "name": "Orphan"})  # a 409'd create that still stored a site
    ledger = ledger_of("impilo", call("POST", "/patient", 409, body={"site": {"name": "Orphan"}}))
    result = diff(BEFORE, after, ledger)
    assert result["intact"] is False
    assert result["collections"]["sites"]["unexplained"]["added"] == ["1290"]


def test_diff_accepts_new_records_when_created_or_children_of_a_created_record() -> None:
    after = copy.deepcopy(BEFORE)
    after["impilo"]["patients"].append({"id": 63, "firstName": "New", "siteId": 14})
    after["impilo"]["sites"].append({"id": 14, "name": "Made with the patient"})
    ledger = ledger_of(
        "impilo", call("POST", "/patient", 201, body={"site": {"name": "x"}}, answer={"id": 63, "site": {"id": 14}})
    )
    assert diff(BEFORE, after, ledger)["intact"] is True


def test_diff_accepts_a_cascade_when_an_accepted_batch_delete_named_the_parent() -> None:
    after = copy.deepcopy(BEFORE)
    after["heidi"]["profiles"] = []
    after["heidi"]["sessions"][0]["patient_profile_id"] = None
    body = {"patient_profile_ids": ["5eb7cf5a86d9755df3a6c593"]}
    ledger = ledger_of("heidi", call("DELETE", "/patient-profiles:batch-delete", 200, body=body, answer={}))
    result = diff(BEFORE, after, ledger)
    assert result["intact"] is True
    assert (result["collections"]["profiles"]["deleted"], result["collections"]["sessions"]["changed"]) == (1, 1)


def test_ledger_counts_5xx_and_keeps_their_curl_when_the_server_fails() -> None:
    ledger = ledger_of("impilo", call("GET", "/patient", 500), call("GET", "/patient", 404))
    assert ledger.server_error_count == 1
    assert ledger.server_errors == ["500: curl -X GET /patient"]
    assert ledger.accepted_writes == 0


def test_receivers_refuse_fail_then_recover_when_scripted() -> None:
    with running_hub() as hub:
        with pytest.raises(httpx.ConnectError):
            httpx.post(hub.refusing_url, json={}, timeout=2)
        recovering = hub.add("recovers", 200, [500])
        answers = [httpx.post(recovering.url, json={"id": n}, timeout=2).status_code for n in range(2)]
        hanging = hub.add("hangs", "hang")
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(hanging.url, json={}, timeout=0.3)
    assert answers == [500, 200]
    assert recovering.events == [{"id": 1}]
    assert recovering.summary()["answered"] == {"200": 1, "500": 1}
    assert hanging.hung == 1


def test_receivers_answer_200_when_they_recover_from_refusing_or_failing() -> None:
    with running_hub() as hub:
        refusing, failing = hub.add_refusing("down"), hub.add("fails", 500)
        with pytest.raises(httpx.ConnectError):
            httpx.post(refusing.url, json={}, timeout=2)
        before = httpx.post(failing.url, json={"id": 1}, timeout=2).status_code
        hub.recover_refusing(refusing)
        failing.recover()
        after = [httpx.post(r.url, json={"id": 2}, timeout=2).status_code for r in (refusing, failing)]
    assert (before, after) == (500, [200, 200])
    assert refusing.events == failing.events == [{"id": 2}]
