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
from mocks.vendors.legit_health.records import PATIENT_FIELDS, Records, iso

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

    # --- patients ---

    async def create_patient(self, body: dict[str, Any], **_: Any) -> Reply:
        now = iso(_now())
        with self.records.lock:
            rules.check_new_external_id(self.records, body["externalId"])
            patient = self.records.add_patient(body, "pending", now)  # until the patient confirms
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
            rules.run_commands(self.records, patient, body.get("conditions", []), now)
            changes = {f: body[f] for f in PATIENT_FIELDS if f in body and body[f] != patient[f]}
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
            issued = self.records.issue_tokens(patient["id"], _now(), rules.TOKEN_TTL)
            tokens = {key: issued[key] for key in ("token", "refresh_token", "expiresAt")}
            tokens["loginLink"] = rules.login_link(issued["token"], issued["refresh_token"])
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
            encounter = self.records.add_encounter(
                episode["id"],
                body["planned_for"],
                rules.encounter_status(body["planned_for"], now),
                iso(now),
                body.get("externalId"),
                body.get("notes"),
            )
            return encounter, 201

    async def get_encounters(self, episode_of_care_id: str, **_: Any) -> Reply:
        episode = self.records.episode(episode_of_care_id)
        return self.records.encounters_of(episode["id"]), 200

    async def get_encounter(self, encounter_id: str, **_: Any) -> Reply:
        return self.records.encounter(encounter_id), 200
