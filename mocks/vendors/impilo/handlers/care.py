"""What a care team does around a patient: link packed kits, find a patient by email, set alert rules."""

from __future__ import annotations

from typing import Any

from mocks.http.errors import bad_request, not_found
from mocks.state.clock import now_iso
from mocks.vendors.impilo import rules
from mocks.vendors.impilo.records import Records

Reply = tuple[Any, int]
ALERT_FIELDS = ("alertConfigurationType", "enabled", "notifyHealthCoach", "notifyPatient", "config",
                "notificationEmails")  # fmt: skip


class CareHandlers:
    records: Records

    async def link_kit_to_patient(self, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            kit = self.records.packed_kit(body["packedKitId"])
            patient = rules.patient_required(self.records, body)
            rules.check_can_link_kit(kit)
            self.records.packed_kits.put(kit["id"], {**kit, "status": "WITH_PATIENT", "patientId": patient["id"],
                                                     "statusTimestamp": now_iso()})  # fmt: skip
        return None, 204

    async def unlink_kit_from_patient(self, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            kit = self.records.packed_kit(body["packedKitId"])
            patient = rules.patient_required(self.records, body)
            rules.check_can_unlink_kit(kit, patient)
            self.records.packed_kits.put(kit["id"], {**kit, "status": "PACKED_AT_SITE", "patientId": None,
                                                     "statusTimestamp": now_iso()})  # fmt: skip
        return None, 204

    async def fetch_patient_by_email(self, body: dict[str, Any], **_: Any) -> Reply:
        email = body.get("email")
        if not isinstance(email, str):
            raise bad_request('The body must be {"email": <the email to search for>}')
        found = self.records.patients.where(lambda p: str(p.get("email") or "").lower() == email.lower())
        if not found:
            raise not_found(f"No patient with email {email!r}")
        return self.records.patient_view(found[0]), 200

    async def set_patient_alert_configuration(self, patient_id: int, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            self.records.patient(patient_id)
            stored = {k: body[k] for k in ALERT_FIELDS if k in body}
            stored.setdefault("alertConfigurationType", "bloodPressure")
            key = f"{patient_id}:{stored['alertConfigurationType']}"
            self.records.alert_configurations.put(key, {**stored, "patientId": patient_id})
        return stored, 200

    async def get_patient_alert_configuration(self, patient_id: int, **_: Any) -> Reply:
        self.records.patient(patient_id)
        mine = self.records.alert_configurations.where(lambda c: c["patientId"] == patient_id)
        return [{k: c[k] for k in ALERT_FIELDS if k in c} for c in mine], 200
