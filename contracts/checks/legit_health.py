"""Legit.Health's documented rules as Schemathesis checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

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


@schemathesis.check
def patient_without_contact_is_rejected(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Once createPatient accepts a patient, the same body without `email` and `phone` gets a 400: the patient
    must confirm the account, so contact information is required (vendor: deep-link patients page)."""
    if operation_id(case) != "createPatient" or response.status_code != 201 or not isinstance(case.body, dict):
        return None
    body = {k: v for k, v in case.body.items() if k not in CONTACT_FIELDS}
    body["externalId"] = f"contract-no-contact-{uuid.uuid4().hex[:12]}"
    got = follow_up(case, response, "createPatient", body=body)
    if got.status_code != 400:
        fail(f"createPatient without email and phone answered {got.status_code}; expected 400 (contact required)")
    return None
