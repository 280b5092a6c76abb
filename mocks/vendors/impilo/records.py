"""Impilo's stored records, their lookups and filters, the views that expand them, and the page envelope.

Collections (integer ids; items and kits from 1000, as the vendor's guides number them): `patients` (unique
`externalIdentifier`), `sites`, `items`, `kits`, `devices`, `orders`, and the webhook ones the emitter
writes. Stored records hold references by id (`siteId`, `patientId`, `itemId`, ...); the views expand them
the way the vendor's responses do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mocks.http.errors import not_found
from mocks.state.store import Collection, Record, Store

API = "impilo"
PATIENT_FIELDS = ("externalIdentifier", "firstName", "lastName", "dateOfBirth", "email", "phoneNumber",
                  "archived", "address", "enrolled", "sex")  # fmt: skip
PATIENT_FILTERS = ("siteId", "archived", "enrolled")  # list filters on a stored field's value as it is
SITE_FIELDS = ("name", "active", "phoneNumber", "address")
# Reading types: the name in webhook types (`reading.<kind>`) -> the vendor's path stem (`/<stem>-reading`).
READING_TYPES = {
    "bloodPressure": "blood-pressure", "bloodGlucose": "blood-glucose", "weight": "weight",
    "bloodOxygen": "blood-oxygen", "temperature": "temperature", "heartRate": "heart-rate",
    "heartRateVariability": "heart-rate-variability", "peakFlow": "peak-flow",
    "sleepMatActivity": "sleep-mat-activity", "sleepMatDuration": "sleep-mat-duration",
}  # fmt: skip
LOG_FIELDS = ("id", "webhookId", "webhookType", "webhookUrl", "payload", "createTimestamp", "lastResponseStatus",
              "retryAttempts", "lastRetryTimestamp")  # fmt: skip

Test = Callable[[Record, Any], bool]
Checks = dict[str, tuple[Test, Any]]


class Records:
    """Typed access to the API's collections; lookups answer the vendor's 404s."""

    def __init__(self, store: Store) -> None:
        self.lock = store.lock
        self.patients = store.collection(API, "patients", unique=("externalIdentifier",), filters=PATIENT_FILTERS)
        self.sites = store.collection(API, "sites")
        self.items = store.collection(API, "items", start=1000)
        self.kits = store.collection(API, "kits", start=1000)
        self.devices = store.collection(API, "devices")
        self.orders = store.collection(API, "orders")
        self.returns = store.collection(API, "returns")
        self.inventory = store.collection(API, "inventory")  # item id -> {"id", "available"}: fulfillment stock
        self.webhooks = store.collection(API, "webhooks")
        self.webhook_logs = store.collection(API, "webhook_logs")
        self.webhook_attempts = store.collection(API, "webhook_attempts")
        self.webhook_secret = store.collection(API, "webhook_secret")
        self.webhook_events = store.collection(API, "webhook_events")
        self.packed_kits = store.collection(API, "packed_kits")
        self.alert_configurations = store.collection(API, "alert_configurations")
        # One collection per reading type (READING_TYPES), each with its own ids, as the vendor's paths are.
        self.readings = {kind: store.collection(API, f"readings_{kind}") for kind in READING_TYPES}

    # --- lookups (404 when missing): the object in the path, and any id a body references (spec: info choice 13)

    def patient(self, patient_id: int) -> Record:
        return _existing(self.patients, patient_id, "Patient")

    def site(self, site_id: int) -> Record:
        return _existing(self.sites, site_id, "Site")

    def item(self, item_id: int) -> Record:
        return _existing(self.items, item_id, "Item")

    def kit(self, kit_id: int) -> Record:
        return _existing(self.kits, kit_id, "Kit")

    def device(self, device_id: int) -> Record:
        return _existing(self.devices, device_id, "Device")

    def order(self, order_id: int) -> Record:
        return _existing(self.orders, order_id, "Order")

    def webhook(self, webhook_id: int) -> Record:
        return _existing(self.webhooks, webhook_id, "Webhook")

    def packed_kit(self, packed_kit_id: int) -> Record:
        return _existing(self.packed_kits, packed_kit_id, "Packed kit")

    def device_by_identifier(self, identifier: str) -> Record | None:
        """The device one of whose `deviceIdentifiers` has this value (the vendor's serial, IMEI, ...)."""
        found = self.devices.where(lambda d: any(i.get("value") == identifier for i in d["deviceIdentifiers"]))
        return found[0] if found else None

    def reading(self, kind: str, reading_id: int) -> Record:
        return _existing(self.readings[kind], reading_id, "Reading")

    def patient_by_external_identifier(self, identifier: str) -> Record:
        record = self.patients.find_unique("externalIdentifier", identifier)
        if record is None:
            raise not_found(f"No patient with externalIdentifier {identifier!r}")
        return record

    def webhook_secret_value(self) -> str | None:
        return (self.webhook_secret.get(1) or {}).get("secret")

    # --- views: references expanded as the vendor answers them ---

    def site_view(self, site_id: int | None) -> Record | None:
        return None if site_id is None else self.sites.get(site_id)

    def patient_view(self, record: Record) -> Record:
        view = dict(record)  # a copy in C, then the reference out: same keys, same order
        view.pop("siteId", None)
        site = self.site_view(record.get("siteId"))
        if site is not None:
            view["site"] = site
        return view

    def item_view(self, item_id: int) -> Record:
        return self.items.get(item_id) or {"id": item_id}

    def kit_view(self, record: Record) -> Record:
        return {
            **record,
            "kitItems": [{"item": self.item_view(k["itemId"]), "count": k["count"]} for k in record["kitItems"]],
        }

    def kit_view_by_id(self, kit_id: int) -> Record:
        record = self.kits.get(kit_id)
        return self.kit_view(record) if record else {"id": kit_id}

    def device_view(self, record: Record) -> Record:
        view = {k: v for k, v in record.items() if k not in ("itemId", "patientId", "siteId")}
        view["item"] = self.item_view(record["itemId"])
        patient = self.patients.get(record["patientId"]) if record.get("patientId") is not None else None
        if patient is not None:
            view["currentPatient"] = self.patient_view(patient)
        site = self.site_view(record.get("siteId"))
        if site is not None:
            view["site"] = site
        return view

    def reading_view(self, record: Record) -> Record:
        """A stored reading as the vendor answers it: patient, device and its item expanded."""
        view = {k: v for k, v in record.items() if k not in ("patientId", "deviceId", "itemId", "kind")}
        patient = self.patients.get(record["patientId"]) if record.get("patientId") is not None else None
        if patient is not None:
            view["patient"] = self.patient_view(patient)
        device = self.devices.get(record["deviceId"]) if record.get("deviceId") is not None else None
        if device is not None:
            view["device"] = self.device_view(device)
        if record.get("itemId") is not None:
            view["item"] = self.item_view(record["itemId"])
        return view

    def order_view(self, record: Record) -> Record:
        view: dict[str, Any] = {k: v for k, v in record.items() if k not in ("patientId", "siteId", "deviceIds")}
        self._expand_party(view, record)
        view["orderItems"] = self._item_lines(record["orderItems"])
        view["orderKits"] = [{"kit": self.kit_view_by_id(k["kitId"]), "count": k["count"]} for k in record["orderKits"]]
        devices = [self.devices.get(d) for d in record.get("deviceIds", [])]
        view["devices"] = [self.device_view(d) for d in devices if d is not None]
        for name in ("returnItems", "returnDevices", "returnPackedKits", "returnId"):
            view.pop(name, None)
        if record.get("returnId") is not None:  # a two-way order shows what is expected back
            view["returnItems"] = self._item_lines(record.get("returnItems", []))
            view["returnDevices"] = [self.device_view(d) for d in map(self.devices.get, record.get("returnDevices", []))
                                     if d is not None]  # fmt: skip
            view["returnPackedKits"] = [{"id": k} for k in record.get("returnPackedKits", [])]
        return view

    def _expand_party(self, view: dict[str, Any], record: Record) -> None:
        """`view` shows the patient or site an order or return is for, expanded as reads show them."""
        patient = self.patients.get(record["patientId"]) if record.get("patientId") is not None else None
        if patient is not None:
            view["patient"] = self.patient_view(patient)
        site = self.site_view(record.get("siteId"))
        if site is not None:
            view["site"] = site

    def _item_lines(self, lines: list[Record]) -> list[Record]:
        """Stored `{itemId, count}` lines as the vendor answers them: `{item, count}`, the item expanded."""
        return [{"item": self.item_view(line["itemId"]), "count": line["count"]} for line in lines]

    def return_view(self, record: Record) -> Record:
        """A return (RMA) as the vendor's create-return answers it: patient or site expanded."""
        view: dict[str, Any] = {k: v for k, v in record.items() if k not in ("patientId", "siteId", "deviceIds")}
        self._expand_party(view, record)
        view["returnItems"] = self._item_lines(record["returnItems"])
        view["returnDevices"] = [self.device_view(d) for d in map(self.devices.get, record.get("deviceIds", []))
                                 if d is not None]  # fmt: skip
        return view


def log_view(record: Record) -> Record:
    """A webhook log row as listWebhookLogs answers it (the emitter stores more)."""
    return {k: record[k] for k in LOG_FIELDS}


def _existing(collection: Collection, key: int, label: str) -> Record:
    record = collection.get(key)
    if record is None:
        raise not_found(f"{label} {key} not found")
    return record


# --- the page envelope `{content, page, size, total, first, last}` (1-based pages) ---


def page_of(records: Sequence[Any], page: int, size: int, view: Callable[[Any], Any] = lambda r: r) -> dict[str, Any]:
    total = len(records)
    start = (page - 1) * size
    content = [view(record) for record in records[start : start + size]]
    return {
        "content": content,
        "page": page,
        "size": size,
        "total": total,
        "first": page == 1,
        "last": start + size >= total,
    }


def page_of_collection(
    collection: Collection, page: int, size: int, view: Callable[[Any], Any] = lambda r: r
) -> dict[str, Any]:
    """The same envelope straight from a collection: no scan, so a page costs the same at 1k or 100k."""
    total, start = len(collection), (page - 1) * size
    content = [view(record) for record in collection.slice(start, start + size)]
    return {"content": content, "page": page, "size": size, "total": total, "first": page == 1,
            "last": start + size >= total}  # fmt: skip


def page_where(
    collection: Collection, equal: dict[str, Any], page: int, size: int, view: Callable[[Any], Any] = lambda r: r
) -> dict[str, Any]:
    """The envelope of the records whose fields equal `equal`'s values, counted and paged by the store."""
    start = (page - 1) * size
    total, found = collection.page_where(equal, start, start + size)
    return {"content": [view(record) for record in found], "page": page, "size": size, "total": total,
            "first": page == 1, "last": start + size >= total}  # fmt: skip


# --- list filters: a `Checks` table maps a name to (test, the query value or None when not asked) ---


def matches(record: Record, checks: Checks) -> bool:
    """True when every given filter (value not None) accepts the record."""
    return all(test(record, value) for test, value in checks.values() if value is not None)


def contains(field: str) -> Test:
    return lambda record, value: value.lower() in str(record.get(field) or "").lower()


def equals(field: str) -> Test:
    return lambda record, value: record.get(field) == value


def address(field: str) -> Test:
    return lambda record, value: str((record.get("address") or {}).get(field) or "").lower() == value.lower()


def born(after: bool) -> Test:
    def test(record: Record, value: Any) -> bool:
        birth, limit = record.get("dateOfBirth"), str(value)
        return birth is not None and (birth >= limit if after else birth <= limit)

    return test


def full_name(record: Record, value: str) -> bool:
    return value.lower() in f"{record.get('firstName', '')} {record.get('lastName', '')}".lower()


def between(field: str, low: bool) -> Test:
    """A stored timestamp at or after (`low`) or before the given date-time."""

    def test(record: Record, value: Any) -> bool:
        stored = record.get(field)
        if stored is None:
            return False
        stamp = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return stored >= stamp if low else stored < stamp

    return test


PATIENT_SORT: dict[str, Callable[[Record], Any]] = {
    "firstName": lambda p: (p.get("firstName") or "").lower(),
    "lastName": lambda p: (p.get("lastName") or "").lower(),
    "patientId": lambda p: p["id"],
}
