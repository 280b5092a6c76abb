"""Seed state: practitioners (the spec's example one plus generated ones), the vendor's two example patients
plus 20 generated ones, each with a consistent history and (mostly) a practitioner.

Every value comes from the app seed (Faker re-seeded per patient/condition key, uuids from the store's
seeded id sources) and every timestamp is fixed in 2023-2025, so the same seed gives the same state after
a restart and another seed gives other data. Each condition follows one of the `STORIES` below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from faker import Faker

from mocks.context import MockContext
from mocks.state.fakedata import SchemaFaker, fictional_phone
from mocks.vendors.legit_health import rules
from mocks.vendors.legit_health.records import API, PATIENT_FIELDS, SPECIALITIES, Records, iso

GENERATED_PATIENTS = 20
GENERATED_PRACTITIONERS = 4
EARLIEST = datetime(2023, 1, 1, tzinfo=UTC)
LATEST = datetime(2025, 6, 30, tzinfo=UTC)
GENDERS = ("female", "female", "male", "male", "other", "unknown")
FIRST_NAME_MAKERS = {"female": "first_name_female", "male": "first_name_male"}  # Faker provider methods
LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl")

# ICD-11 (MMS) pathology codes -> (their ICD-11 title, the body sites the condition is typically seen on), so a
# seeded condition's site fits its pathology. The codes and titles are the ones Legit.Health's medical-device
# SDK (github.com/Legit-Health/medical-device-sdk-php, tests) sends, plus EA90.1 (Legit.Health's own docs'
# example) and EA80/ED80 (the vendor patients' stories); the sites use the spec's `BodySite` names.
PATHOLOGIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "EA90": ("Psoriasis", ("elbowLeft", "elbowRight", "kneeLeft", "kneeRight", "scalp", "trunkBack")),
    "EA90.1": ("Psoriasis", ("armLeft", "armRight", "trunkFront", "trunkBack", "legLeft", "legRight")),
    "EA90.40": ("Generalised pustular psoriasis", ("trunkFront", "trunkBack", "upperLegLeft", "upperLegRight")),
    "EA80": ("Atopic eczema", ("elbowLeft", "elbowRight", "kneeLeft", "kneeRight", "handLeft", "handRight")),
    "EA89": (
        "Generalised eczematous dermatitis of unspecified type",
        ("armLeft", "armRight", "trunkFront", "legLeft", "legRight"),
    ),
    "ED80": ("Acne", ("headFront", "headLeft", "headRight", "trunkFront", "trunkBack")),
    "ED80.Z": ("Acne, unspecified", ("headFront", "headLeft", "headRight", "trunkBack")),
    "ED70": ("Alopecia or hair loss", ("scalp", "headTop", "headBack")),
    "ED63.0": ("Vitiligo", ("handLeft", "handRight", "headFront", "perioral", "elbowLeft", "elbowRight")),
    "ED92.0": ("Hidradenitis suppurativa", ("genital", "upperLegLeft", "upperLegRight", "trunkFront")),
    "EB05": ("Urticaria of unspecified type", ("trunkFront", "trunkBack", "armLeft", "armRight", "legLeft")),
    "EH90.Z": ("Pressure ulcer of unspecified grade", ("trunkBack", "footLeft", "footRight")),
    "2F20.Z": ("Melanocytic naevus, unspecified", ("trunkBack", "trunkFront", "armLeft", "armRight", "legRight")),
    "2C30": ("Melanoma of skin", ("trunkBack", "lowerLegLeft", "lowerLegRight", "upperArmLeft", "headFront")),
}

# The practitioner of the spec's examples (createPractitioner, getPractitioner); the first vendor patient's.
EXAMPLE_PRACTITIONER: dict[str, Any] = {
    "externalId": "dr-0042",
    "firstName": "Marta",
    "lastName": "Vidal",
    "email": "marta.vidal@example.com",
    "speciality": "dermatology",
    "createdAt": datetime(2025, 1, 14, 8, 0, tzinfo=UTC),
}

# The two patients of the vendor's `?externalIds[]=a449666c710c&externalIds[]=baa3cf93-6f1c` example.
VENDOR_PATIENTS: tuple[dict[str, Any], ...] = (
    {
        "externalId": "a449666c710c",
        "firstName": "Lucía",
        "lastName": "Moreno",
        "email": "lucia.moreno@example.com",
        "birthDate": "1987-04-12",
        "gender": "female",
        "language": "es",
        "verificationStatus": "verified",
        "practitionerId": "example",  # EXAMPLE_PRACTITIONER
        "createdAt": datetime(2025, 1, 15, 9, 30, tzinfo=UTC),
        "conditions": (("EA90.1", "armLeft", "active"),),
    },
    {
        "externalId": "baa3cf93-6f1c",
        "firstName": "Daniel",
        "lastName": "Okafor",
        "email": None,
        "birthDate": "1975-11-03",
        "gender": "male",
        "language": "en",
        "verificationStatus": "pending",
        "practitionerId": None,
        "createdAt": datetime(2025, 1, 10, 14, 0, tzinfo=UTC),
        "conditions": (("EA80", "handRight", "paused"), ("ED80", "trunkBack", "tracked")),
    },
)


# The ids the spec's examples use (specs/legit_health.yaml components/parameters), given to the first
# vendor patient's records, so the examples (and Schemathesis' examples phase) reach real data.
SPEC_EXAMPLE_IDS = {
    "practitioner": "6b1d2c3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e",
    "patient": "0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f",
    "condition": "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
    "episode": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
    "encounter": "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8",
}
REFERENCE_FIELDS = ("id", "patientId", "conditionId", "episodeOfCareId", "practitionerId")


def seed(context: MockContext, records: Records) -> None:
    """Fill the empty collections: practitioners, the vendor's patients, the generated patients; then give
    the first vendor patient's records the spec's example ids."""
    faker, patient_schema = context.faker, context.schema(API, "Patient")
    example = _seed_practitioner(records, EXAMPLE_PRACTITIONER, "verified")
    practitioners = [
        example,
        *(_seed_generated_practitioner(records, faker, n) for n in range(GENERATED_PRACTITIONERS)),
    ]
    for vendor in VENDOR_PATIENTS:
        _seed_vendor_patient(records, faker, {**vendor, "practitionerId": vendor["practitionerId"] and example})
    for index in range(GENERATED_PATIENTS):
        _seed_generated_patient(records, faker, patient_schema, practitioners, index)
    _adopt_spec_example_ids(records, VENDOR_PATIENTS[0]["externalId"])  # last: it rewrites every reference


def _seed_practitioner(records: Records, fields: dict[str, Any], verification: str) -> str:
    created: datetime = fields["createdAt"]
    return str(records.add_practitioner(fields, verification, iso(created), iso(created))["id"])


def _seed_generated_practitioner(records: Records, faker: SchemaFaker, index: int) -> str:
    fake = faker.reseed(f"practitioner:{index}")
    first, last = fake.first_name(), fake.last_name()
    fields = {
        "externalId": f"dr-{fake.random_int(1000, 9999)}-{index}",
        "firstName": first,
        "lastName": last,
        "email": _email(first, last, index).replace("@", ".dr@"),
        "speciality": fake.random_element([None, *(s["code"] for s in SPECIALITIES)]),
        "createdAt": fake.date_time_between(start_date=EARLIEST, end_date=LATEST, tzinfo=UTC),
    }
    return _seed_practitioner(records, fields, "verified" if fake.random_int(0, 3) else "pending")


def _seed_vendor_patient(records: Records, faker: SchemaFaker, vendor: dict[str, Any]) -> None:
    fake = faker.reseed(f"patient:{vendor['externalId']}")
    created: datetime = vendor["createdAt"]
    fields = {key: vendor[key] for key in ("externalId", "verificationStatus", *PATIENT_FIELDS) if key != "phone"}
    patient_id = _add_patient(records, {**fields, "phone": fictional_phone(fake)}, created, created)
    for number, (code, site, story) in enumerate(vendor["conditions"]):
        fake = faker.reseed(f"patient:{vendor['externalId']}:condition:{number}")
        STORIES[story](records, fake, _condition(records, patient_id, code, site, created))


def _seed_generated_patient(
    records: Records,
    faker: SchemaFaker,
    schema: dict[str, Any],
    practitioners: list[str],
    index: int,
) -> None:
    key = f"patient:{index}"
    fake = faker.reseed(f"{key}:shape")
    external_id = fake.hexify("^" * 12)
    created = fake.date_time_between(start_date=EARLIEST, end_date=LATEST, tzinfo=UTC)
    updated = created + timedelta(days=fake.random_int(0, 90), minutes=fake.random_int(0, 600))
    gender: str = fake.random_element(GENDERS)  # the schema faker cannot see the enum behind `allOf`
    given: dict[str, Any] = {
        "externalId": external_id if records.patients.find_unique("externalId", external_id) is None else key,
        "phone": fictional_phone(fake) if fake.random_int(0, 5) else None,
        "language": fake.random_element(LANGUAGES),
        "gender": gender,
        "firstName": getattr(fake, FIRST_NAME_MAKERS.get(gender, "first_name"))(),
    }
    has_email = fake.random_int(0, 5) > 0
    count = fake.random_int(1, 3)
    codes = fake.random_elements(list(PATHOLOGIES), length=count, unique=True)
    sites = [fake.random_element(PATHOLOGIES[code][1]) for code in codes]  # where that condition is seen
    filled = faker.fill(schema, key, given)
    fields = {name: filled.get(name) for name in ("externalId", "verificationStatus", *PATIENT_FIELDS)}
    fields["email"] = _email(filled["firstName"], filled["lastName"], index) if has_email else None
    fields["practitionerId"] = fake.random_element([None, *practitioners])
    patient_id = _add_patient(records, fields, created, updated)
    for number, (code, site) in enumerate(zip(codes, sites, strict=True)):
        fake = faker.reseed(f"{key}:condition:{number}")
        story = fake.random_element(tuple(STORIES))
        at = created + timedelta(days=fake.random_int(0, 30), hours=fake.random_int(0, 8))
        STORIES[story](records, fake, _condition(records, patient_id, code, site, at))


def _adopt_spec_example_ids(records: Records, external_id: str) -> None:
    """Give one patient, its first condition, that condition's episode and its first encounter the ids
    the spec's examples name, rewriting every reference to them."""
    patient = records.patients.find_unique("externalId", external_id)
    assert patient is not None
    practitioner = records.practitioners.find_unique("externalId", EXAMPLE_PRACTITIONER["externalId"])
    assert practitioner is not None
    condition = records.conditions.where(lambda c: c["patientId"] == patient["id"])[0]
    episode = records.episodes_of(condition["id"])[0]
    encounter = records.encounters_of(episode["id"])[0]
    renamed = {
        practitioner["id"]: SPEC_EXAMPLE_IDS["practitioner"],
        patient["id"]: SPEC_EXAMPLE_IDS["patient"],
        condition["id"]: SPEC_EXAMPLE_IDS["condition"],
        episode["id"]: SPEC_EXAMPLE_IDS["episode"],
        encounter["id"]: SPEC_EXAMPLE_IDS["encounter"],
    }
    collections = (records.practitioners, records.patients, records.conditions, records.episodes, records.encounters)
    for collection in collections:
        for record in collection.values():
            moved = {k: renamed.get(v, v) if k in REFERENCE_FIELDS else v for k, v in record.items()}
            if moved != record:
                collection.delete(record["id"])
                collection.put(str(moved["id"]), moved)


