"""What Heidi state fixtures may hold (mocks/dx/fixtures.py): patient profiles and scribe sessions, stored
as the spec's fields (a session's profile by `patient_profile_id`). Missing fields are the seed's fake data."""

from __future__ import annotations

from mocks.context import MockContext
from mocks.dx.fixtures import Kind
from mocks.state.store import Record
from mocks.vendors.heidi.records import API, MOCK_ACCOUNT_ID, MOCK_EHR_PROVIDER, Records, new_session, session_view

CREATED = "2025-01-06T09:00:00.000000"  # a fixed moment: a fixture loads the same records every time


def kinds(context: MockContext, records: Records) -> list[Kind]:
    """Heidi's fixture kinds, referenced ones first."""
    profile_schema, session_schema = context.schema(API, "PatientProfile"), context.schema(API, "Session")

    def profile(given: Record) -> Record:
        defaults = {"source": "EHR", "managed_by": MOCK_ACCOUNT_ID, "ehr_provider": MOCK_EHR_PROVIDER,
                    "remember_consent": None, "created_at": CREATED, "updated_at": CREATED}  # fmt: skip
        record = context.faker.fill(profile_schema, f"{API}.profile.{given['id']}", {**defaults, **given})
        return {name: record.get(name) for name in profile_schema["properties"]} | given

    def session(given: Record) -> Record:
        return {**new_session(str(given["session_id"]), None, None, CREATED), **given}

    return [
        Kind("profiles", records.profiles, profile, profile_schema),
        Kind(
            "sessions",
            records.sessions,
            session,
            session_schema,
            session_view,
            key="session_id",
            references={"patient_profile_id": "profiles"},
        ),
    ]
