"""The Legit.Health resources in the shared store, their views, and the mutations that keep them consistent.

Collections (all uuid ids): `practitioners` and `patients` (each with a unique `externalId`), `conditions`
(with their `patientId`), `episodesOfCare`, `encounters` and `authTokens` (each for one patient or one
practitioner). A condition's `status` always follows its episodes: `active`
while one of them is active, else `paused` (and then no longer tracked). Timestamps are stored as the API
writes them (`iso`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from mocks.http.errors import not_found
from mocks.state.store import Collection, Record, Store

API = "legit_health"
PATIENT_FIELDS = ("firstName", "lastName", "email", "phone", "birthDate", "gender", "language", "practitionerId")
PRACTITIONER_FIELDS = ("firstName", "lastName", "email", "speciality")
# The accepted values of a practitioner's `speciality` (getPractitionerSpecialties; the vendor's list is not
# public, so these are the mock's, as the spec's example shows them).
SPECIALITIES: tuple[dict[str, str], ...] = (
    {"code": "dermatology", "name": "Dermatology"},
    {"code": "general-practice", "name": "General practice"},
    {"code": "paediatrics", "name": "Paediatrics"},
    {"code": "allergology", "name": "Allergology"},
    {"code": "plastic-surgery", "name": "Plastic surgery"},
    {"code": "oncology", "name": "Oncology"},
    {"code": "rheumatology", "name": "Rheumatology"},
    {"code": "nursing", "name": "Nursing"},
)

_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<zone>[Zz]|[+-]\d{2}:\d{2})$"
)


def iso(moment: datetime) -> str:
    """A UTC timestamp as the API writes it: `2026-01-15T09:30:00.000Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime:
    """An aware datetime from an RFC 3339 date-time (any fraction length; `Z` or an offset)."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"expected an RFC 3339 date-time, got {text!r}")
    fraction = (match["frac"] or "0")[:6].ljust(6, "0")
    zone = "+00:00" if match["zone"] in ("Z", "z") else match["zone"]
    return datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{zone}")


def condition_status(has_active_episode: bool) -> str:
    """A condition is `active` while one of its episodes of care is active, else `paused` (specs/legit_health.yaml
    `info.description`); kept by every mutation below, so no caller can forget it."""
    return "active" if has_active_episode else "paused"


class Records:
    """Typed access to the API's collections; every multi-step change runs under the store's lock."""

    def __init__(self, store: Store) -> None:
        self.lock = store.lock
        self.practitioners = store.collection(API, "practitioners", id_kind="uuid", unique=("externalId",))
        self.patients = store.collection(API, "patients", id_kind="uuid", unique=("externalId",))
        self.conditions = store.collection(API, "conditions", id_kind="uuid")
        self.episodes = store.collection(API, "episodesOfCare", id_kind="uuid")
        self.encounters = store.collection(API, "encounters", id_kind="uuid")
        self.tokens = store.collection(API, "authTokens", id_kind="uuid")

    # --- lookups (404 when missing) ---

    def practitioner(self, practitioner_id: str) -> Record:
        return _existing(self.practitioners, practitioner_id, "Practitioner")

    def patient(self, patient_id: str) -> Record:
        return _existing(self.patients, patient_id, "Patient")

    def condition(self, condition_id: str) -> Record:
        return _existing(self.conditions, condition_id, "Condition")

    def episode(self, episode_id: str) -> Record:
        return _existing(self.episodes, episode_id, "Episode of care")

    def encounter(self, encounter_id: str) -> Record:
        return _existing(self.encounters, encounter_id, "Encounter")

    def active_episode(self, condition_id: str) -> Record | None:
        found = self.episodes.where(lambda e: e["conditionId"] == condition_id and e["status"] == "active")
        return found[0] if found else None

    def episodes_of(self, condition_id: str) -> list[Record]:
        episodes = self.episodes.where(lambda e: e["conditionId"] == condition_id)
        return sorted(episodes, key=lambda e: parse_timestamp(e["startedAt"]))

    def encounters_of(self, episode_id: str) -> list[Record]:
        encounters = self.encounters.where(lambda e: e["episodeOfCareId"] == episode_id)
        return sorted(encounters, key=lambda e: parse_timestamp(e["planned_for"]))

    # --- views ---

    def patient_view(self, patient: Record) -> dict[str, Any]:
        conditions = self.conditions.where(lambda c: c["patientId"] == patient["id"])
        return {**patient, "conditions": [condition_view(c) for c in conditions]}

    # --- mutations ---

    def add_patient(
        self, fields: dict[str, Any], verification: str, created_at: str, updated_at: str | None = None
    ) -> Record:
        """A patient from `externalId` and the basic fields of `fields` (missing ones null; others ignored)."""
        return self.patients.add(
            lambda key: {
                "id": key,
                "externalId": fields["externalId"],
                **{name: fields.get(name) for name in PATIENT_FIELDS},
                "gender": fields.get("gender") or "unknown",
                "verificationStatus": verification,
                "createdAt": created_at,
                "updatedAt": updated_at or created_at,
            }
        )

    def add_practitioner(
        self, fields: dict[str, Any], verification: str, created_at: str, updated_at: str | None = None
    ) -> Record:
        """A practitioner from `externalId`, `email` and the other fields of `fields` (missing ones null)."""
        return self.practitioners.add(
            lambda key: {
                "id": key,
                "externalId": fields["externalId"],
                **{name: fields.get(name) for name in PRACTITIONER_FIELDS},
                "verificationStatus": verification,
                "createdAt": created_at,
                "updatedAt": updated_at or created_at,
            }
        )

    def add_condition(self, patient_id: str, pathology_code: str, body_site: str, at: str) -> Record:
        """A new condition with a new active episode of care, both starting `at`."""
        with self.lock:
            condition = self.conditions.add(
                lambda key: {
                    "id": key,
                    "patientId": patient_id,
                    "pathologyCode": pathology_code,
                    "bodySite": body_site,
                    "status": "active",
                    "trackingFrequencyDays": None,
                    "createdAt": at,
                }
            )
            self.open_episode(condition, at)
            return condition

    def open_episode(
        self, condition: Record, at: str, status: str = "active", external_id: str | None = None
    ) -> Record:
        """A new episode of the condition; a `finished` one is closed the moment it starts."""
        with self.lock:
            episode = self.episodes.add(
                lambda key: {
                    "id": key,
                    "conditionId": condition["id"],
                    "patientId": condition["patientId"],
                    "status": status,
                    "externalId": external_id,
                    "startedAt": at,
                    "finishedAt": at if status == "finished" else None,
                }
            )
            self.sync_condition(condition["id"])
            return episode

    def set_episode(self, episode: Record, at: str, **changes: Any) -> Record:
        """Store `changes`; leaving `active` sets `finishedAt`, (re)entering it clears it."""
        with self.lock:
            updated = {**episode, **changes}
            if updated["status"] != episode["status"]:
                updated["finishedAt"] = at if updated["status"] == "finished" else None
            self.episodes.put(episode["id"], updated)
            self.sync_condition(episode["conditionId"])
            return updated

    def sync_condition(self, condition_id: str) -> None:
        condition = self.conditions.get(condition_id)
        if condition is None:
            return
        status = condition_status(self.active_episode(condition_id) is not None)
        tracking = condition["trackingFrequencyDays"] if status == "active" else None
        if (status, tracking) != (condition["status"], condition["trackingFrequencyDays"]):
            self.conditions.put(condition_id, {**condition, "status": status, "trackingFrequencyDays": tracking})

    def set_tracking(self, condition_id: str, every_days: int) -> None:
        with self.lock:
            condition = self.condition(condition_id)
            self.conditions.put(condition_id, {**condition, "trackingFrequencyDays": every_days})

    def issue_tokens(self, owner: tuple[str, str], now: datetime, lifetime: timedelta) -> Record:
        """A fresh token pair for `owner` (`("patientId", id)` or `("practitionerId", id)`), hex strings drawn
        from the seeded id source."""
        with self.lock:
            token = "lht_" + _hex(self.tokens) + _hex(self.tokens)
            refresh_token = _hex(self.tokens)
            return self.tokens.add(
                lambda key: {
                    "id": key,
                    owner[0]: owner[1],
                    "token": token,
                    "refresh_token": refresh_token,
                    "issuedAt": iso(now),
                    "expiresAt": iso(now + lifetime),
                }
            )

    def add_encounter(
        self,
        episode_id: str,
        planned_for: str,
        status: str,
        created_at: str,
        external_id: str | None = None,
        notes: str | None = None,
        practitioner_id: str | None = None,
    ) -> Record:
        return self.encounters.add(
            lambda key: {
                "id": key,
                "episodeOfCareId": episode_id,
                "planned_for": planned_for,
                "status": status,
                "externalId": external_id,
                "notes": notes,
                "practitionerId": practitioner_id,
                "createdAt": created_at,
            }
        )


def condition_view(condition: Record) -> dict[str, Any]:
    return {key: value for key, value in condition.items() if key != "patientId"}


def _hex(collection: Collection) -> str:
    return str(collection.new_id()).replace("-", "")


def _existing(collection: Collection, key: str, label: str) -> Record:
    record = collection.get(key.lower())  # uuids are stored lower-case; the path may use upper case
    if record is None:
        raise not_found(f'{label} "{key}" not found.')
    return record
