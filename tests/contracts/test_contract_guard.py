"""The write guard: which collection a path id or a body id names, and what it aims foreign ids at."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from contracts.guard import SENTINEL_UUID, WriteGuard, collection_of

SEGMENTED = "/sessions/{session_id}/restful-segment-transcription/{recording_id}:finish"


@pytest.mark.parametrize(
    ("path", "parameter", "collection"),
    [
        ("/conditions/{conditionId}/episodes-of-care", "conditionId", "conditions"),
        ("/conditions/{conditionId}/episodes-of-care", None, "episodes-of-care"),
        (SEGMENTED, "recording_id", "restful-segment-transcription"),
        (SEGMENTED, "session_id", "sessions"),
        ("/sessions/{session_id}/restful-segment-transcription", None, "restful-segment-transcription"),
    ],
)
def test_collection_of_finds_a_parameter_inside_a_segment(path: str, parameter: str | None, collection: str) -> None:
    assert collection_of(path, parameter) == collection


def device_call(body: dict[str, Any]) -> Any:
    properties = {"deviceId": {"type": "integer", "minimum": 0}, "deviceIdentifier": {"type": "string"},
                  "patientId": {"type": "integer", "minimum": 0}}  # fmt: skip
    raw = {"requestBody": {"content": {"application/json": {"schema": {"properties": properties}}}}}
    operation = SimpleNamespace(definition=SimpleNamespace(raw=raw), path="/device/associate-patient",
                                path_parameters=[])  # fmt: skip
    return SimpleNamespace(operation=operation, method="PATCH", path_parameters={}, body=body)


def test_a_body_naming_a_device_the_run_did_not_create_is_aimed_at_one_that_cannot_exist() -> None:
    case, guard = device_call({"deviceId": 101, "deviceIdentifier": "SN-0101", "patientId": 1234}), WriteGuard()
    guard.before_call(None, case, {})
    assert case.body["deviceId"] not in (101, SENTINEL_UUID) and case.body["deviceIdentifier"] != "SN-0101"
    assert case.body["patientId"] == 1234 and guard.redirected == 2


def test_invalid_body_ids_are_left_alone_to_test_rejection() -> None:
    case, guard = device_call({"deviceId": -1}), WriteGuard()
    guard.before_call(None, case, {})
    assert case.body == {"deviceId": -1} and guard.redirected == 0


def test_a_segmented_recording_the_run_started_is_its_own() -> None:
    guard = WriteGuard()
    guard.created.add(("sessions", "s1"))
    started = SimpleNamespace(method="POST", operation=SimpleNamespace(path=SEGMENTED.rsplit("/", 1)[0]),
                              path_parameters={"session_id": "s1"})  # fmt: skip
    guard.after_call(None, started, SimpleNamespace(status_code=200, json=lambda: {"recording_id": "7"}))
    assert guard.owns(SEGMENTED, "recording_id", "7")
