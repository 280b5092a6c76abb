"""Legit.Health's vendor rules broken one at a time (see tests/support/drift.py)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.support.drift import handlers_of, mock, with_result
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
