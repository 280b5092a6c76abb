"""Impilo's business rules: what the schema cannot say, each with where it comes from.

"Spec" below is specs/impilo.yaml: the named operation's description or the `Conflict` response's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from mocks.http.errors import bad_request, conflict, not_found
from mocks.state.store import Record
from mocks.vendors.impilo.records import Records

NEW_PATIENT = {"archived": False, "enrolled": True}
"""What a created (or replaced) patient holds besides what the client sent: not archived, and enrolled
("False if disenrolled", vendor reference). Inferred defaults, written in the spec's Patient schema."""


def external_identifier(email: str, phone: str) -> str:
    """The patient guide's recipe, which the customer applies (the seed uses it for its patients): MD5 of the
    lower-cased email followed by the phone's digits (spec: getPatientByExternalIdentifier)."""
    return hashlib.md5((email.lower() + re.sub(r"\D", "", phone)).encode()).hexdigest()


def check_unique_external_identifier(records: Records, patient: Record) -> None:
    """409 when another patient has this `externalIdentifier` (spec: createPatient, updatePatient,
    patchPatient: "Duplicate `externalIdentifier`: 409 (inferred)")."""
    identifier = patient.get("externalIdentifier")
    duplicate = identifier and records.patients.find_unique("externalIdentifier", identifier)
    if duplicate and duplicate["id"] != patient["id"]:
        raise conflict(f"A patient with externalIdentifier {identifier!r} already exists")


def site_for_patient(
    records: Records, site: dict[str, Any] | None, create: Callable[[dict[str, Any]], Record]
) -> int | None:
    """The site id a patient's nested `site` names. Given by id, the site must exist (404, spec: info choice
    13). Without an id it is matched by name, or `create`d (the seed example sends a nested site without id;
    spec: updatePatient)."""
    if not site:
        return None
    if "id" in site:
        return int(records.site(site["id"])["id"])
    named = records.sites.where(lambda s: site.get("name") is not None and s.get("name") == site.get("name"))
    if named:
        return int(named[0]["id"])
    return int(create(site)["id"])


PARTY_REQUIRED = "patient or site required"
LINES_REQUIRED = ("Order must contain at least one of: orderItems, orderKits, returnItems, returnDevices, or "
                  "returnPackedKits")  # fmt: skip
SHIPPING_REQUIRED = "shippingOption is required when emailLabel is false and return items are included"
RETURNS = ("returnItems", "returnDevices", "returnPackedKits")
LINES = ("orderItems", "orderKits", *RETURNS)
# The documented create-order 400s for loaner kits and stock (spec: createOrder's `x-business-rules`).
MAX_ONE_LOANER, QTY_OVER_ONE_LOANER = "max_one_loaner_kit", "qty_over_one_loaner_kit"
NO_RETURNS_WITH_LOANER, NO_LOANER_TO_SITE = "no_returns_with_loaner_kit", "no_loaner_kit_to_site"
INSUFFICIENT_INVENTORY = "insufficient_inventory"


def check_order_shape(body: dict[str, Any]) -> None:
    """400 with the vendor's messages: exactly one of patient and site; at least one non-empty line list,
    outbound or return (two-way orders); a shipping option when returns come back on a shipped label (spec:
    createOrder's `x-business-rules`, the documented create-order messages)."""
    if ("patient" in body) == ("site" in body):
        raise bad_request(PARTY_REQUIRED)
    if not any(body.get(name) for name in LINES):
        raise bad_request(LINES_REQUIRED)
    if any(body.get(name) for name in RETURNS) and not body.get("emailLabel", False) and "shippingOption" not in body:
        raise bad_request(SHIPPING_REQUIRED)


def check_loaner_kits(records: Records, body: dict[str, Any]) -> None:
    """The documented loaner-kit rules: one loaner kit line, of count 1, to a patient, without returns (spec:
    createOrder's `x-business-rules`). A kit is a loaner when its record says `loaner` (seeded: kit 1005)."""
    loaners = [line for line in body.get("orderKits", []) if records.kit(line["kit"]["id"]).get("loaner")]
    if not loaners:
        return
    if len(loaners) > 1:
        raise bad_request(MAX_ONE_LOANER)
    if loaners[0].get("count", 1) != 1:
        raise bad_request(QTY_OVER_ONE_LOANER)
    if any(body.get(name) for name in RETURNS):
        raise bad_request(NO_RETURNS_WITH_LOANER)
    if "site" in body:
        raise bad_request(NO_LOANER_TO_SITE)


