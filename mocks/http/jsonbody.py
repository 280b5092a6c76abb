"""The one JSON parse of request bodies: both request paths (Connexion's body validator in
mocks/http/validation.py and the compiled dispatcher in mocks/http/fast_path.py) call `loads`, so they give the
same verdict on every body.

Python's `json` module accepts more than JSON and less than the mock can hold; `loads` refuses, as a
malformed body (a 4xx in the vendor's shape, never a 500):
- `NaN`, `Infinity`, `-Infinity` (not JSON, RFC 8259 section 6) and numbers too large for a 64-bit
  float (`1e999`): the mock could not write them back as JSON;
- integers of more than 4,300 digits (Python's limit on converting them, `sys.get_int_max_str_digits`);
- strings holding an unpaired UTF-16 surrogate escape (`"\\ud800"`): not Unicode text, so not writable as
  UTF-8 (RFC 8259 section 8.2; I-JSON, RFC 7493, forbids them; PHP's `json_decode`, behind Legit.Health,
  refuses them too). Paired escapes (`"\\ud83d\\ude00"`, an emoji as ASCII JSON writers send it) are fine;
- arrays and objects nested deeper than `MAX_DEPTH` levels, a limit that protects the mock itself:
  Python's recursion (parsing, validating, serializing) would otherwise fail near 1,000 levels. 512 is
  PHP's `json_decode` default; Jackson's default is 1,000.
"""

from __future__ import annotations

import json
import math
import re
import sys
from array import array
from itertools import accumulate
from typing import Any

from mocks.http.errors import MockError, Violation, validation_failed

__all__ = ["MAX_DEPTH", "loads"]

MAX_DEPTH = 512
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # the only way a surrogate reaches a str from UTF-8 text
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # as signed bytes: +1 per opening, -1 per closing


class _NotJSONError(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _NotJSONError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NotJSONError(f"the number {text[:40]} is too large for a 64-bit float (a limit of this mock)")
    return value


def _deeper_than(text: str, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit` (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= limit:  # cannot be deeper: most bodies stop here
        return False
    steps = _STRING.sub(b"", text.encode("utf-8", "surrogatepass")).translate(_STEPS, _NOT_BRACKETS)
    return max(accumulate(array("b", steps)), default=0) > limit


def _malformed(reason: str) -> MockError:
    return validation_failed([Violation("body", f"is not valid JSON: {reason}")])


def loads(raw: bytes, encoding: str = "utf-8") -> Any:
    """The JSON value of a request body; a `MockError` (400/422 in the vendor's shape) when it is not one
    the mock takes: not `encoding` text, malformed, or beyond the limits above."""
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise validation_failed([Violation("body", f"is not valid {encoding} text: {exc}")]) from exc
    if _deeper_than(text, MAX_DEPTH):
        raise _malformed(f"arrays and objects nest deeper than {MAX_DEPTH} levels (a limit of this mock)")
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float)
    except _NotJSONError as exc:
        raise _malformed(str(exc)) from exc
    except json.JSONDecodeError as exc:
        raise _malformed(str(exc)) from exc
    except ValueError as exc:  # only integer conversion raises another ValueError
        limit = sys.get_int_max_str_digits()
        raise _malformed(f"an integer has more than {limit} digits (a limit of this mock)") from exc
    except RecursionError as exc:  # not reached below MAX_DEPTH; kept so that no nesting becomes a 500
        raise _malformed(f"arrays and objects nest deeper than {MAX_DEPTH} levels (a limit of this mock)") from exc
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise _malformed("a string holds an unpaired UTF-16 surrogate escape (e.g. \\ud800), which is not Unicode text")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a parsed value holds a lone surrogate (the decoder joins paired escapes into one character)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
