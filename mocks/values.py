"""Parsers for the values people type: delays (`200`, `50-300`), error rates (`0.05`), `Prefer` headers, `STATE`.

Each raises `ValueError` with one line saying what was given, what is expected and an example.
"""

from __future__ import annotations

import re

Delay = tuple[int, int]  # (min ms, max ms); (0, 0) means no delay
MAX_DELAY_MS = 120_000
# ASCII digits, at most 9: more cannot be a delay under MAX_DELAY_MS (and Python refuses to convert 4,300+)
_DELAY = re.compile(r"^\s*([0-9]{1,9})\s*(?:-\s*([0-9]{1,9})\s*)?$")
_PREFERENCE = re.compile(r'\s*([A-Za-z][\w-]*)\s*(?:=\s*("[^"]*"|[^,;\s]*))?\s*')


def parse_delay(text: str, name: str = "delay") -> Delay:
    """`"200"` -> (200, 200); `"50-300"` -> (50, 300), in milliseconds."""
    match = _DELAY.match(text)
    if not match:
        shown = repr(text) if len(text) <= 40 else f"{text[:30]!r}... ({len(text)} chars)"
        raise ValueError(f"{name}={shown} is not a delay in ms; use e.g. {name}=200 or {name}=50-300")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) is not None else low
    if low > high:
        raise ValueError(f"{name}={text!r}: the range is reversed; use e.g. {name}={high}-{low}")
    if high > MAX_DELAY_MS:
        raise ValueError(f"{name}={text!r}: at most {MAX_DELAY_MS} ms; use e.g. {name}=50-300")
    return low, high


def parse_rate(text: str, name: str = "error rate") -> float:
    """A probability between 0 and 1, e.g. `"0.05"`."""
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name}={text!r} is not a rate between 0 and 1; use e.g. {name}=0.05 (5% of requests)")
    return rate


def parse_prefer(values: list[str]) -> dict[str, str]:
    """Preferences of every `Prefer` header (RFC 7240): `code=404, example=notFound` -> {"code": "404", ...}.

    Parameters after `;` are ignored, as are preferences without a value; the first occurrence of a name wins.
    """
    found: dict[str, str] = {}
    for header in values:
        for item in header.split(","):
            match = _PREFERENCE.match(item.split(";", 1)[0])
            if match and match.group(2) is not None:
                found.setdefault(match.group(1).lower(), match.group(2).strip('"'))
    return found


def shown_state(state_file: str) -> str:
    """`STATE` as messages show it: a database URL without its password."""
    head, at, tail = state_file.rpartition("@")
    if not at or not is_database(state_file):
        return state_file
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":")[0]
    return f"{scheme}://{user}:***@{tail}" if ":" in credentials else state_file


def is_database(state_file: str) -> bool:
    return state_file.startswith(("postgresql://", "postgres://"))
