"""Heidi Health handlers: one async method per operationId of specs/heidi.yaml.

One module per area, each a mixin of `Handlers`. Requests arrive validated and authenticated; each method
takes the request's values, asks `rules` and `records`, and returns (body, status) (a consult note
is a streamed response). Everything lives in the app's store.
"""

from __future__ import annotations

from mocks.context import MockContext
from mocks.dx.fixtures import Kind
from mocks.vendors.heidi import fixtures
from mocks.vendors.heidi import seed as seeding
from mocks.vendors.heidi.handlers.accounts import AccountHandlers
from mocks.vendors.heidi.handlers.documents import DocumentHandlers
from mocks.vendors.heidi.handlers.notes import NoteHandlers
from mocks.vendors.heidi.handlers.profiles import ProfileHandlers
from mocks.vendors.heidi.handlers.sessions import SessionHandlers
from mocks.vendors.heidi.handlers.transcription import TranscriptionHandlers
from mocks.vendors.heidi.records import API, Records


class Handlers(
    ProfileHandlers, SessionHandlers, TranscriptionHandlers, NoteHandlers, DocumentHandlers, AccountHandlers
):
    """The Heidi API of one mock app."""

    def __init__(self, context: MockContext) -> None:
        self.context = context
        self.records = Records(context.store)
        self.profile_fields = self._fields("PatientProfile")
        self.create_fields = self._fields("PatientProfileCreate")
        self.update_fields = self._fields("PatientProfileUpdate")
        self.session_update_fields = self._fields("SessionUpdate")

    def _fields(self, schema_name: str) -> list[str]:
        return list(self.context.schema(API, schema_name)["properties"])

    def seed(self) -> None:
        seeding.seed(self.context, self.records)

    def fixtures(self) -> list[Kind]:
        """The collections state fixtures load and export, and how (mocks/dx/fixtures.py)."""
        return fixtures.kinds(self.context, self.records)
