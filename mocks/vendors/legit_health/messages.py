"""What Legit.Health 'sends': verification email/SMS to patients, a verification email to practitioners and
the login-link email to both (outbox only)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from mocks.state.outbox import Outbox
from mocks.state.store import Record

API = "legit_health"

Message = tuple[str, str, str]  # channel, subject, body
Composer = Callable[[Record, str], Message]


def verification_code(patient: Record) -> str:
    """A 6-digit code derived from the patient id, so the same patient always gets the same code."""
    digest = hashlib.sha256(f"verify:{patient['id']}".encode()).hexdigest()
    return f"{int(digest[:8], 16) % 1_000_000:06d}"


def _greeting(patient: Record) -> str:
    return f"Hello {patient['firstName']}," if patient.get("firstName") else "Hello,"


def _verification_email(patient: Record, code: str) -> Message:
    body = (
        f"{_greeting(patient)}\n\nYour care team connected you with Legit.Health. "
        f"Confirm your account with this code: {code}\n"
    )
    return "email", "Confirm your Legit.Health account", body


def _verification_sms(patient: Record, code: str) -> Message:
    return "sms", "Legit.Health verification", f"Legit.Health: your verification code is {code}."


# contact field of the patient -> how the verification reaches it
VERIFICATIONS: dict[str, Composer] = {"email": _verification_email, "phone": _verification_sms}


def send_verifications(outbox: Outbox, patient: Record, fields: Iterable[str]) -> None:
    """One verification message per given contact field (`email`, `phone`) the patient has a value for."""
    code = verification_code(patient)
    for field in fields:
        if field in VERIFICATIONS and patient.get(field):
            channel, subject, body = VERIFICATIONS[field](patient, code)
            outbox.record(API, channel, patient[field], subject, body, patientId=patient["id"], kind="verification")


def send_practitioner_verification(outbox: Outbox, practitioner: Record) -> None:
    """The email a new practitioner confirms the account with (vendor: practitioners page)."""
    body = (
        f"{_greeting(practitioner)}\n\nYour organisation connected you with Legit.Health. "
        f"Confirm your account with this code: {verification_code(practitioner)}\n"
    )
    outbox.record(
        API,
        "email",
        practitioner["email"],
        "Confirm your Legit.Health account",
        body,
        practitionerId=practitioner["id"],
        kind="verification",
    )


def send_login_link(outbox: Outbox, person: Record, link: str, owner: str = "patientId") -> None:
    """The login link, emailed to a patient (`owner="patientId"`) or a practitioner (`"practitionerId"`)."""
    body = f"{_greeting(person)}\n\nOpen Legit.Health without logging in:\n{link}\n"
    extra = {owner: person["id"], "kind": "loginLink", "link": link}
    outbox.record(API, "email", person["email"], "Your Legit.Health login link", body, **extra)