def check_inventory(records: Records, body: dict[str, Any]) -> None:
    """400 `insufficient_inventory` when the fulfillment stock of an item is below what the order's items and
    kits need (spec: createOrder, "No fulfillment site has enough inventory"). The mock's stock is per item,
    seeded, and not consumed by orders (a choice: a long session never runs dry)."""
    needed: dict[int, int] = {}
    for line in body.get("orderItems", []):
        needed[line["item"]["id"]] = needed.get(line["item"]["id"], 0) + line.get("count", 1)
    for line in body.get("orderKits", []):
        for part in records.kit(line["kit"]["id"])["kitItems"]:
            needed[part["itemId"]] = needed.get(part["itemId"], 0) + part["count"] * line.get("count", 1)
    for item_id, count in needed.items():
        if count > (records.inventory.get(item_id) or {}).get("available", 0):
            raise bad_request(INSUFFICIENT_INVENTORY)


def check_order_references(records: Records, body: dict[str, Any]) -> None:
    """Unknown patient, site, item, kit, or returned item, device or packed kit: 404, the lookups' (spec: info
    choice 13); an item that is not
    orderable: 400 with the vendor's message (spec: listItems' `orderable`: new items are not orderable until
    approved)."""
    if "patient" in body:
        records.patient(body["patient"]["id"])
    if "site" in body:
        records.site(body["site"]["id"])
    for line in body.get("orderItems", []):
        if not records.item(line["item"]["id"]).get("orderable", True):
            raise bad_request("Order contains Items that are marked as non-orderable. Order cannot be placed.")
    for line in body.get("orderKits", []):
        records.kit(line["kit"]["id"])
    for line in body.get("returnItems", []):
        records.item(line["item"]["id"])
    for line in body.get("returnDevices", []):
        records.device(line["id"])
    for line in body.get("returnPackedKits", []):
        records.packed_kit(line["id"])


def check_new_webhook(records: Records, kind: str, url: str) -> None:
    """409 when the same `type` is already registered for the same `url` (spec: createWebhook, inferred)."""
    if records.webhooks.where(lambda w: w["type"] == kind and w["url"] == url):
        raise conflict(f"A {kind} webhook for {url} already exists")


def check_url_changes(webhook: Record, url: str) -> None:
    """400 when the new URL equals the current one (spec: updateWebhook, documented by the vendor)."""
    if url == webhook["url"]:
        raise bad_request("The new webhook URL is the same as the existing one")


def check_no_secret(records: Records) -> None:
    """409 if a webhook secret already exists (spec: createWebhookSecret)."""
    if records.webhook_secret.get(1) is not None:
        raise conflict("A webhook secret already exists")


# --- devices (spec: associateDevice, disassociateDevice, disableDeviceReadings; vendor preconditions) ---


def device_named(records: Records, body: dict[str, Any]) -> Record:
    """The device a body names by `deviceId` or `deviceIdentifier` (the id wins when both are given: the
    guide's own body sends both): 400 when it names none, 404 when it is unknown (spec:
    `DeviceReferenceRequest`, `AssociateDeviceRequest`)."""
    if body.get("deviceId") is not None:
        return records.device(body["deviceId"])
    if body.get("deviceIdentifier") is not None:
        found = records.device_by_identifier(body["deviceIdentifier"])
        if found is None:
            raise not_found(f"No device with identifier {body['deviceIdentifier']!r}")
        return found
    raise bad_request("Either deviceId or deviceIdentifier is required to identify the device")


def patient_named(records: Records, body: dict[str, Any], id_field: str, external_field: str) -> Record | None:
    """The patient a body names by id or external identifier (404 when unknown); None when it names none."""
    if body.get(id_field) is not None:
        return records.patient(body[id_field])
    if body.get(external_field) is not None:
        return records.patient_by_external_identifier(body[external_field])
    return None