def _email(first: str, last: str, index: int) -> str:
    local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isascii() and (ch.isalnum() or ch == "."))
    return f"{local}{index}@example.org"


def _add_patient(records: Records, fields: dict[str, Any], created: datetime, updated: datetime) -> str:
    verification = fields["verificationStatus"]
    return str(records.add_patient(fields, verification, iso(created), iso(updated))["id"])


def _condition(records: Records, patient_id: str, code: str, site: str, at: datetime) -> tuple[str, datetime]:
    """A condition (with its first, active episode) starting `at`; returns its id and start."""
    return str(records.add_condition(patient_id, code, site, iso(at))["id"]), at


# --- what happened to a condition after it was diagnosed (its episodes and encounters) ---

Start = tuple[str, datetime]


def _active(records: Records, fake: Faker, start: Start) -> None:
    """Still followed: one encounter ready the moment the episode opened, maybe one planned later."""
    condition_id, at = start
    episode = records.active_episode(condition_id)
    assert episode is not None
    by = _practitioner_of(records, condition_id)
    records.add_encounter(episode["id"], iso(at), "ready", iso(at), practitioner_id=by)
    if fake.boolean():
        later = at + timedelta(days=fake.random_int(14, 60))
        records.add_encounter(episode["id"], iso(later), "scheduled", iso(at), _visit(fake), practitioner_id=by)


