"""Heidi's audio and transcripts: whole uploads, segmented recordings, the transcript and the live one."""

from __future__ import annotations

from typing import Any

from mocks.context import MockContext
from mocks.vendors.heidi import content, rules
from mocks.vendors.heidi.records import API, Records, new_recording, now_naive

Body = dict[str, Any]
Reply = tuple[Body, int]


class TranscriptionHandlers:
    context: MockContext
    records: Records

    def _limit(self) -> int:
        return int(self.context.config.credentials_for(API)["max_upload_bytes"])

    async def upload_session_audio(self, session_id: str, body: Body | None = None, **kwargs: Any) -> Reply:
        try:
            return self._store_upload(session_id, body or {}, kwargs.get("file"))
        finally:
            await rules.close_uploads(kwargs)

    def _store_upload(self, session_id: str, body: Body, file: Any) -> Reply:
        with self.records.lock:
            session = self.records.session(session_id)
            upload = rules.audio_file(file, self._limit())
            seconds = rules.audio_seconds(upload.size or 0, body.get("start_time"), body.get("end_time"))
            now = now_naive()
            recording = self.records.recordings.add(
                lambda key: new_recording(str(key), session_id, "USER_UPLOADED", now)
            )
            recording["segments"] = [{"index": 0, "seconds": seconds, "received_at": now}]
            self.records.recordings.put(recording["recording_id"], recording)
            audio = {"id": f"{int(recording['recording_id']):024x}", "index": len(session["audio"]),
                     "status": "INITIALIZED", "created_at": now, "access_url": None, "expiry": 0}  # fmt: skip
            self.records.sessions.put(session_id, {**session, "audio": [*session["audio"], audio], "updated_at": now})
        return {"uploaded_audio": audio}, 200

    async def init_segment_transcription(self, session_id: str, **_: Any) -> Reply:
        with self.records.lock:
            self.records.session(session_id)
            now = now_naive()
            recording = self.records.recordings.add(lambda key: new_recording(str(key), session_id, "LIVE", now))
        return {"recording_id": recording["recording_id"]}, 200

    async def transcribe_segment(
        self, session_id: str, recording_id: str, body: Body | None = None, **kwargs: Any
    ) -> Reply:
        try:
            return self._store_segment(session_id, recording_id, body or {}, kwargs.get("file"))
        finally:
            await rules.close_uploads(kwargs)

    def _store_segment(self, session_id: str, recording_id: str, body: Body, file: Any) -> Reply:
        with self.records.lock:
            self.records.session(session_id)
            recording = self.records.recording(session_id, recording_id)
            upload = rules.audio_file(file, self._limit())
            segments = recording["segments"]
            index = rules.segment_index(body.get("index"), len(segments))
            segment = {"index": index, "seconds": rules.audio_seconds(upload.size or 0), "received_at": now_naive()}
            self.records.recordings.put(recording_id, {**recording, "segments": [*segments, segment]})
        return {"is_success": True}, 200

    async def finish_segment_transcription(self, session_id: str, recording_id: str, **_: Any) -> Reply:
        with self.records.lock:
            self.records.session(session_id)
            recording = self.records.recording(session_id, recording_id)
            self.records.recordings.put(recording_id, {**recording, "status": "finished"})
        return {"is_success": True}, 200

    async def get_session_transcript(self, session_id: str, **_: Any) -> Reply:
        with self.records.lock:
            session = self.records.session(session_id)
            heard = rules.heard(self.records, session, self.context.faker.reseed)[1]
        return {"transcript": content.transcript(heard)}, 200

    async def get_live_session_transcript(
        self, session_id: str, recording_status: str = "in_progress", **_: Any
    ) -> Reply:
        """One chunk per segment of the recordings in `recording_status`, each with the turns that start
        within its stretch of the session's audio timeline."""
        with self.records.lock:
            session = self.records.session(session_id)
            recordings = self.records.recordings_of(session_id)
            heard = rules.heard(self.records, session, self.context.faker.reseed)[1]
        chunks, start = [], 0.0
        for recording in recordings:
            for segment in sorted(recording["segments"], key=lambda s: s["index"]):
                end = start + segment["seconds"]
                if recording["status"] == recording_status:
                    text = content.transcript([t for t in heard if start <= t.start < end])
                    chunks.append({
                        "id": f"{recording['recording_id']}-{segment['index']}",
                        "recording_id": recording["recording_id"],
                        "index": segment["index"], "status": "READY", "duration": segment["seconds"], "text": text,
                        "source": recording["source"],
                    })  # fmt: skip
                start = end
        shown = [c for c in chunks if c["text"]]
        active = chunks[-1]["source"] if chunks else None
        body = {"session_id": session_id, "transcript": "\n".join(c["text"] for c in shown), "active_source": active}
        return {**body, "chunks": chunks}, 200
