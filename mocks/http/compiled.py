"""Per-request work done once: compiled response validators (jsonschema-rs) and orjson serialization.

Connexion builds a Python jsonschema validator for every response and serializes with the standard
`json` module. Both are plugged in through Connexion's own extension points instead: a `response` entry
in the `validator_map` and a `Jsonifier` around orjson. Schemas are OpenAPI 3.0, so they are translated
once to JSON Schema Draft 4 (`nullable` -> a null type) before compiling.
"""

from __future__ import annotations

import json
import typing as t
from collections import OrderedDict

import jsonschema_rs
import orjson
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import NonConformingResponseBody
from connexion.jsonifier import Jsonifier
from connexion.validators import AbstractResponseBodyValidator, TextResponseBodyValidator

from mocks.http.formats import FORMATS

Schema = dict[str, t.Any]
# OpenAPI-only keywords with no JSON Schema meaning (and `components`, which Connexion attaches to every
# schema it hands out; the bundled specs have no `$ref` left, so it is dead weight for a compiler).
DROPPED = {"nullable", "discriminator", "example", "examples", "xml", "externalDocs", "deprecated",
           "readOnly", "writeOnly", "components"}  # fmt: skip
NESTED_ONE = ("items", "additionalProperties", "not")
NESTED_MANY = ("allOf", "anyOf", "oneOf")


def to_json_schema(schema: t.Any) -> t.Any:
    """An OpenAPI 3.0 schema object as a JSON Schema Draft 4 document."""
    if not isinstance(schema, dict):
        return schema
    out: Schema = {k: v for k, v in schema.items() if k not in DROPPED and not k.startswith("x-")}
    if out.get("format") not in FORMATS:  # checked in neither direction (mocks/http/formats.py)
        out.pop("format", None)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: to_json_schema(sub) for name, sub in out["properties"].items()}
    for key in NESTED_ONE:
        if isinstance(out.get(key), dict):
            out[key] = to_json_schema(out[key])
    for key in NESTED_MANY:
        if isinstance(out.get(key), list):
            out[key] = [to_json_schema(sub) for sub in out[key]]
    if schema.get("nullable") is True:
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


class _IdentityCache:
    """Values keyed by the identity of a schema dict (Connexion hands out the same objects), bounded."""

    def __init__(self, build: t.Callable[[Schema], t.Any], limit: int = 4096) -> None:
        self._build, self._limit = build, limit
        self._items: OrderedDict[int, tuple[Schema, t.Any]] = OrderedDict()

    def __call__(self, schema: Schema) -> t.Any:
        hit = self._items.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1]
        value = self._build(schema)
        self._items[id(schema)] = (schema, value)  # the schema is pinned, so its id cannot be reused
        if len(self._items) > self._limit:
            self._items.popitem(last=False)
        return value


# Formats by the same table as requests: what the mock accepted, it can answer (mocks/http/formats.py).
compiled_response_validator = _IdentityCache(
    lambda schema: jsonschema_rs.Draft4Validator(to_json_schema(schema), validate_formats=True, formats=FORMATS)
)


class CompiledJSONResponseValidator(AbstractResponseBodyValidator):
    """Connexion's JSON response check, with a compiled, cached validator and orjson parsing."""

    def _parse(self, stream: t.Generator[bytes, None, None]) -> t.Any:
        body = b"".join(stream)
        if not body:
            return None
        try:  # the standard library keeps integers beyond 64 bits exact (orjson reads them as floats)
            return json.loads(body)
        except ValueError as exc:
            raise NonConformingResponseBody(str(exc)) from exc

    def _validate(self, body: t.Any) -> dict | None:
        problem = response_problem(self._schema, body)
        if problem:
            raise NonConformingResponseBody(detail=problem)
        return None


def response_problem(schema: Schema, body: t.Any) -> str | None:
    """Why `body` does not conform to a response schema, or None when it does (both request paths)."""
    validator = compiled_response_validator(schema)
    try:
        if validator.is_valid(body):
            return None
    except (TypeError, ValueError):  # values JSON would write differently (tuples, huge integers ...)
        body = json.loads(JSONIFIER.dumps(body))
        if validator.is_valid(body):
            return None
    error = next(iter(validator.iter_errors(body)))
    where = "/".join(str(p) for p in error.instance_path) or "<root>"
    return f"Response body does not conform to specification. {error.message} (at {where})"


RESPONSE_VALIDATORS = MediaTypeDict({"*/*json": CompiledJSONResponseValidator, "text/plain": TextResponseBodyValidator})


class _Orjson:
    """The `json`-module interface Connexion's Jsonifier expects, backed by orjson."""

    # JSON may carry lone UTF-16 surrogates as escapes ("\\ud8bb"); orjson refuses them, the standard
    # library round-trips them. Such strings are rare, so only they take the slow path.
    @staticmethod
    def dumps(data: t.Any, **_: t.Any) -> str:
        try:
            return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            return json.dumps(data)

    @staticmethod
    def loads(data: str | bytes) -> t.Any:
        return json.loads(data)  # exact: orjson reads integers beyond 64 bits as floats


JSONIFIER = Jsonifier(_Orjson)
_AS_CONNEXION = orjson.OPT_APPEND_NEWLINE
_NON_STR_KEYS = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


def dumps_bytes(data: t.Any) -> bytes:
    """The bytes Connexion sends for `data` (`JSONIFIER.dumps(data)` encoded), without the str round trip.
    Keys that are not strings are rare, and orjson's option for them doubles the time of every call (a page
    of 15 patients: 7.4 -> 14.1 us), so it is used only when orjson refuses without it."""
    try:
        return orjson.dumps(data, option=_AS_CONNEXION)
    except TypeError:
        pass
    try:
        return orjson.dumps(data, option=_NON_STR_KEYS)
    except TypeError:
        return JSONIFIER.dumps(data).encode()
