"""The `conditions` commands of patchPatient (`add`, `pause`, `track`), one function per `action`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from mocks.state.store import Record
from mocks.vendors.legit_health import rules
from mocks.vendors.legit_health.records import Records

Command = dict[str, Any]
Runner = Callable[[Records, Record, Command, datetime], None]


def add(records: Records, patient: Record, command: Command, now: datetime) -> None:
    """A new condition with a new active episode of care."""
    records.add_condition(patient["id"], command["pathologyCode"], command["bodySite"], rules.iso(now))


def pause(records: Records, patient: Record, command: Command, now: datetime) -> None:
    """The condition's active episode becomes finished (so the condition is paused); no-op without one."""
    condition = records.patient_condition(patient, command["conditionId"])
    episode = records.active_episode(condition["id"])
    if episode is not None:
        records.set_episode(episode, rules.iso(now), status="finished")


def track(records: Records, patient: Record, command: Command, now: datetime) -> None:
    """Opens an active episode if there is none, then schedules `occurrences` encounters in it."""
    condition = records.patient_condition(patient, command["conditionId"])
    at = rules.iso(now)
    episode = records.active_episode(condition["id"]) or records.open_episode(condition, at)
    every_days = command["trackingFrequencyDays"]
    records.set_tracking(condition["id"], every_days)
    for moment in rules.tracking_plan(now, every_days, command.get("occurrences", 4)):
        records.add_encounter(episode["id"], rules.iso(moment), "scheduled", at)


COMMANDS: dict[str, Runner] = {"add": add, "pause": pause, "track": track}
REFERENCING = frozenset({"pause", "track"})  # actions whose `conditionId` must be one of the patient's


def check_references(records: Records, patient: Record, commands: list[Command]) -> None:
    """409 before anything changes when a command names a condition this patient does not have."""
    for command in commands:
        if command["action"] in REFERENCING:
            records.patient_condition(patient, command["conditionId"])


def run(records: Records, patient: Record, commands: list[Command], now: datetime) -> None:
    check_references(records, patient, commands)
    for command in commands:
        COMMANDS[command["action"]](records, patient, command, now)
