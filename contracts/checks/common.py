"""Checks every API gets: what a create, PATCH, PUT, page or error must show, as Schemathesis checks.

Importing this module registers every check below (and one `before_call` hook) with Schemathesis. Each check
looks at one response and, when it needs more evidence, sends a few bounded follow-up requests with the
credentials the checked request carried. Failures say what was expected and what was received.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, NoReturn

import jsonschema
import schemathesis
from schemathesis import APIOperation, Case, CheckContext, HookContext, Response

from contracts.guard import UNSAFE_OPERATIONS

ENVELOPES = ("data", "session")  # Heidi wraps one resource in `{"data": ...}` or `{"session": ...}`
ALIASES = {"ehr_appointment_id": "ehr_appt_id"}  # request field -> the response field Heidi shows it as
SERVER_OWNED = frozenset({"id", "updated_at", "updatedAt", "finishedAt"})  # set by the server on every write
PAGE_KEYS = frozenset({"content", "page", "size", "total", "first", "last"})
WALK_PAGE_SIZE, WALK_MAX_ITEMS, WALKS_PER_OPERATION = 100, 500, 25
MAX_IDS_FOLLOWED = 10
CLOCK_SLACK = timedelta(seconds=5)
SNAPSHOTS_KEPT = 256


# --- helpers --------------------------------------------------------------------------------------------------


def operation_id(case: Case) -> str:
    return str(case.operation.definition.raw.get("operationId", ""))


def ok(response: Response) -> bool:
    return 200 <= response.status_code < 300


def json_of(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _is_negative(case: Case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_negative


def _unwrap(body: Any) -> Any:
    """The resource inside Heidi's one-key envelopes; any other body as it is."""
    if isinstance(body, dict) and len(body) == 1:
        (key, inner), = body.items()  # fmt: skip
        if key in ENVELOPES and isinstance(inner, dict):
            return inner
    return body


