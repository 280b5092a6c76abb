"""Heidi Health's documented rules as Schemathesis checks."""

from __future__ import annotations

import json

import schemathesis
from schemathesis import Case, CheckContext, Response

from contracts.checks.common import MAX_IDS_FOLLOWED, fail, follow_up, json_of, ok, operation_id


@schemathesis.check
def deleted_profiles_are_gone(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """After a 2xx Heidi batch delete, each listed patient profile answers 404."""
    if operation_id(case) != "batchDeletePatientProfiles" or not ok(response) or not isinstance(case.body, dict):
        return None
    ids = case.body.get("patient_profile_ids")
    still_there = []
    named = [i for i in (ids if isinstance(ids, list) else []) if isinstance(i, str) and i]  # "" has no path
    for profile_id in list(dict.fromkeys(named))[:MAX_IDS_FOLLOWED]:
        got = follow_up(case, response, "getPatientProfile", path_parameters={"patient_profile_id": profile_id})
        if got.status_code != 404:
            still_there.append(f"{profile_id}: {got.status_code}")
    if still_there:
        fail("profiles deleted by a 2xx batch delete still answer GET (expected 404): " + ", ".join(still_there))
    return None


@schemathesis.check
def session_page_is_consistent(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 2xx page of the linked user's sessions: `count` is the items on it, `has_previous` says whether the
    page is after the first, `has_next` whether sessions remain after it (third-party clients' envelope)."""
    if operation_id(case) != "listLinkedUserSessions" or not ok(response):
        return None
    body = json_of(response)
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return None
    query = case.query or {}
    page, size = int(query.get("page", 1)), int(query.get("page_size", 20))
    problems = []
    if body.get("count") != len(body["data"]):
        problems.append(f"count is {body.get('count')!r} for {len(body['data'])} items")
    if body.get("has_previous") is not (page > 1):
        problems.append(f"has_previous is {body.get('has_previous')!r} on page {page}")
    total = body.get("total_count")
    if isinstance(total, int) and body.get("has_next") is not (page * size < total):
        problems.append(f"has_next is {body.get('has_next')!r} on page {page} of size {size} with {total} in all")
    if problems:
        fail("listLinkedUserSessions page envelope is inconsistent: " + "; ".join(problems))
    return None


def streamed_text(text: str) -> str:
    """The note a streamed answer carries: each line's `{"data": ...}`, with or without a `data:` prefix."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        line = line[len("data:") :].strip() if line.startswith("data:") else line
        try:
            piece = json.loads(line) if line else None
        except ValueError:
            continue
        if isinstance(piece, dict) and isinstance(piece.get("data"), str):
            found.append(piece["data"])
    return "".join(found)


@schemathesis.check
def streamed_note_is_kept_on_the_session(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """After a 2xx consult-note stream, the session's `consult_note` holds that note as `result`, with a status
    (vendor consult-notes page: the stream is the generated note; the session then shows it). The result
    starts with what was read: a client (Schemathesis too) may stop reading a stream early."""
    if operation_id(case) != "generateConsultNote" or not ok(response):
        return None
    note = streamed_text(response.text)
    if not note:
        fail('a 2xx consult-note stream carried no {"data": ...} pieces')
    session_id = (case.path_parameters or {}).get("session_id")
    got = follow_up(case, response, "getSession", path_parameters={"session_id": session_id})
    kept = (json_of(got) or {}).get("session", {}).get("consult_note") or {}
    if not str(kept.get("result") or "").startswith(note) or not kept.get("status"):
        fail(
            f"session {session_id}'s consult_note after the stream is status {kept.get('status')!r} with a result "
            f"of {len(kept.get('result') or '')} characters; the stream sent {len(note)}"
        )
    return None


@schemathesis.check
def linking_twice_is_refused(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """After a 2xx account link, the same link again answers Heidi's `OpenAPIHeidiAccountAlreadyLinkedError`
    (vendor authentication page)."""
    if operation_id(case) != "linkHeidiAccount" or not ok(response) or not isinstance(case.body, dict):
        return None
    again = follow_up(case, response, "linkHeidiAccount", body=case.body)
    error = (json_of(again) or {}).get("detail") if again.status_code < 500 else None
    if ok(again) or not isinstance(error, dict) or error.get("type") != "OpenAPIHeidiAccountAlreadyLinkedError":
        fail(
            f"linking the same Heidi account twice answered {again.status_code}, "
            "not OpenAPIHeidiAccountAlreadyLinkedError"
        )
    return None


@schemathesis.check
def deleted_context_documents_are_gone(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """After a 2xx delete of context attachments, none of the listed ids is in the session's list."""
    if operation_id(case) != "deleteContextDocuments" or not ok(response):
        return None
    ids = (case.query or {}).get("ids")
    wanted = set(ids if isinstance(ids, list) else [ids])
    listed = follow_up(case, response, "listContextDocuments", path_parameters=dict(case.path_parameters or {}))
    left = [
        d.get("id") for d in (json_of(listed) or {}).get("data", []) if isinstance(d, dict) and d.get("id") in wanted
    ]
    if left:
        fail(f"context documents deleted by a 2xx DELETE are still listed: {', '.join(map(str, left))}")
    return None
