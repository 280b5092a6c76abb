"""Deterministic Impilo seed data: sites, patients, a device catalogue, kits, devices and orders.

Fixed ids the vendor guides use exist in every seed: patients 0 and 1234, site 1234, items and kits
1000-1003. Everything else comes from Faker, re-seeded per record so one seed always gives one dataset.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from mocks.context import MockContext
from mocks.state.fakedata import fictional_phone
from mocks.vendors.impilo.records import Records
from mocks.vendors.impilo.rules import external_identifier
from mocks.vendors.impilo.vitals import KIND_OF_ITEM_CLASS, UNITS, baseline, source, values

PATIENTS, SITES, DEVICES, ORDERS = 60, 12, 30, 25
READING_DAYS = 30
FIXED_PATIENTS = (0, 1234)
FIXED_SITE = 1234
CATALOGUE = (  # id, name, model, identifier type, class
    (1000, "Blood Pressure Monitor", "BP-7250", "serial", "bloodPressure"),
    (1001, "Weight Scale", "WS-310", "serial", "weight"),
    (1002, "Pulse Oximeter", "PO-60", "macAddress", "bloodOxygen"),
    (1003, "Cellular Hub", "HUB-4G", "imei", "gateway"),
    (1004, "Glucometer", "GL-2", "serial", "bloodGlucose"),
    (1005, "Thermometer", "TH-11", "serial", "temperature"),
    (1006, "Peak Flow Meter", "PF-100", "serial", "peakFlow"),
    (1007, "Sleep Mat", "SM-1", "macAddress", "sleepMat"),
    (1008, "Blood Pressure Monitor XL", "BP-7900", "serial", "bloodPressure"),  # new: not orderable until approved
)
NOT_ORDERABLE = {1008}
STOCK = {1007: 2}  # fulfillment stock per item (1000 of every other): a sleep mat order of 3 is insufficient_inventory
KITS = (  # id, name, [(item id, count)]
    (1000, "Hypertension Starter Kit", [(1000, 1), (1003, 1)]),
    (1001, "Heart Failure Kit", [(1000, 1), (1001, 1), (1003, 1)]),
    (1002, "COPD Kit", [(1002, 1), (1006, 1), (1003, 1)]),
    (1003, "Diabetes Kit", [(1004, 1), (1001, 1), (1003, 1)]),
    (1004, "Sleep Study Kit", [(1007, 1), (1003, 1)]),
    (1005, "Loaner Blood Pressure Kit", [(1000, 1), (1003, 1)]),
)
# Fixed devices in every seed, one or more per status (id, item, status, patient, site, readings disabled):
# the walkthrough associates 101 with patient 1234, whose devices 102-104 already send readings.
SHOWCASE_DEVICES = (
    (101, 1000, "availableAtSite", None, FIXED_SITE, False),
    (102, 1000, "withPatient", 1234, FIXED_SITE, False),
    (103, 1001, "withPatient", 1234, FIXED_SITE, False),
    (104, 1002, "withPatient", 1234, FIXED_SITE, False),
    (105, 1004, "withPatient", 0, FIXED_SITE, False),
    (106, 1005, "withPatient", 0, FIXED_SITE, True),
    (107, 1001, "availableAtSite", None, FIXED_SITE, False),
    (108, 1000, "available", None, None, False),
    (109, 1002, "decommissioned", None, None, False),
    (110, 1006, "withPatient", 0, FIXED_SITE, False),
)
# Packed kits at site 1234 (id, kit, status, patient, devices): 1 ready to link; 2 with patient 1234,
# holding its blood pressure monitor and hub-less scale; 3 at Impilo's warehouse (no customer site).
PACKED_KITS = (
    (1, 1000, "PACKED_AT_SITE", None, (101,)),
    (2, 1001, "WITH_PATIENT", 1234, (102, 103)),
    (3, 1002, "PACKED_AT_SITE", None, (107,)),
)
LOANER_KITS = {1005}
DEVICE_STATUSES = ("availableAtSite", "withPatient", "available", "decommissioned")
ORDER_FLOW = ("pending", "processing", "packed", "shipped", "delivered")
EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seed(context: MockContext, records: Records) -> None:
    """Fill the empty collections: the guides' fixed ids first, then the generated records."""
    faker = context.faker
    for site_id in [FIXED_SITE, *range(1, SITES + 1)]:
        fake = faker.reseed(f"impilo.site.{site_id}")
        city = fake.city()
        records.sites.put(
            site_id,
            faker.fill(
                context.schema("impilo", "Site"),
                f"impilo.site.{site_id}.rest",
                {
                    "id": site_id,
                    "name": f"{city} {fake.random_element(['Clinic', 'Health Center', 'Cardiology'])}",
                    "active": fake.random_int(0, 9) > 0,
                    "phoneNumber": fictional_phone(fake),
                    "address": {
                        "lineOne": fake.street_address(),
                        "city": city,
                        "state": fake.state_abbr(),
                        "zipCode": fake.postcode(),
                        "country": "USA",
                    },
                },
            ),
        )
    site_ids = [FIXED_SITE, *range(1, SITES + 1)]
    for patient_id in [*FIXED_PATIENTS, *range(1, PATIENTS + 1)]:
        records.patients.put(patient_id, _patient(context, patient_id, site_ids))
    for item_id, name, model, identifier_type, item_class in CATALOGUE:
        fake = faker.reseed(f"impilo.item.{item_id}")
        records.items.put(
            item_id,
            faker.fill(
                context.schema("impilo", "Item"),
                f"impilo.item.{item_id}.rest",
                {
                    "id": item_id,
                    "name": name,
                    "model": model,
                    "sku": f"IMP-{item_id}-{model}",
                    "orderable": item_id not in NOT_ORDERABLE,
                    "deviceIdentifierType": identifier_type,
                    "itemClass": item_class,
                    "itemClassType": "device",
                    "manufacturer": {"id": 1 + item_id % 3, "name": fake.company()},
                },
            ),
        )
    for kit_id, name, items in KITS:
        records.kits.put(
            kit_id,
            {
                "id": kit_id,
                "name": name,
                "archived": False,
                "loaner": kit_id in LOANER_KITS,
                "kitItems": [{"itemId": i, "count": n} for i, n in items],
            },
        )
    for item_id, *_ in CATALOGUE:
        records.inventory.put(item_id, {"id": item_id, "available": STOCK.get(item_id, 1000)})
    for device_id in range(1, DEVICES + 1):
        records.devices.put(device_id, _device(context, device_id, records))
    for device_id, item_id, status, patient_id, site_id, disabled in SHOWCASE_DEVICES:
        records.devices.put(
            device_id, _showcase_device(context, device_id, item_id, status, patient_id, site_id, disabled)
        )
    for order_id in range(1, ORDERS + 1):
        records.orders.put(order_id, _order(context, order_id, site_ids))
    for device in records.devices.values():
        _readings(context, records, device)
    for packed_kit_id, kit_id, status, patient_id, device_ids in PACKED_KITS:
        records.packed_kits.put(packed_kit_id, {
            "id": packed_kit_id, "kitId": kit_id, "status": status, "siteId": FIXED_SITE, "patientId": patient_id,
            "deviceIds": list(device_ids), "statusTimestamp": stamp(EPOCH - timedelta(days=packed_kit_id)),
        })  # fmt: skip


