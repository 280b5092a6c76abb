"""Per-request scenario control: the `Prefer` header and its `__code` / `__example` / `__delay` query forms.

`ScenarioMiddleware` runs before Connexion's routing: it removes the `__*` query parameters (so strict
validation never sees them), parses the preferences into a `Scenario` kept in the ASGI scope, and waits
for the asked delay (or the API's simulated latency). Forcing the response happens later, once
credentials are checked (`forced.ForcedResponseMiddleware`). A malformed value is reported there too, so
a request with bad credentials is always a 401 first.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Receive, Scope, Send

from mocks.config import MockConfig
from mocks.dx.traffic import vendor_api
from mocks.http.full_chain import FullChain
from mocks.values import Delay, parse_delay, parse_prefer
from mocks.vendor import Vendor

SCOPE_KEY = "mock_scenario"
QUERY_FALLBACKS = {"__code": "code", "__example": "example", "__delay": "delay"}
_STATUS = re.compile(r"[1-5][0-9][0-9]")  # ASCII digits only: never `int()` of thousands of digits or of "²"


@dataclass(frozen=True)
class Scenario:
    """What one request asked for. `problem` is set when a value could not be understood."""

    code: int | None = None
    example: str | None = None
    delay_ms: Delay | None = None
    problem: str | None = None

    @property
    def forces_response(self) -> bool:
        return self.code is not None or self.example is not None


NO_SCENARIO = Scenario()


def split_query(query_string: bytes) -> tuple[bytes, dict[str, str]]:
    """The query string without the `__*` fallbacks (other bytes untouched), and the fallbacks' values."""
    kept, found = [], {}
    for part in query_string.split(b"&"):
        raw_name, _, raw_value = part.partition(b"=")
        name = unquote_plus(raw_name.decode("latin-1"))
        if name in QUERY_FALLBACKS:
            found[QUERY_FALLBACKS[name]] = unquote_plus(raw_value.decode("latin-1"))
        elif part:
            kept.append(part)
    return b"&".join(kept), found


def scenario_of(preferences: Mapping[str, str]) -> Scenario:
    """A `Scenario` from `code`, `example` and `delay` preferences; unknown preferences are ignored."""
    code, example, delay = preferences.get("code"), preferences.get("example"), preferences.get("delay")
    problems = []
    if code is not None and not _STATUS.fullmatch(code):
        problems.append(f"code={code[:40]!r} is not an HTTP status; use e.g. code=404")
    delay_ms = None
    if delay is not None:
        try:
            delay_ms = parse_delay(delay)
        except ValueError as exc:
            problems.append(str(exc))
    return Scenario(
        code=int(code) if code is not None and not problems else None,
        example=example or None,
        delay_ms=delay_ms,
        problem="; ".join(problems) or None,
    )


class Simulator:
    """Seeded randomness for latency and injected errors: one stream per API and purpose, so the same
    `SEED` and the same requests give the same delays and failures on a replay."""

    def __init__(self, config: MockConfig, apis: Sequence[str]) -> None:
        self.config = config
        self._streams = {
            (api, purpose): random.Random(f"{config.seed}:{api}:{purpose}")
            for api in apis
            for purpose in ("latency", "errors")
        }

    def delay_seconds(self, api: str, asked: Delay | None) -> float:
        low, high = asked if asked is not None else self.config.conditions_for(api).latency_ms
        if high <= 0:
            return 0.0
        return self._streams[(api, "latency")].randint(low, high) / 1000

    def injected_status(self, api: str, candidates: list[int]) -> int | None:
        """One of `candidates` for a share `error_rate` of calls, else None; never draws without candidates."""
        rate = self.config.conditions_for(api).error_rate
        if not candidates or rate <= 0:
            return None
        stream = self._streams[(api, "errors")]
        return stream.choice(candidates) if stream.random() < rate else None


class ScenarioMiddleware:
    """ASGI middleware (before routing): strip `__*` query fallbacks, keep the `Scenario`, apply delays."""

    def __init__(self, app: ASGIApp, simulator: Simulator, vendors: Sequence[Vendor]) -> None:
        self.app, self.simulator, self.vendors = app, simulator, vendors

    @classmethod
    def full_chain(cls, simulator: Simulator, vendors: Sequence[Vendor], **_: Any) -> FullChain:
        """A `Prefer` header, a `__*` query parameter (any `__`: the check is on raw bytes) or an API with
        simulated latency: this middleware must see the request."""
        config = simulator.config
        slow = frozenset(api.name for api in vendors if config.conditions_for(api.name).latency_ms != (0, 0))

        def needs(api: str, scope: Scope, headers: Mapping[bytes, bytes]) -> bool:
            return b"prefer" in headers or b"__" in scope["query_string"] or api in slow

        return FullChain("scenario", needs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api = vendor_api(scope["path"], self.vendors) if scope["type"] == "http" else None
        if api is None:
            await self.app(scope, receive, send)
            return
        query, from_query = split_query(scope.get("query_string", b""))
        headers = [v.decode("latin-1") for k, v in scope["headers"] if k == b"prefer"]
        scenario = scope.setdefault("extensions", {})[SCOPE_KEY] = scenario_of({**parse_prefer(headers), **from_query})
        scope["query_string"] = query
        delay = self.simulator.delay_seconds(api.name, scenario.delay_ms)
        if delay:
            await asyncio.sleep(delay)
        await self.app(scope, receive, send)
