"""Heidi's start-up data: the vendor page's fixed records plus seeded, synthetic profiles and sessions.

The fixed records (profiles `...593` John Doe and `...594`, sessions `1234567890` and `0987654321`) make
every request example of the vendor page work on a fresh mock. The generated ones depend only on the
app seed: the same seed gives the same records after a restart.
"""

from __future__ import annotations

import copy
from datetime import UTC, timedelta
from functools import partial
from typing import Any

from faker import Faker

from mocks.context import MockContext
from mocks.state.fakedata import EARLIEST, LATEST, fictional_phone, synthetic_email
from mocks.state.store import Key, Record
from mocks.vendors.heidi import content, rules
from mocks.vendors.heidi.records import (
    MOCK_ACCOUNT_ID,
    MOCK_EHR_PROVIDER,
    Records,
    consult_note_record,
    naive,
    new_recording,
)

PROFILE_COUNT = 20
SESSION_COUNT = 20
JOHN_ID = "5eb7cf5a86d9755df3a6c593"
JANE_ID = "5eb7cf5a86d9755df3a6c594"
EHR_PROVIDERS = (MOCK_EHR_PROVIDER, "Example EHR", "Sample Practice Manager")
FIRST_NAME_MAKERS = {
    "MALE": "first_name_male",
    "FEMALE": "first_name_female",
    "OTHER": "first_name_nonbinary",
}
SEX_CODES = {"MALE": 1.0, "FEMALE": 2.0, "OTHER": 9.0}
JOHN_SESSIONS = 3  # the vendor's list example shows John with `session_count: 3`

FIXED_PROFILES: tuple[Record, ...] = (
    {
        "id": JOHN_ID,
        "source": "EHR",
        "managed_by": MOCK_ACCOUNT_ID,
        "ehr_provider": MOCK_EHR_PROVIDER,
        "ehr_patient_id": "EHR123456",
        "first_name": "John",
        "last_name": "Doe",
        "birth_date": "1990-01-15",
        "gender": "MALE",
        "phone": "+1234567890",
        "email": "john.doe@example.com",
        "patient_sex_code": None,
        "identifiers": [],
        "demographic_string": "",
        "additional_context": "Patient has a history of hypertension",
        "remember_consent": None,
        "created_at": "2024-12-10T09:00:00.000000",
        "updated_at": "2024-12-10T09:00:00.000000",
    },
    {
        "id": JANE_ID,
        "source": "EHR",
        "managed_by": MOCK_ACCOUNT_ID,
        "ehr_provider": MOCK_EHR_PROVIDER,
        "ehr_patient_id": "EHR654321",
        "first_name": "Jane",
        "last_name": "Roe",
        "birth_date": "1985-06-20",
        "gender": "FEMALE",
        "phone": "+1-202-555-0142",
        "email": "jane.roe@example.com",
        "patient_sex_code": None,
        "identifiers": [],
        "demographic_string": "",
        "additional_context": None,
        "remember_consent": None,
        "created_at": "2024-12-10T09:30:00.000000",
        "updated_at": "2024-12-10T09:30:00.000000",
    },
)


def _template(template_id: str, name: str, category: str, sections: tuple[str, ...]) -> Record:
    structure = "\n".join(f"{section}:\n[{section.lower()} from the consultation]" for section in sections)
    html = "".join(f"<h2>{section}</h2><p>[{section.lower()} from the consultation]</p>" for section in sections)
    return {"id": template_id, "name": name, "structure_template": structure, "template_category": category,
            "template_html": html, "author_name": "Heidi"}  # fmt: skip


# Heidi's built-in templates: "H & P" has the consult-notes page's id, the first document template the
# documents page's; the others are named as Heidi's feature dictionary lists them (ids the mock's).
TEMPLATES: tuple[Record, ...] = (
    _template("659b8042fe093d6592b41ef7", "H & P", "CONSULT_NOTE_TEMPLATE",
              ("History", "Examination", "Impression", "Plan")),
    _template("659b8042fe093d6592b41ef8", "SOAP", "CONSULT_NOTE_TEMPLATE",
              ("Subjective", "Objective", "Assessment", "Plan")),
    _template("659b8042fe093d6592b41ef9", "Issues List", "CONSULT_NOTE_TEMPLATE", ("Issues", "Plan")),
    _template("66455a5f0b0a1c8d018c6896", "Referral Letter", "DOCUMENT_TEMPLATE",
              ("Reason for referral", "History", "Current management")),
    _template("66455a5f0b0a1c8d018c6897", "Patient Handout", "DOCUMENT_TEMPLATE",
              ("What we found", "What to do", "When to come back")),
    _template("66455a5f0b0a1c8d018c6898", "Medical Certificate", "DOCUMENT_TEMPLATE", ("Certificate",)),
)  # fmt: skip