def _tracked(records: Records, fake: Faker, start: Start) -> None:
    """Tracked at a frequency: encounters scheduled one period apart."""
    condition_id, at = start
    episode = records.active_episode(condition_id)
    assert episode is not None
    every_days = fake.random_element((7, 14, 28))
    records.set_tracking(condition_id, every_days)
    by = _practitioner_of(records, condition_id)
    for moment in rules.tracking_plan(at, every_days, fake.random_int(2, 4)):
        records.add_encounter(episode["id"], iso(moment), "scheduled", iso(at), practitioner_id=by)


def _paused(records: Records, fake: Faker, start: Start) -> Start:
    """The first episode was finished (with the caller's id stored on it); the condition is paused."""
    condition_id, at = start
    episode = records.active_episode(condition_id)
    assert episode is not None
    by = _practitioner_of(records, condition_id)
    records.add_encounter(episode["id"], iso(at), "ready", iso(at), _visit(fake), practitioner_id=by)
    finished = at + timedelta(days=fake.random_int(30, 120))
    records.set_episode(episode, iso(finished), status="finished", externalId=_episode_id(fake, at))
    return condition_id, finished


def _reopened(records: Records, fake: Faker, start: Start) -> None:
    """Paused once, then a new active episode was opened for the same condition."""
    condition_id, finished = _paused(records, fake, start)
    condition = records.condition(condition_id)
    reopened = finished + timedelta(days=fake.random_int(10, 60))
    records.open_episode(condition, iso(reopened))
    _active(records, fake, (condition_id, reopened))


def _practitioner_of(records: Records, condition_id: str) -> str | None:
    """The practitioner of the condition's patient: the one who holds its encounters."""
    patient = records.patient(records.condition(condition_id)["patientId"])
    return patient["practitionerId"]


def _visit(fake: Faker) -> str:
    return f"VIS-{fake.random_int(10000, 99999)}"


def _episode_id(fake: Faker, at: datetime) -> str:
    return f"EP-{at.year}-{fake.random_int(1, 9999):04d}"


STORIES: dict[str, Callable[[Records, Faker, Start], Any]] = {
    "active": _active,
    "tracked": _tracked,
    "paused": _paused,
    "reopened": _reopened,
}
