"""Impilo's device operations: validate an identifier, (dis)associate a patient, disable/enable readings."""

from __future__ import annotations

from typing import Any

from mocks.http.errors import bad_request
from mocks.state.clock import now_iso
from mocks.state.store import Record
from mocks.vendors.impilo import rules
from mocks.vendors.impilo.records import Records
from mocks.webhooks.emit import WebhookEmitter

Reply = tuple[Any, int]


class DeviceHandlers:
    records: Records
    webhooks: WebhookEmitter

    async def validate_device(self, device_identifier: str, **_: Any) -> Reply:
        device = self.records.device_by_identifier(device_identifier)
        if device is None:
            return {"valid": False}, 200
        return {"valid": True, "device": self.records.device_view(device)}, 200

    def _device_and_patient(self, body: dict[str, Any]) -> tuple[Record, Record]:
        device = rules.device_named(self.records, body)
        patient = rules.patient_named(self.records, body, "patientId", "patientExternalIdentifier")
        if patient is None:
            raise bad_request("Either patientId or patientExternalIdentifier is required to identify the patient")
        return device, patient

    def _save_device(self, device: Record, changes: dict[str, Any], event: str | None = None) -> Record:
        """Store the changed device, with a device event when one is named; returns its view."""
        at = now_iso()
        if event is not None:
            changes["deviceEvents"] = [*device["deviceEvents"], {"type": event, "eventTimestamp": at}]
        updated = self.records.devices.put(device["id"], {**device, **changes})
        return self.records.device_view(updated)

    async def associate_device(self, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            device, patient = self._device_and_patient(body)
            rules.check_can_associate(device)
            changes = {"currentStatus": "withPatient", "patientId": patient["id"], "used": True}
            view = self._save_device(device, changes, "associationCreated")
            self.webhooks.emit(
                "device.associationCreated", lambda: {"device": view, "patient": self.records.patient_view(patient)}
            )
            return view, 200

    async def disassociate_device(self, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            device, patient = self._device_and_patient(body)
            rules.check_can_disassociate(device, patient)
            view = self._save_device(
                device, {"currentStatus": "availableAtSite", "patientId": None}, "associationRemoved"
            )
            self.webhooks.emit(
                "device.associationRemoved", lambda: {"device": view, "patient": self.records.patient_view(patient)}
            )
            return view, 200

    async def disable_device_readings(self, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            device = rules.device_named(self.records, body)
            rules.check_readings_toggle(device, disable=True)
            return self._save_device(device, {"disabledReadings": True}), 200

    async def enable_device_readings(self, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            device = rules.device_named(self.records, body)
            rules.check_readings_toggle(device, disable=False)
            return self._save_device(device, {"disabledReadings": False}), 200