def _readings(context: MockContext, records: Records, device: dict[str, Any]) -> None:
    """A device with a patient has sent its reading type for the last READING_DAYS days: blood pressure and
    glucose twice a day (morning and evening, glucose before and after a meal), the others every morning,
    at the patient's local time. Values are around the patient's own baseline (vitals.py)."""
    kind = KIND_OF_ITEM_CLASS.get(next(row[4] for row in CATALOGUE if row[0] == device["itemId"]))
    if kind is None or device["patientId"] is None:
        return
    person = baseline(source(context.faker.seed, f"impilo.vitals.{device['patientId']}"))
    rng = source(context.faker.seed, f"impilo.readings.{device['id']}")
    twice, readings = kind in ("bloodPressure", "bloodGlucose"), records.readings[kind]
    for day in range(READING_DAYS):
        for morning in (True, False) if twice else (True,):
            local = EPOCH - timedelta(days=READING_DAYS - day) + timedelta(hours=-1 if morning else 11)
            taken = local - timedelta(seconds=person.time_zone) + timedelta(minutes=rng.randint(0, 40))
            measured = values(kind, person, rng, day, morning)
            key = readings.new_id()
            readings.put(key, {
                "id": key, "readingTimestamp": stamp(taken), **measured, **UNITS.get(kind, {}),
                "manual": False, "deviceTimeZoneOffset": person.time_zone, "patientTimeZoneOffset": person.time_zone,
                "patientId": device["patientId"], "deviceId": device["id"], "itemId": device["itemId"],
            })  # fmt: skip


def _patient(context: MockContext, patient_id: int, site_ids: list[int]) -> dict[str, Any]:
    fake = context.faker.reseed(f"impilo.patient.{patient_id}")
    sex = fake.random_element(["female", "male", "female", "male", "other", "unknown"])
    first = (
        fake.first_name_female() if sex == "female" else fake.first_name_male() if sex == "male" else fake.first_name()
    )
    last = fake.last_name()
    local = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower())
    email = f"{local}{patient_id}@{fake.random_element(['example.com', 'example.org'])}"
    phone = fictional_phone(fake)
    record = {
        "id": patient_id,
        "firstName": first,
        "lastName": last,
        "sex": sex,
        "dateOfBirth": fake.date_between(datetime(1935, 1, 1).date(), datetime(2006, 12, 31).date()).isoformat(),
        "email": email,
        "phoneNumber": phone,
        "externalIdentifier": external_identifier(email, phone),
        "archived": fake.random_int(0, 9) == 0,
        "enrolled": fake.random_int(0, 9) > 1,
        "address": {
            "lineOne": fake.street_address(),
            "lineTwo": fake.secondary_address(),
            "city": fake.city(),
            "state": fake.state_abbr(),
            "zipCode": fake.postcode(),
            "country": "USA",
        },
        "siteId": fake.random_element(site_ids) if fake.random_int(0, 3) else None,
    }
    return record


