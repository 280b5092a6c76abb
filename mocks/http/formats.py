"""The one `format` rule of the mock, for what it accepts and what it answers alike.

A value the mock accepted is stored and later answered; if responses were checked by a stricter rule
than requests, that record would make every page holding it fail response validation (a 500 for
everyone until a reset). So requests (the Python validator that words errors, and the compiled request
gate) and responses (the compiled response validators) all use the functions below, and a `format`
not listed here is checked in neither direction.

The rules are deliberately permissive: the mock must never refuse what a vendor would take, and the
three vendors check formats differently (an email with a non-ASCII or quoted local part is a real
address). They never raise: a value a parser cannot take is simply not of the format.
"""

from __future__ import annotations

import re
import typing as t
from datetime import date
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from rfc3339_validator import validate_rfc3339

__all__ = ["FORMATS", "FORMAT_CHECKER", "INT_FORMATS"]

StringCheck = t.Callable[[str], bool]
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _is_email(value: str) -> bool:
    """An `@` somewhere, jsonschema's own rule: anything stricter would refuse addresses some vendor takes."""
    return "@" in value


def _is_uri(value: str) -> bool:
    """A scheme and an authority or path, no whitespace or control characters (RFC 3986 has none)."""
    if _CONTROL_OR_SPACE.search(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "http://[::1": an unclosed IPv6 literal
        return False
    return bool(parts.scheme and (parts.netloc or parts.path))


def _is_uuid(value: str) -> bool:
    """The hyphenated form, any case (what `str(UUID(value)) == value.lower()` accepts, without building one)."""
    return _UUID.fullmatch(value) is not None


def _is_date(value: str) -> bool:
    try:
        return len(value) == 10 and bool(date.fromisoformat(value))
    except ValueError:
        return False


def _is_date_time(value: str) -> bool:
    return bool(validate_rfc3339(value))


def _from_jsonschema(name: str) -> StringCheck:
    checker = Draft202012Validator.FORMAT_CHECKER
    return lambda value: checker.conforms(value, name)


# format name -> check of a string value. jsonschema's own checks first (those the specs do not use, kept
# so that no format is left to jsonschema-rs' stricter built-ins), then ours.
FORMATS: dict[str, StringCheck] = {
    **{name: _from_jsonschema(name) for name in Draft202012Validator.FORMAT_CHECKER.checkers},
    "email": _is_email,
    "idn-email": _is_email,
    "uri": _is_uri,
    "uuid": _is_uuid,
    "date": _is_date,
    "date-time": _is_date_time,
}
# Formats of integers (OpenAPI's): bounds, not string checks. The request gate turns them into
# `minimum`/`maximum` (mocks/http/validation.py); jsonschema-rs checks formats of strings only.
INT_FORMATS = {"int32": 2**31, "int64": 2**63}


def _on_strings(check: StringCheck) -> t.Callable[[object], bool]:
    return lambda value: not isinstance(value, str) or check(value)


def _in_range(bound: int) -> t.Callable[[object], bool]:
    return lambda value: not isinstance(value, int) or isinstance(value, bool) or -bound <= value < bound


def _build_format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name)(_on_strings(check))
    for name, bound in INT_FORMATS.items():
        checker.checks(name)(_in_range(bound))
    return checker


FORMAT_CHECKER = _build_format_checker()