def _scalars(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {}
    return {k: v for k, v in body.items() if k != "id" and (v is None or isinstance(v, str | int | float | bool))}


def _resolved(root: dict[str, Any], schema: Any) -> Any:
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#"):
        schema = _pointer(root, schema["$ref"][1:])
    return schema


def _properties(root: dict[str, Any], schema: Any) -> set[str]:
    schema = _resolved(root, schema)
    if not isinstance(schema, dict):
        return set()
    names = set(schema.get("properties") or {})
    for part in schema.get("allOf") or []:
        names |= _properties(root, part)
    return names


def _given(case: Case) -> dict[str, Any]:
    """The body fields the operation documents (servers ignore the others, as Heidi says it does)."""
    if not isinstance(case.body, dict):
        return {}
    root = case.operation.schema.raw_schema
    content = (_resolved(root, case.operation.definition.raw.get("requestBody")) or {}).get("content") or {}
    media: dict[str, Any] = content.get("application/json") or next(iter(content.values()), {})
    documented = _properties(root, media.get("schema"))
    return {name: value for name, value in case.body.items() if name in documented}


def _mismatches(sent: dict[str, Any], shown: Any) -> list[str]:
    """`field: sent X, shown Y` for each scalar the request sent that the response shows differently."""
    if not isinstance(shown, dict):
        return []
    problems = []
    for name, value in _scalars(sent).items():
        shown_as = ALIASES.get(name, name)
        if shown_as in shown and shown[shown_as] != value:
            problems.append(f"{shown_as}: sent {value!r}, shown {shown[shown_as]!r}")
    return problems


def _credentials(operation: APIOperation, sent: Mapping[str, Any] | None) -> dict[str, str]:
    """The auth headers of the API's security schemes, copied from a request that was sent."""
    schemes = operation.schema.raw_schema.get("components", {}).get("securitySchemes", {})
    names = {s["name"] if s.get("type") == "apiKey" else "Authorization" for s in schemes.values()
             if s.get("type") != "apiKey" or s.get("in") == "header"}  # fmt: skip
    lowered = {str(k).lower(): v for k, v in (sent or {}).items()}
    return {name: str(lowered[name.lower()]) for name in names if name.lower() in lowered}


def _send(
    operation: APIOperation,
    headers: dict[str, str],
    path_parameters: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    body: Any = None,
) -> Response:
    """One follow-up request, outside the run's recorded cases and hooks (`body=None`: no body)."""
    extra: dict[str, Any] = {} if body is None else {"body": body, "media_type": "application/json"}
    probe = operation.Case(path_parameters=path_parameters or {}, query=query or {}, headers=headers, **extra)
    return operation.schema.transport.send(probe)


def follow_up(case: Case, response: Response, operation_id: str, **request: Any) -> Response:
    operation = case.operation.schema.find_operation_by_id(operation_id)
    return _send(operation, _credentials(operation, response.request.headers), **request)


def _read_of(operation: APIOperation) -> str | None:
    """The operationId of the GET on the same path (the read of what a PUT or PATCH changed)."""
    item = operation.schema.raw_schema.get("paths", {}).get(operation.path, {})
    read = item.get("get", {}).get("operationId")
    return str(read) if read else None


def _pointer(document: Any, pointer: str) -> Any:
    for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(document, dict):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


def _linked_reads(case: Case, response: Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(GET operationId, path parameters) for each OpenAPI link of this response that leads to a read."""
    responses = case.operation.definition.raw.get("responses", {})
    links = (responses.get(str(response.status_code)) or {}).get("links") or {}
    body = json_of(response)
    for link in links.values():
        target = link.get("operationId")
        if not target or target in UNSAFE_OPERATIONS:  # reads with side effects (minting login links)
            continue
        if case.operation.schema.find_operation_by_id(target).method.upper() != "GET":
            continue
        values = {}
        for name, expression in (link.get("parameters") or {}).items():
            if isinstance(expression, str) and expression.startswith("$response.body#"):
                values[name] = _pointer(body, expression.removeprefix("$response.body#"))
            elif isinstance(expression, str) and expression.startswith("$request.path."):
                values[name] = (case.path_parameters or {}).get(expression.removeprefix("$request.path."))
        if values and all(v is not None for v in values.values()):
            yield target, values


def fail(message: str) -> NoReturn:
    raise AssertionError(message)


# --- the state before a PATCH, read by a hook just before it is sent -------------------------------------------


class _Snapshots:
    """The resource each PATCH case is about to change, keyed by case id (bounded, thread-safe)."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, case_id: str, state: Any) -> None:
        with self._lock:
            self._items[case_id] = state
            while len(self._items) > SNAPSHOTS_KEPT:
                self._items.popitem(last=False)

    def pop(self, case_id: str) -> Any:
        with self._lock:
            return self._items.pop(case_id, None)


BEFORE_PATCH = _Snapshots()


@schemathesis.hook("before_call")
def read_resource_before_patch(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """GET what a PATCH is about to change, so `patch_changes_only_given_fields` can compare."""
    read = _read_of(case.operation)
    if case.method.upper() != "PATCH" or not isinstance(case.body, dict) or _is_negative(case) or read is None:
        return
    operation = case.operation.schema.find_operation_by_id(read)
    try:
        before = _send(operation, _credentials(operation, case.headers), path_parameters=dict(case.path_parameters))
    except Exception:  # the snapshot is optional; the PATCH itself will report a broken server
        return
    if ok(before):
        BEFORE_PATCH.put(case.id, _unwrap(json_of(before)))


# --- checks -----------------------------------------------------------------------------------------------------


@schemathesis.check
def created_resource_is_retrievable_with_its_values(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 2xx create can be read back through its response's links, showing the scalar values it was sent."""
    if case.method.upper() != "POST" or not operation_id(case).startswith("create") or not ok(response):
        return None
    for read, parameters in _linked_reads(case, response):
        got = follow_up(case, response, read, path_parameters=parameters)
        if not ok(got):
            fail(f"{case.operation.label} answered {response.status_code}, then {read} {parameters} answered "
                  f"{got.status_code}; expected 200 for the resource just created")  # fmt: skip
        problems = [] if _is_negative(case) else _mismatches(_given(case), _unwrap(json_of(got)))
        if problems:
            fail(f"{read} {parameters} does not show what {case.operation.label} sent: " + "; ".join(problems))
    return None


@schemathesis.check
def patch_changes_only_given_fields(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 2xx PATCH shows the scalars it was given, and leaves every field it was not given as it was."""
    before = BEFORE_PATCH.pop(case.id)
    if case.method.upper() != "PATCH" or not ok(response) or not isinstance(case.body, dict) or _is_negative(case):
        return None
    given = _given(case)
    after, read = _unwrap(json_of(response)), _read_of(case.operation)
    problems = [f"response {p}" for p in _mismatches(given, after)]
    if read is not None:
        got = follow_up(case, response, read, path_parameters=dict(case.path_parameters))
        after = _unwrap(json_of(got)) if ok(got) else after
        problems += [f"{read} {p}" for p in _mismatches(given, after)]
    if isinstance(before, dict) and isinstance(after, dict):
        touched = set(given) | {ALIASES.get(name, name) for name in given} | SERVER_OWNED
        problems += [f"{name}: not given, was {before[name]!r}, now {after.get(name)!r}"
                     for name in before if name not in touched and after.get(name) != before[name]]  # fmt: skip
    if problems:
        fail(f"{case.operation.label} changed more or less than it was given: " + "; ".join(problems))
    return None


@schemathesis.check
def put_applies_what_it_was_given(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 2xx PUT's response and a read right after it show the scalar values it was given."""
    if case.method.upper() != "PUT" or not ok(response) or not isinstance(case.body, dict) or _is_negative(case):
        return None
    given, read = _given(case), _read_of(case.operation)
    problems = [f"response {p}" for p in _mismatches(given, _unwrap(json_of(response)))]
    if read is not None:
        got = follow_up(case, response, read, path_parameters=dict(case.path_parameters))
        problems += [f"{read} {p}" for p in _mismatches(given, _unwrap(json_of(got)))] if ok(got) else []
    if problems:
        fail(f"{case.operation.label} did not apply what it was given: " + "; ".join(problems))
    return None


def _page_problems(body: dict[str, Any]) -> list[str]:
    page, size, total, content = body["page"], body["size"], body["total"], body["content"]
    if not all(isinstance(v, int) for v in (page, size, total)) or not isinstance(content, list):
        return []  # a type error: response_schema_conformance reports it
    expected = {"first": page == 1, "last": page * size >= total}
    problems = [f"{key} is {body[key]!r}, expected {value!r} (page {page}, size {size}, total {total})"
                for key, value in expected.items() if body[key] != value]  # fmt: skip
    if len(content) > size:
        problems.append(f"{len(content)} items in content, more than size {size}")
    if not expected["last"] and len(content) != size:
        problems.append(f"{len(content)} items in content of a page that is not the last, expected size {size}")
    return problems


@schemathesis.check
class page_envelope_is_consistent:  # noqa: N801  (Schemathesis names a class check by its class name)
    """Impilo pages: `first`, `last`, `size` and `content` agree, and `total` is what paging through returns.

    The walk through every page runs once per operation and filters (at most WALKS_PER_OPERATION per
    operation, WALK_MAX_ITEMS items each) and is kept for the rest of the run.
    """

    def __init__(self) -> None:
        self.walked: dict[str, set[tuple[tuple[str, str], ...]]] = {}

    def after_response(self, ctx: CheckContext, response: Response, case: Case) -> bool | None:
        body = json_of(response)
        if case.method.upper() != "GET" or not ok(response) or not isinstance(body, dict) or PAGE_KEYS - body.keys():
            return None
        query = dict(case.query or {})
        problems = _page_problems(body)
        problems += [f"{name} is {body[name]!r}, the request asked for {query[name]!r}"
                     for name in ("page", "size") if name in query and str(query[name]) != str(body[name])]  # fmt: skip
        if problems:
            fail(f"{case.operation.label} page envelope is inconsistent: " + "; ".join(problems))
        filters = {k: v for k, v in query.items() if k not in ("page", "size") and not k.startswith("sort")}
        walked = self.walked.setdefault(case.operation.label, set())
        key = tuple(sorted((k, repr(v)) for k, v in filters.items()))
        if key in walked or len(walked) >= WALKS_PER_OPERATION or not isinstance(body["total"], int):
            return None
        walked.add(key)
        counted, total = self._walk(case, response, filters)
        if counted is not None and (counted != total or body["total"] != total):
            fail(f"{case.operation.label} with {filters or 'no filters'} says total {body['total']}, but paging "
                  f"through it (size {WALK_PAGE_SIZE}) returns {counted} items under a total of {total}")  # fmt: skip
        return None

    @staticmethod
    def _walk(case: Case, response: Response, filters: dict[str, Any]) -> tuple[int | None, int | None]:
        """(items counted, total reported) over every page; counted is None when the walk was cut short."""
        counted, total, page = 0, None, 1
        while counted < WALK_MAX_ITEMS:
            query = {**filters, "page": page, "size": WALK_PAGE_SIZE}
            got = follow_up(case, response, operation_id(case), query=query)
            body = json_of(got)
            if not ok(got) or not isinstance(body, dict) or PAGE_KEYS - body.keys():
                return None, None
            if total is not None and body["total"] != total:
                return None, None  # the data changed under the walk
            total = body["total"]
            counted += len(body["content"]) if isinstance(body["content"], list) else 0
            if body["last"] is True or not body["content"]:
                return counted, total
            page += 1
        return None, None


@schemathesis.check
def error_body_has_the_vendor_shape(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx/5xx has the vendor's error body and content type: the spec's `info.x-mock.errors` names them."""
    declared = (case.operation.schema.raw_schema.get("info", {}).get("x-mock") or {}).get("errors")
    if response.status_code < 400 or not declared:
        return None
    content_type = declared["contentType"]
    schema = case.operation.schema.raw_schema["components"]["schemas"][declared["schema"]]
    received = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    if received != content_type:
        fail(f"a {response.status_code} error with content type {received!r}; expected {content_type!r}")
    body = json_of(response)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(body), key=str)
    if errors:
        fail(f"a {response.status_code} error body {body!r} is not the vendor's shape: {errors[0].message}")
    if isinstance(body, dict) and "status" in schema["properties"] and body["status"] != response.status_code:
        fail(f"a {response.status_code} error body says status {body['status']!r}")
    return None
