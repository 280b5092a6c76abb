"""JSON for the mock's own routes (`/__mock/*`): strict, never failing to encode, secrets masked.

The vendor APIs answer what their specs say. The admin routes show whatever was sent or stored, so one odd
value (NaN, a lone UTF-16 surrogate, deep nesting) must not make them answer 500 for everyone:
- `loads` accepts a body only if it is strict JSON (RFC 8259) that `dumps` writes back as it came;
- `dumps` writes any value parsed JSON can hold as strict JSON, valid UTF-8 (`JSONResponse` answers with it);
- `redacted` masks the values of secret-bearing fields (`SECRET_FIELDS`), keeping the structure;
  `redacted_text` does so in text that is not strict JSON (NaN, a lone surrogate, cut short ...).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson
from starlette import responses

MASK = "***"
# fields whose values are credentials: Impilo's webhook secret, Heidi's JWT, Legit.Health's token pair ...
SECRET_FIELDS = frozenset({"secret", "token", "refresh_token", "access_token", "password"})
MAX_DEPTH = 200  # containers nested deeper are written as a note (orjson writes at most 254 levels)
TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels>"
# `"secret": <a string, possibly cut short, or a bare scalar but null>` in JSON text
_SECRET_IN_TEXT = re.compile(
    rf'("(?:{"|".join(sorted(SECRET_FIELDS))})"\s*:\s*)(?:"(?:[^"\\]|\\.)*"?|(?!null\b)[^\s,{{}}\[\]]+)'
)


def loads(raw: bytes) -> Any:
    """`raw` parsed, if it is strict JSON that `dumps` writes back unchanged; ValueError if not (NaN or
    Infinity, a number beyond a double's range, invalid UTF-8, a lone surrogate, nesting orjson cannot write)."""
    try:
        orjson.dumps(orjson.loads(raw))  # orjson's verdicts: RFC 8259 when reading, its depth limit when writing
    except TypeError as exc:  # orjson.JSONEncodeError
        raise ValueError(f"not writable as JSON: {exc}") from exc
    return json.loads(raw)  # the same value, with every digit of integers beyond 64 bits (orjson reads floats)


def dumps(data: Any) -> bytes:
    """`data` as strict JSON in UTF-8: NaN and Infinity as null, lone surrogates as `\\u` escapes, containers
    nested deeper than `MAX_DEPTH` as a note. orjson first; the standard library for what orjson refuses."""
    try:
        return _encoded(data)
    except (ValueError, RecursionError):  # NaN beside what orjson refuses, or nesting too deep to recurse
        return _encoded(_writable(data))


def _encoded(data: Any) -> bytes:
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)  # writes NaN and Infinity as null
    except TypeError:  # lone surrogates, integers beyond 64 bits, nesting beyond 254 levels
        return json.dumps(data, allow_nan=False).encode()  # ASCII: a lone surrogate as its escape


def _writable(value: Any, depth: int = 0) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not isinstance(value, dict | list | tuple):
        return value
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {key: _writable(item, depth + 1) for key, item in value.items()}
    return [_writable(item, depth + 1) for item in value]


def redacted(value: Any, depth: int = 0) -> Any:
    """`value` with the value of every field named in `SECRET_FIELDS`, at any depth, replaced by `MASK` (null
    stays null: no secret is set; containers nested deeper than `MAX_DEPTH` as a note, as `dumps` writes them)."""
    if not isinstance(value, dict | list | tuple):
        return value
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {
            key: MASK if key in SECRET_FIELDS and item is not None else redacted(item, depth + 1)
            for key, item in value.items()
        }
    return [redacted(item, depth + 1) for item in value]


def redacted_text(text: str) -> str:
    """`text` (JSON that is not strict, or cut short) with the value of every field named in `SECRET_FIELDS`
    but null replaced by `"***"`."""
    return _SECRET_IN_TEXT.sub(rf'\1"{MASK}"', text)


class JSONResponse(responses.JSONResponse):
    """Starlette's JSONResponse, written by `dumps`: strict JSON that cannot fail to encode."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
