"""`RECORD=dir`: upstream exchanges saved with their secrets masked, in forms the mock can load back.

Three files, rewritten as exchanges arrive:
- `exchanges.jsonl`: one JSON line per exchange (api, operationId, method, path, query, headers, body,
  status, response headers and body), credentials masked as the journal masks them: the vendors' masked
  headers (`Vendor.masked_headers`), Authorization and cookies, and secret fields in bodies and queries
  (`safejson.SECRET_FIELDS`: token, secret, ...).
- `fixtures.json`: `{api: {collection: [records]}}`, the records the upstream answered (a resource, the
  `content` of a page, or a resource inside a one-key envelope), one per id, latest wins. `collection` is the
  mock's collection whose seeded records share the most field names with the record (the path's resource
  segment when none shares any): the state-fixture format, so a recorded world can be loaded back.
- `examples.json`: `{api: {operationId: {"recorded-<status>": {"summary", "value"}}}}`, the latest response
  body per operation and status, as named OpenAPI examples. `EXAMPLES=<that file>` adds them to the specs a
  mock serves (`merge_examples`), so `Prefer: example=recorded-200` answers with what the vendor answered.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from mocks.dx import safejson
from mocks.proxy.operations import Operation

Masks = Mapping[str, Callable[[str], str]]
SAMPLED = 20  # seeded records per collection whose field names stand for it


def _masked_headers(headers: Mapping[str, str], masks: Masks) -> dict[str, str]:
    return {name: masks[name](value) if name in masks else value for name, value in headers.items()}


def _masked_query(query: bytes) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        found.setdefault(name, []).append(safejson.MASK if name.lower() in safejson.SECRET_FIELDS else value)
    return found


def _body(raw: bytes) -> tuple[Any, bool]:
    """(masked JSON, False) or (masked text, True), as the journal shows a body."""
    if not raw:
        return None, False
    try:
        return safejson.redacted(safejson.loads(raw)), False
    except ValueError:
        return safejson.redacted_text(raw.decode("utf-8", "replace")), True


def records_in(body: Any) -> list[dict[str, Any]]:
    """The resources a response body holds: itself, a list of them (a page's `content`), or one in a one-key
    envelope (`{"data": {...}}`)."""
    if not isinstance(body, dict):
        return []
    if "id" in body:
        return [body]
    if len(body) == 1:
        inner = next(iter(body.values()))
        if isinstance(inner, dict) and "id" in inner:
            return [inner]
    for value in body.values():
        if isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
            return list(value)
    return []


def resource_segment(template: str) -> str:
    """`/patient/{patientId}` -> `patient`; `/conditions/{id}/episodes-of-care` -> `episodes-of-care`."""
    parts = [p for p in template.split("/") if p]
    if parts and parts[-1].startswith("{"):
        parts = parts[:-1]
    literal = [p for p in parts if not p.startswith("{")]
    return re.sub(r"[^\w-]", "_", literal[-1]) if literal else "records"


class Recorder:
    """Writes the three files into `folder`; `fields` gives, per API, each collection's field names (read
    from the mock's store when first needed)."""

    def __init__(self, folder: str, masks: Masks, fields: Callable[[], dict[str, dict[str, set[str]]]]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.masks, self._fields_of = masks, fields
        self._fields: dict[str, dict[str, set[str]]] | None = None
        self.fixtures: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}  # api -> collection -> id -> record
        self.examples: dict[str, dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def _collection(self, api: str, record: dict[str, Any], operation: Operation) -> str:
        if self._fields is None:
            self._fields = self._fields_of()
        scored = [(len(fields & record.keys()), name) for name, fields in (self._fields.get(api) or {}).items()]
        best = max(scored, default=(0, ""))
        return best[1] if best[0] else resource_segment(operation.template)

    def save(
        self, operation: Operation, path: str, query: bytes, headers: Mapping[str, str], body: bytes,
        status: int, response_headers: Mapping[str, str], response_body: bytes,
    ) -> None:  # fmt: skip
        request, request_is_text = _body(body)
        response, response_is_text = _body(response_body)
        line = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "api": operation.api, "operationId": operation.operation_id, "method": operation.method, "path": path,
            "query": _masked_query(query), "headers": _masked_headers(headers, self.masks),
            "body": request, "bodyIsText": request_is_text, "status": status,
            "responseHeaders": _masked_headers(response_headers, self.masks),
            "responseBody": response, "responseBodyIsText": response_is_text,
        }  # fmt: skip
        with self._lock:
            with open(self.folder / "exchanges.jsonl", "ab") as out:
                out.write(safejson.dumps(line) + b"\n")
            if response_is_text or response is None:
                return
            examples = self.examples.setdefault(operation.api, {}).setdefault(operation.operation_id, {})
            examples[f"recorded-{status}"] = {
                "summary": f"Recorded from the upstream at {line['at']}",
                "value": response,
            }
            self._write("examples.json", self.examples)
            if 200 <= status < 300 and operation.method != "DELETE":
                for record in records_in(response):
                    collection = self._collection(operation.api, record, operation)
                    self.fixtures.setdefault(operation.api, {}).setdefault(collection, {})[str(record["id"])] = record
                fixtures = {api: {name: list(by_id.values()) for name, by_id in groups.items()}
                            for api, groups in self.fixtures.items()}  # fmt: skip
                self._write("fixtures.json", fixtures)

    def _write(self, name: str, data: Any) -> None:
        """Whole or not at all: a reader never sees half a file."""
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.")
        with os.fdopen(handle, "wb") as out:
            out.write(json.dumps(data, indent=2, ensure_ascii=False).encode())
        os.replace(temporary, self.folder / name)


def collection_fields(exported: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, dict[str, set[str]]]:
    """API -> collection -> the field names of its first `SAMPLED` records (a store's `export()`)."""
    return {
        api: {
            name: {key for record in records[:SAMPLED] if isinstance(record, dict) for key in record}
            for name, records in groups.items()
        }
        for api, groups in exported.items()
    }


def merge_examples(documents: Mapping[str, dict[str, Any]], path: str) -> list[str]:
    """Add the named examples of an `examples.json` to the resolved specs `documents` (API name -> spec), each
    under its operation's documented status and JSON media type; returns what could not be placed. ValueError
    for a file that is not such a mapping."""
    try:
        recorded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"EXAMPLES={path}: cannot be read as JSON ({exc})") from exc
    if not isinstance(recorded, dict) or not all(isinstance(v, dict) for v in recorded.values()):
        raise ValueError(f"EXAMPLES={path}: expected {{api: {{operationId: {{name: {{value}}}}}}}}")
    operations = {
        (api, op.get("operationId")): op
        for api, document in documents.items()
        for item in document.get("paths", {}).values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    skipped = []
    for api, by_operation in recorded.items():
        for operation_id, examples in by_operation.items():
            operation = operations.get((api, operation_id))
            for name, example in (examples or {}).items():
                status = name.rpartition("-")[2]
                response = (operation or {}).get("responses", {}).get(status) or {}
                media = next((m for m in (response.get("content") or {}) if "json" in m), None)
                if media is None or not isinstance(example, dict) or "value" not in example:
                    skipped.append(f"{api} {operation_id} {name}")
                    continue
                response["content"][media].setdefault("examples", {})[name] = example
    return skipped
