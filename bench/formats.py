"""Positive fuzzing with odd-but-valid formats, in-process: what the mock accepts, it must answer.

Schemathesis' own format strategies draw ordinary values (`user@example.com`, `https://example.com`). Here
`email`, `uri`, `date-time`, `date` and `uuid` draw unusual values instead, two times in three: valid by
their RFCs but rare (`ü@x.de`, `"a b"@x.de`, `a@[IPv6:::1]`, IDN hosts; URIs with IPv6 literals, ports,
percent-escapes, non-http schemes; leap seconds, lower-case `t`/`z`, year 0001 and 9999; nil, max and
upper-case UUIDs), and a few that are not valid but that the mock's request checker has let through
(`@`, `a b@x`, `http://127.0.0.1:1/%zz`, `http://[::1`). The rest are Schemathesis' defaults, so the
stateful phase still finds records to chain.

`bench.fuzz.fuzz_api` then runs every phase in positive mode (`generation.mode = "positive"`) round after
round, as the negative soak does. Hard properties: no 5xx, stored data changed only by accepted calls,
every record reads back by id, and every list page reads back (`bench.readback`). A valid value the mock
refuses is a failed `positive_data_acceptance` check: reported, not a hard failure (refusing an odd value
is a choice; failing to answer one it stored is a defect).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi import formats as registry

from bench import fuzz, readback
from mocks import context_of

EMAIL_LOCAL = ("ü", "josé", '"a b"', '"a@b"', "user+tag", "o'brien", "a.b.c", "!#$%&'*+-/=?^_`{|}~", "x" * 64, "Δ")
EMAIL_DOMAIN = ("x.de", "bücher.example", "xn--bcher-kva.example", "[127.0.0.1]", "[IPv6:::1]", "example",
                "EXAMPLE.COM", "a-b.sub.example.org")  # fmt: skip
URI_SCHEME = ("http", "https", "HTTP")
# Loopback only, and ports nothing listens on: a fuzzed webhook is delivered by the in-process mock.
URI_HOST = ("127.0.0.1", "localhost", "[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "bücher.example",
            "xn--bcher-kva.example", "user:pa%20ss@127.0.0.1")  # fmt: skip
URI_PORT = ("", ":1", ":9", ":65535")
URI_PATH = ("", "/", "/%zz", "/<>", "/%F0%9F%98%80", "/ü", "/a?b=c#d", "/a/../b", "/;p=1", "/a%2Fb")
DATE = ("0001-01-01", "9999-12-31", "2024-02-29", "2000-02-29", "1900-01-01", "1970-01-01", "0000-01-01")
TIME = ("T23:59:60", "T00:00:00.000000001", "t12:00:00", "T23:59:59.999999999999", "T00:00:00")
OFFSET = ("Z", "z", "+14:00", "-23:59", "-00:00", "+05:45")
ODD: dict[str, tuple[str, ...]] = {
    "email": ("@", "a b@x", "ü@x.de", '"a b"@x.de', '""@x.de', "a@b@c.de", "a@", "@b.de", "a@[IPv6:::1]"),
    "uri": (
        "http://127.0.0.1:1/%zz",
        "http://127.0.0.1:1/<>",
        "http://[::1",
        "http://[::1]:1/hook",
        "urn:isbn:0451450523",
        "mailto:a@example.com",
        "file:///etc/hosts",
        "http://[fe80::1%25lo]:1/",
        "http://127.0.0.1:1/" + "a" * 2000,
    ),
    "date-time": (
        "2016-12-31T23:59:60Z",
        "1970-01-01T00:00:00.000000001+14:00",
        "2024-01-01t00:00:00z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999-23:59",
    ),
    "date": DATE,
    "uuid": (
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "01890a5d-ac96-774b-bcce-b302099a8057",
        "00000000-0000-8000-8000-000000000000",
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    ),
}


def _joined(*parts: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.tuples(*(st.sampled_from(p) for p in parts)).map("".join)


def odd_values() -> dict[str, st.SearchStrategy[str]]:
    """Per format: the listed oddities, combinations of odd parts, or Schemathesis' default value."""
    defaults = registry.get_default_format_strategies()
    combined = {
        "email": _joined(EMAIL_LOCAL, ("@",), EMAIL_DOMAIN),
        "uri": _joined(URI_SCHEME, ("://",), URI_HOST, URI_PORT, URI_PATH),
        "date-time": _joined(DATE, TIME, OFFSET),
        "date": st.sampled_from(DATE),
        "uuid": st.uuids().map(lambda u: str(u).upper()),
    }
    return {name: st.one_of(st.sampled_from(ODD[name]), combined[name], defaults[name]) for name in ODD}


@contextmanager
def odd_formats() -> Iterator[dict[str, st.SearchStrategy[str]]]:
    """Schemathesis draws these formats from `odd_values()` inside the block; as before after it."""
    strategies = odd_values()
    previous = {name: registry.STRING_FORMATS[name] for name in strategies if name in registry.STRING_FORMATS}
    for name, strategy in strategies.items():
        schemathesis.openapi.format(name, strategy)
    try:
        yield strategies
    finally:
        for name in strategies:
            registry.unregister_string_format(name)
        for name, strategy in previous.items():
            schemathesis.openapi.format(name, strategy)


def fuzz_formats(
    api: str, target: int, examples: int, seed: int, max_rounds: int, time_limit: float, app: Any
) -> dict[str, Any]:
    """Positive fuzzing of `api` with odd formats, then every list page read back."""
    with odd_formats():
        result = fuzz.fuzz_api(api, target, examples, seed, max_rounds, time_limit, mode="positive", app=app)
    from starlette.testclient import TestClient

    exported = context_of(app).store.export().get(api, {})
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        result["lists"] = readback.read_lists(client, api, lambda name: list(exported.get(name, [])))
    result["checks"]["every_list_page_reads_back"] = result["lists"]["ok"]
    result["ok"] = all(result["checks"].values())
    return result