def check_can_associate(device: Record) -> None:
    """The device must be `availableAtSite` at a customer (non-Impilo) site: 409 otherwise (spec:
    associateDevice, the vendor's preconditions; the status is this spec's choice)."""
    if device["currentStatus"] != "availableAtSite" or device.get("siteId") is None:
        raise conflict(
            f"Device {device['id']} has currentStatus {device['currentStatus']}"
            + ("" if device.get("siteId") is not None else " and no customer site")
            + "; associating needs availableAtSite at a customer site"
        )


def check_can_disassociate(device: Record, patient: Record) -> None:
    """The device must be `withPatient`, with this patient, at a customer site: 409 otherwise (spec:
    disassociateDevice)."""
    if device["currentStatus"] != "withPatient" or device.get("patientId") != patient["id"]:
        raise conflict(
            f"Device {device['id']} is not with patient {patient['id']} "
            f"(currentStatus {device['currentStatus']}); disassociating needs withPatient with that patient"
        )
    if device.get("siteId") is None:
        raise conflict(f"Device {device['id']} is not associated with a customer site")


def check_readings_toggle(device: Record, disable: bool) -> None:
    """Disabling needs `disabledReadings` false (vendor precondition), enabling needs it true: 409."""
    if bool(device.get("disabledReadings")) == disable:
        state = "disabled" if disable else "enabled"
        raise conflict(f"Readings of device {device['id']} are already {state}")


# --- readings (spec: record<Type>Reading; vendor: "Either a device ID, device identifier, or patient ID is
# required"; readings of a device with disabled readings "will not be processed or saved") ---


def reading_source(records: Records, body: dict[str, Any]) -> tuple[Record | None, Record]:
    """The device (or None) and the patient a reading belongs to. 400 when the body names neither a device
    nor a patient; 404 for an unknown one; 409 when the device's readings are disabled, when it has no
    patient, or another patient than `patientId` (the statuses are this spec's choices)."""
    named_device = body.get("deviceId") is not None or body.get("deviceIdentifier") is not None
    if not named_device and body.get("patientId") is None:
        raise bad_request("Either a device ID, device identifier, or patient ID is required")
    device = device_named(records, body) if named_device else None
    patient = records.patient(body["patientId"]) if body.get("patientId") is not None else None
    if device is None:
        assert patient is not None
        return None, patient
    if device.get("disabledReadings"):
        raise conflict(f"Readings of device {device['id']} are disabled; the reading was not saved")
    if device.get("patientId") is None:
        raise conflict(f"Device {device['id']} is not associated with a patient")
    if patient is not None and patient["id"] != device["patientId"]:
        raise conflict(f"Device {device['id']} is not with patient {patient['id']}")
    return device, patient or records.patient(device["patientId"])


# --- packed kits (spec: linkKitToPatient, unlinkKitFromPatient; vendor preconditions) ---


def patient_required(records: Records, body: dict[str, Any]) -> Record:
    """The patient a body names by `patientId` or `patientExternalIdentifier`: 400 when it names none."""
    patient = patient_named(records, body, "patientId", "patientExternalIdentifier")
    if patient is None:
        raise bad_request("Either patientId or patientExternalIdentifier is required to identify the patient")
    return patient


def check_can_link_kit(kit: Record) -> None:
    """A packed kit is linked only when `PACKED_AT_SITE` at a customer site: 409 otherwise."""
    if kit["status"] != "PACKED_AT_SITE" or kit.get("siteId") is None:
        raise conflict(
            f"Packed kit {kit['id']} has status {kit['status']}; linking needs PACKED_AT_SITE at a customer site"
        )


def check_can_unlink_kit(kit: Record, patient: Record) -> None:
    """A packed kit is unlinked only when `WITH_PATIENT`, with this patient: 409 otherwise."""
    if kit["status"] != "WITH_PATIENT" or kit.get("patientId") != patient["id"]:
        raise conflict(
            f"Packed kit {kit['id']} is not with patient {patient['id']} (status {kit['status']}); "
            "unlinking needs WITH_PATIENT with that patient"
        )
