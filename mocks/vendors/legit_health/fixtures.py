"""What Legit.Health state fixtures may hold (mocks/dx/fixtures.py): practitioners, patients, their conditions,
episodes of care and encounters, stored apart and linked by id (`practitionerId`, `patientId`, `conditionId`,
`episodeOfCareId`). Missing fields are the seed's fake data; a condition is `paused` unless an active episode
of care makes it `active`."""

from __future__ import annotations

from collections.abc import Callable

from mocks.context import MockContext
from mocks.dx.fixtures import Kind, Rule, World
from mocks.state.store import Record
from mocks.vendors.legit_health.records import (
    API,
    PATIENT_FIELDS,
    SPECIALITIES,
    Records,
    condition_status,
    condition_view,
)

CREATED = "2025-01-06T09:00:00.000Z"  # a fixed moment: a fixture loads the same records every time


def kinds(context: MockContext, records: Records) -> list[Kind]:
    """Legit.Health's fixture kinds, referenced ones first."""

    def filled(schema: str, defaults: Record) -> Callable[[Record], Record]:
        return lambda given: context.faker.fill(
            context.schema(API, schema), f"{API}.{schema}.{given['id']}", {**defaults, **given}
        )

    def patient(given: Record) -> Record:
        defaults = {
            "verificationStatus": "verified",
            "practitionerId": None,
            "createdAt": CREATED,
            "updatedAt": CREATED,
        }
        record = context.faker.fill(
            context.schema(API, "Patient"), f"{API}.patient.{given['id']}", {**defaults, **given}
        )
        record.pop("conditions", None)  # stored apart, by patientId
        record.setdefault("gender", "unknown")
        return {**dict.fromkeys(PATIENT_FIELDS), **record}

    stamps = {"createdAt": CREATED}
    verified = {"verificationStatus": "verified", "createdAt": CREATED, "updatedAt": CREATED}
    return [
        Kind(
            "practitioners",
            records.practitioners,
            filled("Practitioner", {"speciality": SPECIALITIES[0]["code"], **verified}),
            context.schema(API, "Practitioner"),
            rules=(_unique_external_id("practitioners"), _listed_speciality),
        ),
        Kind(
            "patients",
            records.patients,
            patient,
            context.schema(API, "Patient"),
            expanded=("conditions",),
            references={"practitionerId": "practitioners"},
            nested={"conditions": ("conditions", "patientId")},
            rules=(_unique_external_id("patients"),),
        ),
        Kind(
            "conditions",
            records.conditions,
            filled("Condition", {"status": "paused", "trackingFrequencyDays": None, **stamps}),
            context.schema(API, "Condition"),
            condition_view,
            references={"patientId": "patients"},
            rules=(_status_follows_episodes,),
        ),
        Kind(
            "episodesOfCare",
            records.episodes,
            filled("EpisodeOfCare", {"status": "active", "externalId": None, "startedAt": CREATED, "finishedAt": None}),
            context.schema(API, "EpisodeOfCare"),
            references={"conditionId": "conditions", "patientId": "patients"},
            rules=(_one_active_episode, _patient_of_condition),
        ),
        Kind(
            "encounters",
            records.encounters,
            filled("Encounter", {"externalId": None, "notes": None, "practitionerId": None, **stamps}),
            context.schema(API, "Encounter"),
            references={"episodeOfCareId": "episodesOfCare", "practitionerId": "practitioners"},
        ),
    ]


def _unique_external_id(kind: str) -> Rule:
    """One patient, one practitioner, per `externalId` (rules.check_new_external_id)."""

    def rule(record: Record, world: World) -> list[tuple[str, str]]:
        taken = world.having(kind, "externalId", record.get("externalId"))
        if any(other["id"] != record["id"] for other in taken):
            return [("externalId", f"an externalId no other of {kind} has; {record.get('externalId')!r} is taken")]
        return []

    return rule


def _listed_speciality(record: Record, world: World) -> list[tuple[str, str]]:
    """A practitioner's `speciality` is one getPractitionerSpecialties lists (rules.check_speciality)."""
    codes = [s["code"] for s in SPECIALITIES]
    if record.get("speciality") is not None and record.get("speciality") not in codes:
        return [("speciality", f"one of {', '.join(codes)}; got {record.get('speciality')!r}")]
    return []


def _active_episodes(world: World, condition_id: str) -> list[Record]:
    return [e for e in world.having("episodesOfCare", "conditionId", condition_id) if e.get("status") == "active"]


def _status_follows_episodes(record: Record, world: World) -> list[tuple[str, str]]:
    """A condition is `active` while one of its episodes of care is, else `paused` (records.condition_status)."""
    expected = condition_status(bool(_active_episodes(world, record["id"])))
    if record.get("status") != expected:
        why = "one of its episodesOfCare is active" if expected == "active" else "none of its episodesOfCare is active"
        return [("status", f"{expected!r}: {why}; got {record.get('status')!r}")]
    if expected == "paused" and record.get("trackingFrequencyDays") is not None:
        return [("trackingFrequencyDays", "null: a paused condition is not tracked")]
    return []


def _one_active_episode(record: Record, world: World) -> list[tuple[str, str]]:
    """A condition has at most one active episode of care (rules.check_one_active_episode)."""
    if record.get("status") == "active" and len(_active_episodes(world, str(record.get("conditionId")))) > 1:
        return [("status", "at most one active episode per condition; this condition has more")]
    return []


def _patient_of_condition(record: Record, world: World) -> list[tuple[str, str]]:
    """An episode belongs to its condition's patient."""
    condition = world.get("conditions", record.get("conditionId"))
    if condition is not None and condition.get("patientId") != record.get("patientId"):
        return [("patientId", f"the patientId of its condition, {condition.get('patientId')!r}")]
    return []
