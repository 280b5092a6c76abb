"""Pure rules of the Legit.Health deep-link API: timestamps, encounter status, tracking plans, login links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

LOGIN_URL = "https://app.legit.health/u/home"
TOKEN_TTL = timedelta(hours=1)

_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<zone>[Zz]|[+-]\d{2}:\d{2})$"
)


def iso(moment: datetime) -> str:
    """A UTC timestamp as the API writes it: `2026-01-15T09:30:00.000Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime:
    """An aware datetime from an RFC 3339 date-time (any fraction length; `Z` or an offset)."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"expected an RFC 3339 date-time, got {text!r}")
    fraction = (match["frac"] or "0")[:6].ljust(6, "0")
    zone = "+00:00" if match["zone"] in ("Z", "z") else match["zone"]
    return datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{zone}")


def encounter_status(planned_for: str, now: datetime) -> str:
    """`scheduled` when `planned_for` is after `now`; `ready` when it is now or past."""
    return "scheduled" if parse_timestamp(planned_for) > now else "ready"


def tracking_plan(start: datetime, every_days: int, occurrences: int) -> list[datetime]:
    """`occurrences` moments `every_days` apart, the first one period after `start`."""
    return [start + timedelta(days=every_days * n) for n in range(1, occurrences + 1)]


def login_link(token: str, refresh_token: str) -> str:
    return f"{LOGIN_URL}?token={token}&refresh_token={refresh_token}"


def condition_status(has_active_episode: bool) -> str:
    """A condition is `active` while one of its episodes of care is active, else `paused`."""
    return "active" if has_active_episode else "paused"
