"""Legit.Health's business rules: what the schema cannot say, each with where it comes from.

"Spec" below is specs/legit_health.yaml: its `info.description` (vendor facts and the choices made where the
prose is unclear) or the named operation's description.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mocks.http.errors import conflict
from mocks.state.store import Collection, Record
from mocks.vendors.legit_health.records import SPECIALITIES, Records, iso, parse_timestamp

LOGIN_URL = "https://app.legit.health/u/home"
TOKEN_TTL = timedelta(hours=1)  # a mock choice: the spec gives `expiresAt` but no lifetime

Command = dict[str, Any]
Runner = Callable[[Records, Record, Command, datetime], None]


def encounter_status(planned_for: str, now: datetime) -> str:
    """`scheduled` when `planned_for` is after `now`; `ready` when it is now or past (spec: choices)."""
    return "scheduled" if parse_timestamp(planned_for) > now else "ready"


def tracking_plan(start: datetime, every_days: int, occurrences: int) -> list[datetime]:
    """`occurrences` moments `every_days` apart, the first one period after `start` (spec: choices, `track`)."""
    return [start + timedelta(days=every_days * n) for n in range(1, occurrences + 1)]


def login_link(token: str, refresh_token: str) -> str:
    """The login link format the vendor documents (spec: `getPatientsAuthTokens`)."""
    return f"{LOGIN_URL}?token={token}&refresh_token={refresh_token}"


def check_new_external_id(collection: Collection, label: str, external_id: str) -> None:
    """409 when a patient (or practitioner) with the same `externalId` already exists (spec: createPatient,
    createPractitioner)."""
    if collection.find_unique("externalId", external_id) is not None:
        raise conflict(f'A {label} with externalId "{external_id}" already exists.')


def check_speciality(speciality: str | None) -> None:
    """409 for a `speciality` that getPractitionerSpecialties does not list (spec: createPractitioner; vendor:
    "To check which are the accepted values, you should first fetch the specialties"). The list is the
    server's data, not the schema's: a valid request the server cannot serve, as the spec's other 409s."""
    codes = [s["code"] for s in SPECIALITIES]
    if speciality is not None and speciality not in codes:
        shown = speciality if len(speciality) <= 60 else speciality[:60] + "..."
        raise conflict(f'Speciality "{shown}" is not accepted; use a code that getPractitionerSpecialties lists.')


def practitioner_reference(records: Records, practitioner_id: str | None) -> str | None:
    """The stored id of the practitioner a body names; 409 when there is none (spec: `PractitionerReference`,
    the same rule as a `conditionId` that is not the patient's: the request is valid, the reference is not)."""
    if practitioner_id is None:
        return None
    practitioner = records.practitioners.get(practitioner_id.lower())
    if practitioner is None:
        raise conflict(f'Practitioner "{practitioner_id}" not found; connect it with createPractitioner first.')
    return str(practitioner["id"])


def check_email_for_link(patient: Record) -> None:
    """409 for a login link asked to be emailed to a patient without an email (spec: choices)."""
    if not patient["email"]:
        raise conflict("The patient has no email address to send the login link to.")


def check_one_active_episode(records: Records, condition_id: str, status: str) -> None:
    """409 when an `active` episode is asked for and the condition already has one (spec: "A condition can have
    only one active episode"; createEpisodeOfCare and patchEpisodeOfCare)."""
    if status == "active" and records.active_episode(condition_id) is not None:
        raise conflict("The condition already has an active episode of care.")


def condition_of(records: Records, patient: Record, condition_id: str) -> Record:
    """The patient's condition `condition_id`; 409 when it is not one of theirs (spec: patchPatient)."""
    condition = records.conditions.get(condition_id.lower())
    if condition is None or condition["patientId"] != patient["id"]:
        raise conflict(f'Condition "{condition_id}" is not a condition of patient "{patient["id"]}".')
    return condition


# --- the `conditions` commands of patchPatient, one function per `action` (spec: patchPatient) ---


def add(records: Records, patient: Record, command: Command, now: datetime) -> None:
    """A new condition with a new active episode of care."""
    records.add_condition(patient["id"], command["pathologyCode"], command["bodySite"], iso(now))


def pause(records: Records, patient: Record, command: Command, now: datetime) -> None:
    """The condition's active episode becomes finished (so the condition is paused); no-op without one."""
    condition = condition_of(records, patient, command["conditionId"])
    episode = records.active_episode(condition["id"])
    if episode is not None:
        records.set_episode(episode, iso(now), status="finished")


def track(records: Records, patient: Record, command: Command, now: datetime) -> None:
    """Opens an active episode if there is none, then schedules `occurrences` encounters in it."""
    condition = condition_of(records, patient, command["conditionId"])
    at = iso(now)
    episode = records.active_episode(condition["id"]) or records.open_episode(condition, at)
    every_days = command["trackingFrequencyDays"]
    records.set_tracking(condition["id"], every_days)
    for moment in tracking_plan(now, every_days, command.get("occurrences", 4)):
        records.add_encounter(episode["id"], iso(moment), "scheduled", at, practitioner_id=patient["practitionerId"])


COMMANDS: dict[str, Runner] = {"add": add, "pause": pause, "track": track}
REFERENCING = frozenset({"pause", "track"})  # actions whose `conditionId` must be one of the patient's


def run_commands(records: Records, patient: Record, commands: list[Command], now: datetime) -> None:
    """Every command, or none: a `conditionId` that is not the patient's is a 409 before anything changes."""
    for command in commands:
        if command["action"] in REFERENCING:
            condition_of(records, patient, command["conditionId"])
    for command in commands:
        COMMANDS[command["action"]](records, patient, command, now)
