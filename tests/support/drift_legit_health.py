"""Legit.Health's vendor rules broken one at a time (see tests/support/drift.py)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.support.drift import _read_body, handlers_of, mock, on_path, with_handler, with_result
from tests.support.helpers import base


def legit_health_ids(app: Any) -> dict[str, str]:
    """Path parameters naming a seeded condition and one of its episodes of care (read over HTTP).

    The spec's example ids are not in the Legit.Health seed, so a short run would only ever get 404s.
    """
    root = base("legit_health")
    with TestClient(
        app, base_url="http://localhost", headers={"Authorization": "Bearer mock-legit-health-token"}
    ) as client:
        patients = client.get(f"{root}/patients", params={"externalIds[]": "a449666c710c"}).json()
        condition = patients[0]["conditions"][0]["id"]
        episode = client.get(f"{root}/conditions/{condition}/episodes-of-care").json()[0]["id"]
    return {"conditionId": condition, "episodeOfCareId": episode}


def second_active_episode_allowed() -> Any:
    """createEpisodeOfCare opens an active episode even when the condition already has one."""
    app = mock()
    handlers_of(app, "legit_health").records.active_episode = lambda condition_id: None  # no episode is active
    return app


def encounters_always_scheduled() -> Any:
    """createEncounter says `scheduled` even when planned_for is in the past."""
    return with_result(
        "legit_health", "create_encounter", lambda body, status: ({**body, "status": "scheduled"}, status)
    )


def patient_without_contact_accepted() -> ASGIApp:
    """createPatient connects a patient given neither email nor phone (a phone is slipped in unseen, and the
    stored patient keeps it: the client sent none)."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def completed(scope: Scope, receive: Receive, send: Send) -> None:
            raw = await _read_body(receive)
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None
            if isinstance(body, dict) and not {"email", "phone"} & body.keys():
                raw = orjson.dumps({**body, "phone": "+1-202-555-0199"})
            sent = False

            async def replay() -> dict[str, object]:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}

            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(raw)).encode()))
            await app({**scope, "headers": headers}, replay, send)

        return completed

    return on_path("legit_health", "POST", "/patients", wrap)


def unlisted_speciality_accepted() -> Any:
    """createPractitioner connects a practitioner whatever its speciality (stored as none)."""

    def make(handlers: Any, original: Any) -> Any:
        async def lenient(body: dict[str, Any], **kwargs: Any) -> Any:
            return await original(body={**body, "speciality": None}, **kwargs)

        return lenient

    return with_handler("legit_health", "create_practitioner", make)


def unknown_practitioner_accepted() -> Any:
    """createPatient connects a patient naming a practitioner that does not exist (the reference is dropped)."""

    def make(handlers: Any, original: Any) -> Any:
        async def lenient(body: dict[str, Any], **kwargs: Any) -> Any:
            known = body.get("practitionerId") and handlers.records.practitioners.get(body["practitionerId"].lower())
            return await original(body={**body, "practitionerId": body["practitionerId"] if known else None}, **kwargs)

        return lenient

    return with_handler("legit_health", "create_patient", make)


def login_link_with_another_refresh_token() -> Any:
    """getPractitionerAuthTokens builds its login link with a refresh token it does not return."""
    return with_result(
        "legit_health",
        "get_practitioner_auth_tokens",
        lambda body, status: ({**body, "loginLink": body["loginLink"] + "0"}, status),
    )


def patients_repeated_per_id() -> Any:
    """getPatients answers a patient once per time its id is asked for."""

    def make(handlers: Any, original: Any) -> Any:
        async def repeating(external_ids: list[str], **kwargs: Any) -> Any:
            body, status = await original(external_ids=external_ids, **kwargs)
            return [p for x in external_ids for p in body if p["externalId"] == x], status

        return repeating

    return with_handler("legit_health", "get_patients", make)
