"""Legit.Health deep-link API handlers: one async method per operationId, state in the shared store.

Thin by design: each takes the request's values, asks `rules` and `records`, and returns (body, status).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mocks.context import MockContext
from mocks.dx.fixtures import Kind
from mocks.vendors.legit_health import fixtures, messages, rules
from mocks.vendors.legit_health import seed as seeding
from mocks.vendors.legit_health.records import PATIENT_FIELDS, SPECIALITIES, Records, iso

Reply = tuple[Any, int]


def _now() -> datetime:
    return datetime.now(UTC)


class Handlers:
    """Constructed once per app; every request reads and writes `context.store` only."""

    def __init__(self, context: MockContext) -> None:
        self.context = context
        self.records = Records(context.store)

    def seed(self) -> None:
        seeding.seed(self.context, self.records)

    def fixtures(self) -> list[Kind]:
        """The collections state fixtures load and export, and how (mocks/dx/fixtures.py)."""
        return fixtures.kinds(self.context, self.records)

    # --- practitioners ---

    async def create_practitioner(self, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            rules.check_speciality(body.get("speciality"))
            rules.check_new_external_id(self.records.practitioners, "practitioner", body["externalId"])
            practitioner = self.records.add_practitioner(body, "pending", iso(_now()))  # until they confirm
            messages.send_practitioner_verification(self.context.outbox, practitioner)
            return practitioner, 201

    async def get_practitioners(self, external_ids: list[str], **_: Any) -> Reply:
        found = (self.records.practitioners.find_unique("externalId", x) for x in dict.fromkeys(external_ids))
        return [p for p in found if p is not None], 200

    async def get_practitioner_specialties(self, **_: Any) -> Reply:
        return list(SPECIALITIES), 200

    async def get_practitioner(self, practitioner_id: str, **_: Any) -> Reply:
        return self.records.practitioner(practitioner_id), 200

    async def get_practitioner_auth_tokens(
        self, practitioner_id: str, send_link_to_practitioner_by_email: bool = False, **_: Any
    ) -> Reply:
        with self.records.lock:
            practitioner = self.records.practitioner(practitioner_id)
            tokens = self._tokens(("practitionerId", practitioner["id"]))
            if send_link_to_practitioner_by_email:
                messages.send_login_link(self.context.outbox, practitioner, tokens["loginLink"], "practitionerId")
            return tokens, 200

    def _tokens(self, owner: tuple[str, str]) -> dict[str, Any]:
        issued = self.records.issue_tokens(owner, _now(), rules.TOKEN_TTL)
        tokens = {key: issued[key] for key in ("token", "refresh_token", "expiresAt")}
        tokens["loginLink"] = rules.login_link(issued["token"], issued["refresh_token"])
        return tokens

    # --- patients ---

    async def create_patient(self, body: dict[str, Any], **_: Any) -> Reply:
        now = iso(_now())
        with self.records.lock:
            rules.check_new_external_id(self.records.patients, "patient", body["externalId"])
            practitioner_id = rules.practitioner_reference(self.records, body.get("practitionerId"))
            fields = {**body, "practitionerId": practitioner_id}
            patient = self.records.add_patient(fields, "pending", now)  # until the patient confirms
            for condition in body.get("conditions", []):
                self.records.add_condition(patient["id"], condition["pathologyCode"], condition["bodySite"], now)
            messages.send_verifications(self.context.outbox, patient, messages.VERIFICATIONS)
            return self.records.patient_view(patient), 201

    async def get_patients(self, external_ids: list[str], **_: Any) -> Reply:
        found = (self.records.patients.find_unique("externalId", x) for x in dict.fromkeys(external_ids))
        return [self.records.patient_view(p) for p in found if p is not None], 200

    async def get_patient(self, patient_id: str, **_: Any) -> Reply:
        return self.records.patient_view(self.records.patient(patient_id)), 200

    async def patch_patient(self, patient_id: str, body: dict[str, Any], **_: Any) -> Reply:
        now = _now()
        with self.records.lock:
            patient = self.records.patient(patient_id)
            given = dict(body)
            if "practitionerId" in given:
                given["practitionerId"] = rules.practitioner_reference(self.records, given["practitionerId"])
            rules.run_commands(self.records, patient, body.get("conditions", []), now)
            changes = {f: given[f] for f in PATIENT_FIELDS if f in given and given[f] != patient[f]}
            patient = self.records.patients.put(patient["id"], {**patient, **changes, "updatedAt": iso(now)})
            if patient["verificationStatus"] == "pending":
                messages.send_verifications(self.context.outbox, patient, changes)
            return self.records.patient_view(patient), 200

    async def get_patients_auth_tokens(
        self, patient_id: str, send_link_to_patient_by_email: bool = False, **_: Any
    ) -> Reply:
        with self.records.lock:  # no token or email for a patient that a reset (or another worker) removed
            patient = self.records.patient(patient_id)
            if send_link_to_patient_by_email:
                rules.check_email_for_link(patient)
            tokens = self._tokens(("patientId", patient["id"]))
            if send_link_to_patient_by_email:
                messages.send_login_link(self.context.outbox, patient, tokens["loginLink"])
            return tokens, 200

    # --- episodes of care ---

    async def get_episodes_of_care(self, condition_id: str, **_: Any) -> Reply:
        condition = self.records.condition(condition_id)
        return self.records.episodes_of(condition["id"]), 200

    async def create_episode_of_care(self, condition_id: str, body: Any = None, **_: Any) -> Reply:
        fields = body if isinstance(body, dict) else {}  # an absent (optional) body arrives as b""
        status: str = fields.get("status", "active")
        with self.records.lock:
            condition = self.records.condition(condition_id)
            rules.check_one_active_episode(self.records, condition["id"], status)
            episode = self.records.open_episode(condition, iso(_now()), status, fields.get("externalId"))
            return episode, 201

    async def get_episode_of_care(self, episode_of_care_id: str, **_: Any) -> Reply:
        return self.records.episode(episode_of_care_id), 200

    async def patch_episode_of_care(self, episode_of_care_id: str, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            episode = self.records.episode(episode_of_care_id)
            status: str = body.get("status") or episode["status"]
            if status != episode["status"]:
                rules.check_one_active_episode(self.records, episode["conditionId"], status)
            updated = self.records.set_episode(episode, iso(_now()), externalId=body["externalId"], status=status)
            return updated, 200

    # --- encounters ---

    async def create_encounter(self, episode_of_care_id: str, body: dict[str, Any], **_: Any) -> Reply:
        now = _now()
        with self.records.lock:
            episode = self.records.episode(episode_of_care_id)
            practitioner_id = rules.practitioner_reference(self.records, body.get("practitionerId"))
            encounter = self.records.add_encounter(
                episode["id"],
                body["planned_for"],
                rules.encounter_status(body["planned_for"], now),
                iso(now),
                body.get("externalId"),
                body.get("notes"),
                practitioner_id,
            )
            return encounter, 201

    async def get_encounters(self, episode_of_care_id: str, **_: Any) -> Reply:
        episode = self.records.episode(episode_of_care_id)
        return self.records.encounters_of(episode["id"]), 200

    async def get_encounter(self, encounter_id: str, **_: Any) -> Reply:
        return self.records.encounter(encounter_id), 200