def _fixed_session(session_id: str, name: str, created: str, updated: str) -> Record:
    return {
        "session_id": session_id,
        "session_name": name,
        "patient": {"name": "", "gender": None, "dob": None},
        "audio": [],
        "clinician_notes": [],
        "consult_note": {
            "status": "CREATED",
            "result": "...",
            "heading": "Note",
            "brain": "RIGHT",
            "voice_style": None,
            "generation_method": "TEMPLATE",
            "template_id": None,
            "ai_command_id": None,
            "ai_command_text": None,
            "feedback": None,
            "dictation_cleanup_mode": None,
        },
        "duration": 16,
        "created_at": created,
        "updated_at": updated,
        "language_code": "en",
        "output_language_code": "en",
        "documents": None,
        "ehr_appt_id": None,
        "ehr_provider": MOCK_EHR_PROVIDER,
        "ehr_patient_id": None,
        "linked_sessions_for_context": [],
        "consent_obtained": None,
        "patient_profile_id": None,
    }


FIXED_SESSIONS: tuple[Record, ...] = (
    _fixed_session("1234567890", "Session 123", "2024-12-11T03:57:57.921000", "2024-12-11T23:41:54.138000"),
    _fixed_session("0987654321", "Session 124", "2024-12-12T10:30:00.000000", "2024-12-12T11:15:00.000000"),
)


def _created_updated(fake: Faker) -> tuple[str, str]:
    created = fake.date_time_between(start_date=EARLIEST, end_date=LATEST - timedelta(days=30), tzinfo=UTC)
    updated = created + timedelta(minutes=fake.random_int(0, 60 * 24 * 14), seconds=fake.random_int(0, 59))
    return naive(created), naive(updated)


def generated_profile(context: MockContext, index: int, key: Key) -> Record:
    """One synthetic profile: Faker fills the schema, then the fields that must agree are aligned."""
    base = f"heidi.profile.{index}"
    record = context.faker.fill(
        context.schema("heidi", "PatientProfile"),
        base,
        {"id": str(key), "source": "EHR", "managed_by": MOCK_ACCOUNT_ID, "remember_consent": None},
    )
    fake = context.faker.reseed(f"{base}.aligned")
    gender = record["gender"]
    first_name = str(getattr(fake, FIRST_NAME_MAKERS[gender])())
    created_at, updated_at = _created_updated(fake)
    record.update(
        first_name=first_name,
        ehr_provider=fake.random_element(EHR_PROVIDERS),
        ehr_patient_id=f"EHR{fake.random_int(100000, 999999)}",
        phone=fictional_phone(fake),
        email=synthetic_email(fake),
        patient_sex_code=SEX_CODES[gender],
        identifiers=[{"type": "MRN", "value": f"MRN-{fake.random_int(10000, 99999)}"}],
        demographic_string=f"{first_name} {record['last_name']}, {gender[0]}, {record['birth_date']}",
        created_at=created_at,
        updated_at=updated_at,
    )
    return {name: record.get(name) for name in context.schema("heidi", "PatientProfile")["properties"]}


def _consult_note(fake: Faker) -> dict[str, Any]:
    return {
        "status": "CREATED",
        "result": fake.paragraph(nb_sentences=3),
        "heading": "Note",
        "brain": fake.random_element(["LEFT", "RIGHT"]),
        "voice_style": fake.random_element(["GOLDILOCKS", "DETAILED", "BRIEF", "SUPER_DETAILED", "MY_VOICE"]),
        "generation_method": "TEMPLATE",
        "template_id": None,
        "ai_command_id": None,
        "ai_command_text": None,
        "feedback": None,
        "dictation_cleanup_mode": None,
    }


def generated_session(context: MockContext, index: int, profile: Record | None, key: Key) -> Record:
    """One synthetic session, showing its profile's patient details when it is linked to one."""
    base = f"heidi.session.{index}"
    fake = context.faker.reseed(f"{base}.aligned")
    created_at, updated_at = _created_updated(fake)
    patient = (
        {
            "name": f"{profile['first_name']} {profile['last_name']}",
            "gender": profile["gender"],
            "dob": profile["birth_date"],
        }
        if profile
        else {"name": "", "gender": None, "dob": None}
    )
    given = {
        "session_id": str(key),
        "patient": patient,
        "audio": [],
        "clinician_notes": [fake.sentence(nb_words=8)],
        "consult_note": _consult_note(fake),
        "duration": fake.random_int(60, 3600),
        "created_at": created_at,
        "updated_at": updated_at,
        "documents": None,
        "ehr_appt_id": f"APPT-{fake.random_int(1000, 9999)}" if fake.boolean() else None,
        "ehr_provider": MOCK_EHR_PROVIDER,
        "ehr_patient_id": profile["ehr_patient_id"] if profile else None,
        "linked_sessions_for_context": [],
        "patient_profile_id": profile["id"] if profile else None,
    }
    schema = context.schema("heidi", "Session")
    record = context.faker.fill(schema, base, given)
    return {
        **{name: record[name] for name in schema["properties"]},
        "patient_profile_id": given["patient_profile_id"],
    }


