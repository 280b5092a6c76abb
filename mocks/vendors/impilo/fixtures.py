"""What Impilo state fixtures may hold (mocks/dx/fixtures.py): sites, patients, the device catalogue, kits,
devices and orders, in their stored form (references by id). A record's missing fields are the seed's fake
data for its id; an order given only a status gets the status history that leads to it."""

from __future__ import annotations

from typing import Any

from mocks.context import MockContext
from mocks.dx.fixtures import Kind, World
from mocks.state.store import Record
from mocks.vendors.impilo import seed
from mocks.vendors.impilo.records import API, PATIENT_FIELDS, Records

# As Impilo answers a record -> as the mock stores it: a referenced object by its id, lines by their item's or
# kit's id (a fixture may give either form; the proxy's RECORD=dir fixtures.json holds the answered one).
REFERENCED = {"site": "siteId", "patient": "patientId", "currentPatient": "patientId", "item": "itemId"}
LINES = {"orderItems": ("item", "itemId"), "orderKits": ("kit", "kitId"), "kitItems": ("item", "itemId")}


def stored_form(given: Record) -> Record:
    """`given` with the references of an answered record turned into the ids the mock stores."""
    record = dict(given)
    for shown, stored in REFERENCED.items():
        value = record.get(shown)
        if isinstance(value, dict) and "id" in value:
            record.pop(shown)
            record.setdefault(stored, value["id"])
    for lines, (shown, stored) in LINES.items():
        if isinstance(record.get(lines), list):
            record[lines] = [
                {stored: line[shown]["id"], "count": line.get("count")}
                if isinstance(line, dict) and isinstance(line.get(shown), dict) and "id" in line[shown]
                else line
                for line in record[lines]
            ]
    devices = record.pop("devices", None)
    if isinstance(devices, list):
        record.setdefault("deviceIds", [d["id"] if isinstance(d, dict) else d for d in devices])
    return record


def _lines(field: str, key: str) -> Any:
    """Each stored line of `field` names what it holds and how many: `{key: <id>, "count": <n>}`."""

    def rule(record: Record, world: World) -> list[tuple[str, str]]:
        lines = record.get(field)
        if not isinstance(lines, list):
            return [(field, f"a list of {{{key}, count}} lines, got {lines!r:.60}")]
        return [
            (f"{field}.{index}", f"a line {{{key}: <id>, count: <number>}}, got {line!r:.80}")
            for index, line in enumerate(lines)
            if not (isinstance(line, dict) and key in line and isinstance(line.get("count"), int))
        ]

    return rule


def _without(*names: str) -> Any:
    return lambda record: {k: v for k, v in record.items() if k not in names}


def kinds(context: MockContext, records: Records) -> list[Kind]:
    """Impilo's fixture kinds, referenced ones first."""
    faker, schema = context.faker, lambda name: context.schema(API, name)
    site_ids = [seed.FIXED_SITE, *range(1, seed.SITES + 1)]

    def site(given: Record) -> Record:
        return faker.fill(schema("Site"), f"{API}.site.{given['id']}", given)

    def patient(given: Record) -> Record:
        given = stored_form(given)
        fields = {k: v for k, v in given.items() if k in (*PATIENT_FIELDS, "id", "siteId")}
        record = faker.fill(schema("Patient"), f"{API}.patient.{given['id']}", {"siteId": None, **fields})
        record.pop("site", None)
        if "externalIdentifier" not in given:  # an identifier is the client's to give (createPatient)
            record.pop("externalIdentifier", None)
        return record

    def item(given: Record) -> Record:
        return faker.fill(schema("Item"), f"{API}.item.{given['id']}", {"orderable": True, **given})

    def kit(given: Record) -> Record:
        given = stored_form(given)
        return faker.fill(schema("Kit"), f"{API}.kit.{given['id']}", {"archived": False, "kitItems": [], **given})

    def device(given: Record) -> Record:
        given = stored_form(given)
        record = {**seed._device(context, int(given["id"])), **given}
        if "currentStatus" in given:  # the seed's holder or site belonged to the seed's status
            record.update(patientId=given.get("patientId"), siteId=given.get("siteId"))
            record.setdefault("used", given["currentStatus"] != "available")
        return record

    def order(given: Record) -> Record:
        given = stored_form(given)
        record = {**seed._order(context, int(given["id"]), site_ids), **given}
        if "patientId" in given or "siteId" in given:  # for whom it is, as given: not the seed's
            record.update(patientId=given.get("patientId"), siteId=given.get("siteId"))
        if "currentStatus" in given and "orderEvents" not in given:
            status = given["currentStatus"]
            flow = seed.ORDER_FLOW
            names = flow[: flow.index(status) + 1] if status in flow else ("pending", status)
            start = seed.EPOCH
            record["orderEvents"] = [{"name": n, "eventTimestamp": seed.stamp(start.replace(day=6 + i))}
                                     for i, n in enumerate(names)]  # fmt: skip
            if "trackingNumbers" not in given and status not in ("shipped", "delivered"):
                record["trackingNumbers"] = []
        return record

    return [
        Kind("sites", records.sites, site, schema("Site")),
        Kind(
            "patients",
            records.patients,
            patient,
            schema("Patient"),
            _without("siteId"),
            expanded=("site",),
            references={"siteId": "sites"},
            rules=(_unique_external_identifier,),
        ),
        Kind("items", records.items, item, schema("Item")),
        Kind(
            "kits",
            records.kits,
            kit,
            schema("Kit"),
            _without("kitItems"),
            expanded=("kitItems",),
            references={"kitItems[].itemId": "items"},
            rules=(_lines("kitItems", "itemId"),),
        ),
        Kind(
            "devices",
            records.devices,
            device,
            schema("Device"),
            _without("itemId", "patientId", "siteId"),
            expanded=("item", "currentPatient", "site"),
            references={"itemId": "items", "patientId": "patients", "siteId": "sites"},
        ),
        Kind(
            "orders",
            records.orders,
            order,
            schema("Order"),
            _without("patientId", "siteId", "deviceIds", "orderItems", "orderKits"),
            expanded=("patient", "site", "orderItems", "orderKits", "devices"),
            references={
                "patientId": "patients",
                "siteId": "sites",
                "orderItems[].itemId": "items",
                "orderKits[].kitId": "kits",
                "deviceIds[]": "devices",
            },
            rules=(_for_someone, _lines("orderItems", "itemId"), _lines("orderKits", "kitId")),
        ),
    ]


def _unique_external_identifier(record: Record, world: World) -> list[tuple[str, str]]:
    """One patient per `externalIdentifier` (rules.check_unique_external_identifier)."""
    identifier = record.get("externalIdentifier")
    others = [p["id"] for p in world.having("patients", "externalIdentifier", identifier)] if identifier else []
    if [key for key in others if key != record["id"]]:
        return [("externalIdentifier", f"an externalIdentifier no other patient has; {identifier!r} is taken")]
    return []


def _for_someone(record: Record, world: World) -> list[tuple[str, str]]:
    """An order is for a patient or a site (createOrder: `patient or site required`)."""
    if record.get("patientId") is None and record.get("siteId") is None:
        return [("patientId", "a patientId or a siteId (an order is for a patient or a site)")]
    return []