def _device(context: MockContext, device_id: int, records: Records) -> dict[str, Any]:
    fake = context.faker.reseed(f"impilo.device.{device_id}")
    item_id = fake.random_element([row[0] for row in CATALOGUE if row[0] not in NOT_ORDERABLE])
    status = fake.random_element(DEVICE_STATUSES)
    patient_id = fake.random_int(1, PATIENTS) if status == "withPatient" else None
    site_id = fake.random_int(1, SITES) if status == "availableAtSite" else None
    if patient_id is not None:  # a device with a patient came from a customer site: the patient's, or one
        site_id = (records.patients.get(patient_id) or {}).get("siteId") or 1 + device_id % SITES
    identifier_type = next(row[3] for row in CATALOGUE if row[0] == item_id)
    value = (
        fake.mac_address()
        if identifier_type == "macAddress"
        else fake.numerify("35##########")
        if identifier_type == "imei"
        else fake.bothify("SN-####-????").upper()
    )
    return {
        "id": device_id,
        "itemId": item_id,
        "currentStatus": status,
        "used": status != "available",
        "patientId": patient_id,
        "siteId": site_id,
        "lastHealthCheck": stamp(EPOCH - timedelta(hours=fake.random_int(1, 500))),
        "deviceIdentifiers": [{"type": identifier_type, "value": value}],
        "deviceEvents": [{"type": "associationCreated", "eventTimestamp": stamp(EPOCH - timedelta(days=30))}]
        if patient_id
        else [],
        "externalIdentifier": fake.bothify("dev-####"),
        "disabledReadings": False,
    }


def _showcase_device(
    context: MockContext,
    device_id: int,
    item_id: int,
    status: str,
    patient_id: int | None,
    site_id: int | None,
    disabled: bool,
) -> dict[str, Any]:
    """One of the fixed devices the README's walkthrough uses: a known identifier `SN-<id>`, a known state."""
    identifier_type = next(row[3] for row in CATALOGUE if row[0] == item_id)
    value = f"SN-{device_id:04d}" if identifier_type == "serial" else f"00:1b:44:11:3a:{device_id:02x}"
    associated = [{"type": "associationCreated", "eventTimestamp": stamp(EPOCH - timedelta(days=30))}]
    return {
        "id": device_id,
        "itemId": item_id,
        "currentStatus": status,
        "used": status != "available",
        "patientId": patient_id,
        "siteId": site_id,
        "lastHealthCheck": stamp(EPOCH - timedelta(hours=device_id % 7 + 1)),
        "deviceIdentifiers": [{"type": identifier_type, "value": value}],
        "deviceEvents": associated if patient_id is not None else [],
        "externalIdentifier": f"dev-{device_id:04d}",
        "disabledReadings": disabled,
    }


def _order(context: MockContext, order_id: int, site_ids: list[int]) -> dict[str, Any]:
    fake = context.faker.reseed(f"impilo.order.{order_id}")
    for_patient = fake.boolean()
    steps = fake.random_int(1, len(ORDER_FLOW))
    created = EPOCH - timedelta(days=fake.random_int(1, 300))
    events = [
        {"name": name, "eventTimestamp": stamp(created + timedelta(days=i))}
        for i, name in enumerate(ORDER_FLOW[:steps])
    ]
    shipped = steps >= 4
    kit_id = fake.random_element([k[0] for k in KITS if k[0] not in LOANER_KITS])
    return {
        "id": order_id,
        "externalOrderIds": [fake.bothify("ord-####-???")],
        "patientId": fake.random_int(1, PATIENTS) if for_patient else None,
        "siteId": None if for_patient else fake.random_element(site_ids),
        "currentStatus": ORDER_FLOW[steps - 1],
        "orderItems": [
            {
                "itemId": fake.random_element([row[0] for row in CATALOGUE if row[0] not in NOT_ORDERABLE]),
                "count": fake.random_int(1, 3),
            }
        ],
        "orderKits": [{"kitId": kit_id, "count": 1}],
        "orderEvents": events,
        "orderNotes": [],
        "trackingNumbers": [
            {
                "carrier": fake.random_element(["UPS", "FedEx", "USPS"]),
                "value": fake.bothify("1Z###########").upper(),
            }
        ]
        if shipped
        else [],
        "deviceIds": [],
        "packedKits": [],
        "shippingOption": "standard",
        "emailLabel": False,
    }