# A context attachment of session 1234567890 (the id is the deleteContextDocuments example's).
FIXED_ATTACHMENT: Record = {
    "id": "6750a1b2c3d4e5f601234568", "session_id": "1234567890", "filename": "referral.pdf",
    "content_type": "application/pdf", "size": 48213, "meta_data": {"source": "EHR"}, "status": "READY",
    "uploaded_at": "2024-12-11T04:00:00.000000",
}  # fmt: skip

# What a generated session has got to, in turn: nothing yet, audio (so a transcript), a generated consult
# note, a document as well.
STAGES = ("new", "transcribed", "noted", "documented")
REFERRAL_TEMPLATE = "66455a5f0b0a1c8d018c6896"


def staged(context: MockContext, records: Records, session: Record, index: int) -> None:
    """Bring a generated session to its stage (`STAGES`, by index): its audio as a finished upload of 2 to 15
    minutes, its note and document written from that audio as the API would write them."""
    stage, session_id = STAGES[index % len(STAGES)], session["session_id"]
    if stage == "new":
        records.sessions.put(session_id, {**session, "audio": [], "consult_note": None})
        return
    fake = context.faker.reseed(f"heidi.session.{index}.stage")
    seconds, voice = float(fake.random_int(120, 900)), fake.random_element(sorted(content.VOICE_SENTENCES))
    at = session["created_at"]
    recording = records.recordings.add(lambda key: new_recording(str(key), session_id, "USER_UPLOADED", at))
    recording["segments"] = [{"index": 0, "seconds": seconds, "received_at": at}]
    records.recordings.put(recording["recording_id"], recording)
    audio = {"id": f"{int(recording['recording_id']):024x}", "index": 0, "status": "INITIALIZED", "created_at": at,
             "access_url": None, "expiry": 0}  # fmt: skip
    session = {**session, "audio": [audio], "consult_note": None}
    if stage in ("noted", "documented"):
        consult, heard = rules.heard(records, session, context.faker.reseed)
        asked = {"generation_method": "TEMPLATE", "template_id": TEMPLATES[0]["id"], "voice_style": voice,
                 "brain": "LEFT"}  # fmt: skip
        session["consult_note"] = consult_note_record(
            asked, "CREATED", content.consult_note(consult, heard, voice, None)
        )
        if stage == "documented":
            letter = content.document(consult, "Referral Letter")
            fields = {"session_id": session_id, "index": 0, "name": "Referral Letter", "template_id": REFERRAL_TEMPLATE,
                      "brain": "LEFT", "voice_style": voice, "content_type": "MARKDOWN", "content": letter,
                      "generation_type": "TEMPLATE"}  # fmt: skip
            records.documents.add(lambda key: {"id": str(key), **fields})
    records.sessions.put(session_id, session)


def seed(context: MockContext, records: Records) -> None:
    """Fill empty collections: fixed vendor-page records first, then the generated ones."""
    profiles, sessions = records.profiles, records.sessions
    for record in TEMPLATES:
        records.templates.put(record["id"], copy.deepcopy(record))
    for record in FIXED_PROFILES:
        profiles.put(record["id"], copy.deepcopy(record))
    for record in FIXED_SESSIONS:
        sessions.put(record["session_id"], copy.deepcopy(record))
    generated = [profiles.add(partial(generated_profile, context, i)) for i in range(PROFILE_COUNT)]
    picker = context.faker.reseed("heidi.session.links")  # the one shared Faker: draw all owners first
    owners: list[Record | None] = [profiles.get(JOHN_ID)] * JOHN_SESSIONS + [
        picker.random_element(generated) if picker.boolean(chance_of_getting_true=60) else None
        for _ in range(SESSION_COUNT - JOHN_SESSIONS)
    ]
    for i, owner in enumerate(owners):
        staged(context, records, sessions.add(partial(generated_session, context, i, owner)), i)
    records.context_documents.put(FIXED_ATTACHMENT["id"], copy.deepcopy(FIXED_ATTACHMENT))
