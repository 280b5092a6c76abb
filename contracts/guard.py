"""Keep a contract run from changing anything it did not create itself.

On a shared staging server, fuzzed or example ids in `PUT /patient/0` or a batch delete could hit real
records. The guard remembers every id the run's own creates returned (any `id`/`session_id` in a 2xx POST
body) and, before each unsafe call, replaces a schema-valid path id it did not create with a sentinel id
that cannot exist, and drops foreign ids from id lists in bodies. The server then answers 404, and
nothing that was there before the run is touched. Invalid values are left alone: they test rejection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jsonschema
import schemathesis

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Reads with a side effect: minting login links can e-mail the patient.
UNSAFE_OPERATIONS = {"getPatientsAuthTokens"}
ID_LIST_FIELDS = ("patient_profile_ids", "session_ids")
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


def _ids_in(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("id", "session_id") and isinstance(item, (str, int)):
                found.add(str(item))
            _ids_in(item, found)
    elif isinstance(value, list):
        for item in value:
            _ids_in(item, found)


class WriteGuard:
    def __init__(self) -> None:
        self.created: set[str] = set()
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

    def after_call(self, context: Any, case: Any, response: Any) -> None:
        if case.method.upper() == "POST" and 200 <= response.status_code < 300:
            try:
                body = response.json()
            except ValueError:
                return
            found: set[str] = set()
            _ids_in(body, found)
            with self._lock:
                self.created |= found

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
            if value is None or str(value) in self.created or not _valid(value, schema):
                continue
            case.path_parameters[name] = sentinel_for(schema)
            self.redirected += 1
        if isinstance(case.body, dict):
            for key in ID_LIST_FIELDS:
                ids = case.body.get(key)
                if isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids):
                    own = [i for i in ids if i in self.created]
                    if len(own) != len(ids):
                        case.body[key] = own or ["f" * 24 if key == "patient_profile_ids" else "9" * 20]
                        self.redirected += 1


def _valid(value: Any, schema: dict[str, Any]) -> bool:
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
