"""Keep a contract run from changing anything it did not create itself.

On a shared staging server, fuzzed or example ids in `PUT /patient/0` or a batch delete could hit real
records. The guard remembers the ids the run's own creates returned (typed by collection: ids are only
unique within one resource type) and, before each unsafe call, replaces a schema-valid path id it did not
create with the run's own latest resource of that kind (or, when it owns none yet, an id that cannot
exist), does the same for body fields that name the resource a call changes (Impilo's device and
packed-kit calls take `{"deviceId": 101}` instead of a path id), and drops foreign ids from id lists in
bodies. Nothing that was there before the run is touched. Invalid values are left alone: they test rejection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jsonschema
import schemathesis

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Reads with a side effect: minting login links can e-mail the patient or the practitioner.
UNSAFE_OPERATIONS = {"getPatientsAuthTokens", "getPractitionerAuthTokens"}
SENTINEL_UUID = "00000000-0000-4000-8000-000000000000"


def sentinel_for(schema: dict[str, Any]) -> Any:
    """A value valid for `schema` that no server will have issued."""
    if schema.get("type") == "integer":
        return int(schema.get("maximum", 9_199_999_999_999_999_999))
    if schema.get("format") == "uuid":
        return SENTINEL_UUID
    pattern = schema.get("pattern", "")
    if "a-f" in pattern:
        return "f" * 24
    if "0-9" in pattern:
        return "9" * min(int(schema.get("maxLength", 20)), 20)
    return "contract-suite-sentinel"


# Children created together with their parent: response key -> the collection their ids belong to.
OWNED_CHILDREN = {"conditions": "conditions"}
# Id lists in request bodies -> the collection they name.
ID_LISTS = {"patient_profile_ids": "patient-profiles", "session_ids": "sessions"}
# Single ids or identifiers in request bodies that name the record a call changes (or feeds: a reading sent
# through a device lands on that device's patient) -> the collection they name. No operation creates devices
# or packed kits, so on a shared server these calls meet an id that cannot exist and test the 404 path.
BODY_IDS = {"deviceId": "device", "deviceIdentifier": "device", "packedKitId": "packed-kit"}
# Response keys that hand the caller a resource of its own (a segmented recording is `recording_id`).
OWN_ID_KEYS = ("id", "session_id", "recording_id")

Owned = set[tuple[str, str]]  # (collection, id): ids are only unique within one resource type


def collection_of(path: str, parameter: str | None = None) -> str:
    """The collection an operation creates into (last literal path segment), or that a path parameter
    names (the literal segment before it): `/conditions/{conditionId}/episodes-of-care` creates into
    `episodes-of-care`, and its `conditionId` belongs to `conditions`."""
    segments = [part for part in path.split("/") if part]
    if parameter is None:
        return next((part for part in reversed(segments) if not part.startswith("{")), "")
    # A segment may hold more than the parameter: Heidi's `{recording_id}:finish` (a custom method).
    index = next(i for i, part in enumerate(segments) if f"{{{parameter}}}" in part)
    return next((part for part in reversed(segments[:index]) if not part.startswith("{")), "")


def owned_ids(body: Any, collection: str) -> Owned:
    """What a response hands its caller as the caller's own: the resource's `id`/`session_id`/... (also in a
    `data` envelope), children created with it, every item of a list. Ids of *referenced* resources
    (an order's expanded patient, a kit's items) are deliberately left out."""
    if isinstance(body, list):
        return set().union(*(owned_ids(item, collection) for item in body)) if body else set()
    if not isinstance(body, dict):
        return set()
    found = {(collection, str(body[key])) for key in OWN_ID_KEYS if isinstance(body.get(key), (str, int))}
    if "data" in body:
        found |= owned_ids(body["data"], collection)
    for key, child_collection in OWNED_CHILDREN.items():
        if isinstance(body.get(key), list):
            found |= owned_ids(body[key], child_collection)
    return found


class WriteGuard:
    def __init__(self) -> None:
        self.created: Owned = set()
        self.latest: dict[str, str] = {}  # collection -> the id this run created there most recently
        self.redirected = 0
        self._lock = threading.Lock()

    @contextmanager
    def active(self) -> Iterator[WriteGuard]:
        """Guard the calls made while the block runs (Schemathesis call hooks are process-wide)."""
        _ACTIVE.append(self)
        try:
            yield self
        finally:
            _ACTIVE.remove(self)

    def _stand_in(self, collection: str, schema: dict[str, Any]) -> Any:
        """What to aim a foreign-id call at: our own latest resource of that kind, so the call still
        exercises the API (and Schemathesis does not mistake a redirect for a vanished resource), or an
        id that cannot exist when the run owns none yet."""
        own = self.latest.get(collection)
        if own is None:
            return sentinel_for(schema)
        return int(own) if schema.get("type") == "integer" else own

    def owns(self, path: str, parameter: str, value: Any) -> bool:
        return (collection_of(path, parameter), str(value)) in self.created

    def after_call(self, context: Any, case: Any, response: Any) -> None:
        """Remember what a successful create (or a read under something we own) gave us."""
        method, path, params = case.method.upper(), case.operation.path, case.path_parameters or {}
        if method not in ("POST", "GET") or not 200 <= response.status_code < 300:
            return
        if not all(self.owns(path, name, value) for name, value in params.items()) or (method == "GET" and not params):
            return
        try:
            body = response.json()
        except ValueError:
            return
        found = owned_ids(body, collection_of(path))
        with self._lock:
            self.created |= found
            if method == "POST":
                for collection, ident in found:
                    self.latest[collection] = ident

    def before_call(self, context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        operation = case.operation
        unsafe = (
            case.method.upper() in UNSAFE_METHODS or operation.definition.raw.get("operationId") in UNSAFE_OPERATIONS
        )
        if not unsafe:
            return
        for parameter in operation.path_parameters:
            name, schema = parameter.name, parameter.definition.get("schema", {})
            value = (case.path_parameters or {}).get(name)
            if value is None or self.owns(operation.path, name, value) or not _valid(value, schema):
                continue
            case.path_parameters[name] = self._stand_in(collection_of(operation.path, name), schema)
            self.redirected += 1
        if isinstance(case.body, dict):
            self._guard_body_ids(case.body, operation)
            for key, collection in ID_LISTS.items():
                ids = case.body.get(key)
                if isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids):
                    own = [i for i in ids if (collection, i) in self.created]
                    if len(own) != len(ids):
                        case.body[key] = own or ["f" * 24 if collection == "patient-profiles" else "9" * 20]
                        self.redirected += 1

    def _guard_body_ids(self, body: dict[str, Any], operation: Any) -> None:
        """Aim a body field naming a record the run did not create at a stand-in (see `BODY_IDS`)."""
        properties = _body_properties(operation)
        for key, collection in BODY_IDS.items():
            value, schema = body.get(key), properties.get(key, {})
            if value is None or (collection, str(value)) in self.created or not _valid(value, schema):
                continue
            body[key] = self._stand_in(collection, schema)
            self.redirected += 1


def _body_properties(operation: Any) -> dict[str, Any]:
    """The properties of `operation`'s JSON body schema, as the spec (resolved by `specs.load`) gives them."""
    content = (operation.definition.raw.get("requestBody") or {}).get("content") or {}
    schema = (content.get("application/json") or {}).get("schema") or {}
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else {}


def _valid(value: Any, schema: dict[str, Any]) -> bool:
    """Would the server accept this path value? Path values travel as text, so "1" is the integer 1."""
    if schema.get("type") == "integer" and isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return False
    if schema.get("format") == "int64" and isinstance(value, int) and not -(2**63) <= value < 2**63:
        return False
    try:
        jsonschema.validate(value, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    except jsonschema.ValidationError:
        return False
    return True


# Schemathesis only offers `before_call`/`after_call` as global hooks; they forward to the guard of the
# run in progress, if any (none during in-process runs of the mock, which is ours to change).
_ACTIVE: list[WriteGuard] = []


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    for guard in _ACTIVE:
        guard.before_call(context, case, kwargs)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    for guard in _ACTIVE:
        guard.after_call(context, case, response)
