"""Time as the vendors write it."""

from __future__ import annotations

import time
from collections.abc import Callable

_SECOND: tuple[int, str] = (0, "1970-01-01T00:00:00")  # the last second formatted, and its text


def now_iso(clock: Callable[[], float] = time.time) -> str:
    """The current UTC time to the millisecond, `2026-11-21T13:06:11.714Z`. Each second is formatted once
    (0.5 us a call instead of 1.5 us with `datetime.isoformat`: it is on every write's path)."""
    global _SECOND
    now = clock()
    second = int(now)
    cached = _SECOND
    if cached[0] != second:
        cached = _SECOND = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{int((now - second) * 1000):03d}Z"
