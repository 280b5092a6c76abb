"""Heidi sessions as a client sees them: the linked user's session list and its paging envelope."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import base, state

SESSIONS = f"{base('heidi')}/sessions"
LINKED = f"{SESSIONS}/linked-user"


def test_linked_user_sessions_page_through_every_session_once(client: TestClient, heidi_auth: dict[str, str]) -> None:
    stored = {s["session_id"] for s in state(client, "heidi")["sessions"]}
    seen: list[str] = []
    page, has_next = 1, True
    while has_next:
        body = client.get(LINKED, params={"page": page, "page_size": 5}, headers=heidi_auth).json()
        assert body["count"] == len(body["data"]) <= 5
        assert body["total_count"] == len(stored)
        assert body["has_previous"] is (page > 1)
        seen += [s["session_id"] for s in body["data"]]
        has_next, page = body["has_next"], page + 1

    assert sorted(seen) == sorted(stored)


def test_linked_user_sessions_list_a_new_session_first_with_its_details(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    created = client.post(SESSIONS, json={"ehr_appointment_id": "APPT-77"}, headers=heidi_auth).json()["session_id"]

    first = client.get(LINKED, params={"page_size": 1}, headers=heidi_auth).json()

    assert [s["session_id"] for s in first["data"]] == [created]
    assert first["data"][0]["ehr_appt_id"] == "APPT-77"
    assert first["has_next"] is True and first["has_previous"] is False


def test_linked_user_sessions_answer_an_empty_page_beyond_the_last(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    body = client.get(LINKED, params={"page": 99}, headers=heidi_auth).json()

    assert (body["count"], body["data"], body["has_next"], body["has_previous"]) == (0, [], False, True)


@pytest.mark.parametrize("query", [{"page_size": 0}, {"page_size": 201}, {"page": "first"}])
def test_linked_user_sessions_answer_422_in_heidi_shape_when_paging_is_invalid(
    client: TestClient, heidi_auth: dict[str, str], query: dict[str, object]
) -> None:
    response = client.get(LINKED, params=query, headers=heidi_auth)

    assert response.status_code == 422
    assert response.json()["detail"]["type"] == "RequestValidationError"
