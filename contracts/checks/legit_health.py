"""Legit.Health's documented rules as Schemathesis checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import schemathesis
from schemathesis import Case, CheckContext, Response

from contracts.checks.common import CLOCK_SLACK, fail, follow_up, json_of, operation_id


@schemathesis.check
def second_active_episode_is_rejected(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Once an active episode of care is created, a second active one on the same condition gets 409."""
    body = json_of(response)
    if operation_id(case) != "createEpisodeOfCare" or response.status_code != 201 or not isinstance(body, dict):
        return None
    if body.get("status") != "active":
        return None
    condition = body.get("conditionId") or (case.path_parameters or {}).get("conditionId")
    if condition is None:
        return None
    got = follow_up(case, response, "createEpisodeOfCare", path_parameters={"conditionId": condition},
                     body={"status": "active"})  # fmt: skip
    if got.status_code != 409:
        fail(f"a second active episode of care on condition {condition} answered {got.status_code}; expected 409")
    return None


def _moment(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@schemathesis.check
def encounter_status_follows_planned_for(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A new encounter is `scheduled` when planned_for is in the future, else `ready`."""
    body = json_of(response)
    if operation_id(case) != "createEncounter" or response.status_code != 201 or not isinstance(body, dict):
        return None
    planned = _moment((case.body or {}).get("planned_for") if isinstance(case.body, dict) else None)
    if planned is None:
        return None
    now = datetime.now(UTC)
    try:
        future = planned > now + CLOCK_SLACK
        past = planned < now - timedelta(seconds=response.elapsed) - CLOCK_SLACK
    except OverflowError:
        return None
    expected = "scheduled" if future else "ready" if past else None
    if expected is not None and body.get("status") != expected:
        fail(f"an encounter planned for {planned.isoformat()} (now {now.isoformat()}) has status "
              f"{body.get('status')!r}; expected {expected!r}")  # fmt: skip
    return None


CONTACT_FIELDS = ("email", "phone")
NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"  # a valid uuid no server issues


@schemathesis.check
def patient_without_contact_is_rejected(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Once createPatient accepts a patient, the same body without `email` and `phone` gets a 400: the patient
    must confirm the account, so contact information is required (vendor: deep-link patients page)."""
    if operation_id(case) != "createPatient" or response.status_code != 201:
        return None
    if not isinstance(case.body, dict):
        return None
    body = {k: v for k, v in case.body.items() if k not in CONTACT_FIELDS}
    body["externalId"] = f"contract-no-contact-{uuid.uuid4().hex[:12]}"
    got = follow_up(case, response, "createPatient", body=body)
    if got.status_code != 400:
        fail(f"createPatient without email and phone answered {got.status_code}; expected 400 (contact required)")
    return None


def _fresh(prefix: str) -> str:
    return f"contract-{prefix}-{uuid.uuid4().hex[:12]}"


@schemathesis.check
def unlisted_speciality_is_rejected(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Once createPractitioner accepts a practitioner, a speciality that getPractitionerSpecialties does not list
    gets a 409 (vendor: "To check which are the accepted values, ... getPractitionerSpecialties"; spec:
    createPractitioner)."""
    if operation_id(case) != "createPractitioner" or response.status_code != 201 or not isinstance(case.body, dict):
        return None
    listed = json_of(follow_up(case, response, "getPractitionerSpecialties"))
    codes = {item.get("code") for item in listed if isinstance(item, dict)} if isinstance(listed, list) else set()
    unlisted = next(name for name in ("not-a-listed-speciality", "not-listed-2") if name not in codes)
    body = {**case.body, "externalId": _fresh("speciality"), "speciality": unlisted}
    got = follow_up(case, response, "createPractitioner", body=body)
    if got.status_code != 409:
        fail(f"createPractitioner with the unlisted speciality {unlisted!r} answered {got.status_code}; expected 409")
    return None


@schemathesis.check
def unknown_practitioner_is_rejected(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Once createPatient accepts a patient, the same body naming a practitioner that does not exist gets a 409
    (spec: `PractitionerReference`)."""
    if operation_id(case) != "createPatient" or response.status_code != 201:
        return None
    if not isinstance(case.body, dict):
        return None
    body = {**case.body, "externalId": _fresh("orphan"), "practitionerId": NO_SUCH_ID}
    got = follow_up(case, response, "createPatient", body=body)
    if got.status_code != 409:
        fail(f"createPatient naming the unknown practitioner {NO_SUCH_ID} answered {got.status_code}; expected 409")
    return None


@schemathesis.check
def login_link_carries_the_tokens(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """The login link is `https://app.legit.health/u/home?token=<token>&refresh_token=<refresh_token>` with the
    very tokens of the answer (vendor: patients and practitioners pages)."""
    if operation_id(case) not in ("getPatientsAuthTokens", "getPractitionerAuthTokens") or response.status_code != 200:
        return None
    body = json_of(response)
    if not isinstance(body, dict) or not isinstance(body.get("loginLink"), str):
        return None
    link = urlsplit(body["loginLink"])
    query = parse_qs(link.query)
    expected = {"token": [body.get("token")], "refresh_token": [body.get("refresh_token")]}
    if (link.scheme, link.netloc, link.path) != ("https", "app.legit.health", "/u/home") or query != expected:
        fail(f"loginLink {body['loginLink']!r} does not carry token {body.get('token')!r} and refresh_token "
             f"{body.get('refresh_token')!r}")  # fmt: skip
    return None


LISTS_BY_EXTERNAL_ID = ("getPatients", "getPractitioners")


@schemathesis.check
def external_id_given_twice_is_answered_once(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """getPatients and getPractitioners answer each matching record once, however often its id is asked for
    (spec: the operations' descriptions)."""
    body = json_of(response)
    if operation_id(case) not in LISTS_BY_EXTERNAL_ID or response.status_code != 200 or not isinstance(body, list):
        return None
    found = next((item["externalId"] for item in body if isinstance(item, dict) and "externalId" in item), None)
    if not isinstance(found, str):
        return None
    got = json_of(follow_up(case, response, operation_id(case), query={"externalIds[]": [found, found]}))
    matches = [item for item in got if isinstance(item, dict) and item.get("externalId") == found] if isinstance(
        got, list) else []  # fmt: skip
    if len(matches) != 1:
        fail(f"{operation_id(case)} asked for {found!r} twice answered it {len(matches)} times; expected once")
    return None
