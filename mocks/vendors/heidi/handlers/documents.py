"""Heidi's documents, context attachments and document templates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mocks.context import MockContext
from mocks.state.store import Key, Record
from mocks.vendors.heidi import content, rules
from mocks.vendors.heidi.records import API, Records, document_view, now_naive

Body = dict[str, Any]
Reply = tuple[Any, int]


class DocumentHandlers:
    context: MockContext
    records: Records

    async def list_document_templates(self, **_: Any) -> Reply:
        return {"templates": self.records.templates_of("DOCUMENT_TEMPLATE")}, 200

    async def create_document(self, session_id: str, body: Body, **_: Any) -> Reply:
        with self.records.lock:
            session = self.records.session(session_id)
            template = rules.note_template(self.records, body)
            consult = rules.heard(self.records, session, self.context.faker.reseed)[0]
            name = template["name"] if template else "Document"
            text = content.document(consult, name)
            index = len(self.records.documents.where(lambda d: d["session_id"] == session_id))
            fields = {
                "session_id": session_id, "index": index, "name": name, "template_id": body.get("template_id"),
                "brain": body.get("brain", "LEFT"), "voice_style": body.get("voice_style"),
                "content_type": body.get("content_type", "MARKDOWN"),
                "content": content.as_html(text) if body.get("content_type") == "HTML" else text,
                "generation_type": body.get("generation_method"),
            }  # fmt: skip
            document = self.records.documents.add(lambda key: {"id": str(key), **fields})
            self.records.sessions.put(session_id, {**session, "updated_at": now_naive()})
        return document_view(document), 200

    async def list_documents(self, session_id: str, **_: Any) -> Reply:
        with self.records.lock:
            self.records.session(session_id)
            found = self.records.documents.where(lambda d: d["session_id"] == session_id)
        return {"documents": [document_view(d) for d in found]}, 200

    async def upload_context_documents(self, session_id: str, body: Body | None = None, **kwargs: Any) -> Reply:
        try:
            return self._attach(session_id, body or {}, kwargs.get("context_documents"))
        finally:
            await rules.close_uploads(kwargs)

    def _attach(self, session_id: str, body: Body, uploads: Any) -> Reply:
        with self.records.lock:
            self.records.session(session_id)
            limit = int(self.context.config.credentials_for(API)["max_upload_bytes"])
            files = rules.context_files(uploads, limit)
            meta, now = rules.meta_data(body.get("meta_data")), now_naive()
            added = [self.records.context_documents.add(_attachment_of(session_id, f, meta, now)) for f in files]
        return {"data": [_attachment(d) for d in added]}, 200

    async def list_context_documents(self, session_id: str, **_: Any) -> Reply:
        with self.records.lock:
            self.records.session(session_id)
            found = self.records.context_documents.where(lambda d: d["session_id"] == session_id)
        return {"data": [_attachment(d) for d in found]}, 200

    async def delete_context_documents(self, session_id: str, ids: list[str], **_: Any) -> Reply:
        with self.records.lock:
            self.records.session(session_id)
            for found in self.records.context_documents.where(lambda d: d["session_id"] == session_id):
                if found["id"] in ids:
                    self.records.context_documents.delete(found["id"])
        return None, 204


def _attachment_of(session_id: str, upload: Any, meta: Any, now: str) -> Callable[[Key], Record]:
    """A context attachment as stored, once the store gives it an id."""

    def make(key: Key) -> Record:
        return {"id": str(key), "session_id": session_id, "filename": upload.filename,
                "content_type": upload.content_type, "size": upload.size or 0, "meta_data": meta,
                "status": "READY", "uploaded_at": now}  # fmt: skip

    return make


def _attachment(document: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in document.items() if name != "session_id"}
