"""Heidi's consult notes: the templates, the streamed note, and custom JSON templates filled from it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from mocks.context import MockContext
from mocks.vendors.heidi import content, rules
from mocks.vendors.heidi.records import API, Records, consult_note_record, now_naive

Body = dict[str, Any]
Reply = tuple[Body, int]
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # proxies pass each piece on at once


def event(piece: str) -> bytes:
    """One piece of a streamed note: a server-sent event carrying Heidi's `{"data": ...}`."""
    return b"data: " + orjson.dumps({"data": piece}) + b"\n\n"


class NoteHandlers:
    context: MockContext
    records: Records

    async def list_consult_note_templates(self, **_: Any) -> Reply:
        return {"templates": self.records.templates_of("CONSULT_NOTE_TEMPLATE")}, 200

    async def generate_consult_note(self, session_id: str, body: Body, **_: Any) -> StreamingResponse:
        """Stores the note, then streams it: a client that stops reading early still finds the whole note."""
        with self.records.lock:
            session = self.records.session(session_id)
            rules.note_template(self.records, body)
            consult, heard = rules.heard(self.records, session, self.context.faker.reseed)
            note = content.consult_note(consult, heard, body.get("voice_style"), body.get("addition"))
            if body.get("content_type") == "HTML":
                note = content.as_html(note)
            created = consult_note_record(body, "CREATED", note)
            self.records.sessions.put(session_id, {**session, "consult_note": created, "updated_at": now_naive()})
        pause = self.context.config.credentials_for(API)["stream_chunk_ms"] / 1000
        return StreamingResponse(self._stream(note, pause), media_type="text/event-stream", headers=STREAM_HEADERS)

    @staticmethod
    async def _stream(note: str, pause: float) -> AsyncIterator[bytes]:
        for index, piece in enumerate(content.chunks(note)):
            if index and pause:
                await asyncio.sleep(pause)
            yield event(piece)

    async def ask_heidi(self, session_id: str, body: Body, **_: Any) -> StreamingResponse:
        """Answers an instruction about the session as a stream, like the consult note; stores nothing."""
        with self.records.lock:
            session = self.records.session(session_id)
            consult = rules.heard(self.records, session, self.context.faker.reseed)[0]
        answer = content.ask_answer(consult, body["ai_command_text"], list(session.get("clinician_notes") or []))
        if body.get("content_type") == "HTML":
            answer = content.as_html(answer)
        pause = self.context.config.credentials_for(API)["stream_chunk_ms"] / 1000
        return StreamingResponse(self._stream(answer, pause), media_type="text/event-stream", headers=STREAM_HEADERS)

    async def generate_custom_template_response(self, session_id: str, body: Body, **_: Any) -> Reply:
        with self.records.lock:
            session = self.records.session(session_id)
            rules.custom_template(body)
            rules.generated_note(session)
            consult, _heard = rules.heard(self.records, session, self.context.faker.reseed)
        return content.fill_template(body, consult), 200
