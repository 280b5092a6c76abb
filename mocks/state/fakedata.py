"""Realistic, synthetic, deterministic values for any schema, chosen by field name and format.

`SchemaFaker.fill(schema, key, given)` returns `given` completed with every schema property it lacks.
Every value is drawn from a stream seeded by (app seed, key), so one resource always gets the same values,
on every call, in any order of calls, in every worker process and after a restart with the same seed.

Fast because the work is done once: each schema is compiled on first use into a plan (`allOf` merged,
references and patterned fields left out, one generator per field chosen by name and format), and
realistic text (names, addresses, companies, sentences) is picked from pools of Faker values that each
process makes once from fixed seeds. Numbers, dates, phones and uuids are drawn directly. Only synthetic
values are produced: `example.com`/`example.org` emails and phone numbers in the fictional 555-01xx range.

Properties that are references to other resources (objects with an `id` property, or arrays of them)
are left to handlers, so fake data never points at something that does not exist.

`reseed(key)` hands seed code the app's Faker itself, seeded from (app seed, key).
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from faker import Faker

Schema = dict[str, Any]
T = TypeVar("T")

EARLIEST = datetime(2023, 1, 1, tzinfo=UTC)
LATEST = datetime(2025, 12, 31, tzinfo=UTC)
BORN_FROM, BORN_TO = date(1935, 1, 1), date(2006, 12, 31)
AREA_CODES = ("202", "312", "415", "617", "718")
EMAIL_DOMAINS = ("example.com", "example.org")
MAX_DEPTH = 4  # nested objects and arrays deeper than this are left empty


def fictional_phone(fake: Faker) -> str:
    """A US number in the 555-0100..555-0199 range, reserved for fiction."""
    return f"+1-{fake.random_element(AREA_CODES)}-555-01{fake.random_int(0, 99):02d}"


def synthetic_email(fake: Faker) -> str:
    return f"{fake.user_name()}@{fake.random_element(EMAIL_DOMAINS)}"


# --- pools: realistic text made by Faker once per process ---------------------------------------------

POOL_SIZE = 128
POOLED: dict[str, Callable[[Faker], str]] = {
    "first_name": lambda f: f.first_name(),
    "last_name": lambda f: f.last_name(),
    "user_name": lambda f: f.user_name(),
    "street_address": lambda f: f.street_address(),
    "secondary_address": lambda f: f.secondary_address(),
    "city": lambda f: f.city(),
    "state_abbr": lambda f: f.state_abbr(),
    "postcode": lambda f: f.postcode(),
    "company": lambda f: f.company(),
    "sentence": lambda f: f.sentence(nb_words=8),
    "uri_path": lambda f: f.uri_path(),
    "word": lambda f: f.word(),
}
_POOL_LOCK = threading.Lock()


@functools.cache
def _pool_maker(locale: str) -> Faker:
    # Unweighted: Faker's frequency-weighted name draws are ~10x slower (58 vs 4 us a first name), which
    # would make building the pools cost more than the start-up fills they replace.
    return Faker(locale, use_weighting=False)


@functools.cache
def pool(locale: str, recipe: str) -> tuple[str, ...]:
    """`POOL_SIZE` values of one `POOLED` recipe, from a seed fixed by its name: the same in every process,
    whichever pool is made first. Made on first use (a few milliseconds), then shared by every app."""
    with _POOL_LOCK:
        fake = _pool_maker(locale)
        fake.seed_instance(int.from_bytes(hashlib.sha256(recipe.encode()).digest()[:8], "big"))
        return tuple(POOLED[recipe](fake) for _ in range(POOL_SIZE))


class Draws:
    """A cheap deterministic random stream: a 512-bit BLAKE2b digest of the seed material read as digits
    of any base (`below(n)`), hashed again whenever fewer than 64 spare bits remain."""

    __slots__ = ("_bits", "_digest", "locale")

    def __init__(self, material: bytes, locale: str = "en_US") -> None:
        self._digest = hashlib.blake2b(material).digest()
        self._bits = int.from_bytes(self._digest, "big")
        self.locale = locale

    def below(self, n: int) -> int:
        """Uniform in `range(n)` (bias under 2**-64)."""
        while self._bits >> 64 < n:
            self._digest = hashlib.blake2b(self._digest).digest()
            self._bits = self._bits << 512 | int.from_bytes(self._digest, "big")
        self._bits, drawn = divmod(self._bits, n)
        return drawn

    def pick(self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]

    def text(self, recipe: str) -> str:
        """A Faker value of `recipe` (a `POOLED` key) from this locale's pool."""
        return pool(self.locale, recipe)[self.below(POOL_SIZE)]


# --- generators: one value from a stream ------------------------------------------------------------

Gen = Callable[[Draws], Any]
DIGITS, LETTERS = string.digits, string.ascii_uppercase
STAMP_SPAN_MS = int((LATEST - EARLIEST).total_seconds() * 1000) + 1


def _phone(d: Draws) -> str:
    return f"+1-{d.pick(AREA_CODES)}-555-01{d.below(100):02d}"


def _email(d: Draws) -> str:
    return f"{d.text('user_name')}@{d.pick(EMAIL_DOMAINS)}"


def _timestamp(d: Draws) -> str:
    moment = EARLIEST + timedelta(milliseconds=d.below(STAMP_SPAN_MS))
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _day_between(start: date, end: date) -> Gen:
    span = (end - start).days + 1
    return lambda d: (start + timedelta(days=d.below(span))).isoformat()


def _bothify(pattern: str) -> Gen:
    """Faker's `bothify(...).upper()`: `#` a digit, `?` a letter."""
    return lambda d: "".join(d.pick(DIGITS) if c == "#" else d.pick(LETTERS) if c == "?" else c for c in pattern)


def _pooled(recipe: str) -> Gen:
    return lambda d: d.text(recipe)


def _constant(value: str) -> Gen:
    return lambda d: value


def _url(d: Draws) -> str:
    return f"https://example.com/{d.text('uri_path')}"


_birth_date = _day_between(BORN_FROM, BORN_TO)
_recent_date = _day_between(EARLIEST.date(), LATEST.date())
_BIRTH = re.compile(r"birth|dob")

# (pattern on the lower-cased property name, generator). First match wins; formats are handled before.
BY_NAME: list[tuple[re.Pattern[str], Gen]] = [
    (re.compile(pattern), gen)
    for pattern, gen in [
        (r"^(first_?name|given)", _pooled("first_name")),
        (r"^(last_?name|family|surname)", _pooled("last_name")),
        (r"(^|_)e?mail$|^email", _email),
        (r"phone|mobile|tel", _phone),
        (r"birth|dob", _birth_date),
        (r"^line_?one$|street", _pooled("street_address")),
        (r"^line_?two$", _pooled("secondary_address")),
        (r"^line_?three$", _constant("")),
        (r"city", _pooled("city")),
        (r"^state$|province|region", _pooled("state_abbr")),
        (r"zip|postal", _pooled("postcode")),
        (r"country", _constant("USA")),
        (r"^note$|notes|context|comment", _pooled("sentence")),
        (r"carrier", lambda d: d.pick(("UPS", "FedEx", "USPS", "DHL"))),
        (r"tracking|^value$", _bothify("1Z###??########")),
        (r"sku", _bothify("SKU-####-??")),
        (r"model", _bothify("MX-###")),
        (r"language", _constant("en")),
        (r"url|uri|link", _url),
        (r"time|_at$|date", _timestamp),
        (r"session_name", lambda d: f"Session {100 + d.below(900)}"),
        (r"demographic", _constant("")),
        (r"name", _pooled("company")),
    ]
]

BY_FORMAT: dict[str, Gen] = {
    "email": _email,
    "date-time": _timestamp,
    "uuid": lambda d: str(uuid.UUID(int=d.below(1 << 128), version=4)),
    "uri": _url,
}


# --- plans: a schema compiled once into generators ----------------------------------------------------

Plan = tuple[tuple[str, Gen], ...]


def _is_reference(schema: Schema) -> bool:
    if schema.get("type") == "array":
        return _is_reference(schema.get("items", {}))
    return "id" in schema.get("properties", {})


def merged(schema: Schema) -> Schema:
    """`allOf` parts merged into one schema (a wrapped plain type keeps its keywords); for `oneOf`/`anyOf`
    the first branch, with the keywords beside it. Builds new dicts: the spec is never modified."""
    if "allOf" in schema:
        result: Schema = {k: v for k, v in schema.items() if k != "allOf"}
        for part in map(merged, schema["allOf"]):
            for key, value in part.items():
                if key == "properties":
                    result["properties"] = {**result.get("properties", {}), **value}
                elif key == "required":
                    result["required"] = [*result.get("required", []), *value]
                else:
                    result.setdefault(key, value)
        return result
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return merged({**{k: v for k, v in schema.items() if k != key}, **schema[key][0]})
    return schema


def plan(schema: Schema, depth: int = 0) -> Plan:
    """(property, generator) for every property of an object schema that fake data fills: not `id`, not a
    reference, not a patterned string (handlers own those), not `readOnly: false`."""
    fields = []
    for name, prop in schema.get("properties", {}).items():
        prop = merged(prop)
        if prop.get("readOnly") is False or _is_reference(prop) or name == "id":
            continue
        gen = generator(prop, name, depth + 1)
        if gen is not None:
            fields.append((name, gen))
    return tuple(fields)


def generator(schema: Schema, name: str, depth: int = 0) -> Gen | None:
    """What makes one value of a (merged) schema, or None when fake data leaves it to handlers."""
    if "enum" in schema:
        options = tuple(v for v in schema["enum"] if v is not None)
        return lambda d: d.pick(options)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    return KINDS.get(kind, _string)(schema, name, depth)


def _object(schema: Schema, name: str, depth: int) -> Gen:
    if depth >= MAX_DEPTH:
        return lambda d: {}
    fields = plan(schema, depth)
    return lambda d: {field: gen(d) for field, gen in fields}


def _array(schema: Schema, name: str, depth: int) -> Gen:
    item = None if depth >= MAX_DEPTH else generator(merged(schema.get("items", {})), name.rstrip("s"), depth + 1)
    if item is None:
        return lambda d: []
    count = range(max(1, min(2, schema.get("minItems", 1))))
    return lambda d: [item(d) for _ in count]


def _number(schema: Schema, name: str, depth: int) -> Gen:
    low = int(schema.get("minimum", 0))
    span = max(1, int(schema.get("maximum", max(low, 100))) - low + 1)
    cast = int if schema.get("type") == "integer" else float
    return lambda d: cast(low + d.below(span))


def _string(schema: Schema, name: str, depth: int) -> Gen | None:
    fmt, lowered = schema.get("format"), name.lower()
    if fmt == "date":
        gen = _birth_date if _BIRTH.search(lowered) else _recent_date
    elif fmt in BY_FORMAT:
        gen = BY_FORMAT[fmt]
    elif "pattern" in schema:
        return None
    else:
        gen = next((g for pattern, g in BY_NAME if pattern.search(lowered)), _pooled("word"))
    limit = schema.get("maxLength")
    return (lambda d: gen(d)[:limit]) if isinstance(limit, int) else gen


KINDS: dict[str, Callable[[Schema, str, int], Gen | None]] = {
    "object": _object,
    "array": _array,
    "boolean": lambda schema, name, depth: lambda d: d.below(2) == 1,
    "integer": _number,
    "number": _number,
    "string": _string,
}


class SchemaFaker:
    """Fills schemas with deterministic fake data, one stream per resource key."""

    def __init__(self, seed: int, locale: str = "en_US") -> None:
        self.seed = seed
        self.locale = locale
        self.fake = Faker(locale)
        self._plans: dict[int, tuple[Schema, Plan]] = {}  # by id(schema); holding the schema keeps the id

    def reseed(self, key: str) -> Faker:
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
        self.fake.seed_instance(int.from_bytes(digest[:8], "big"))
        return self.fake

    def draws(self, key: str) -> Draws:
        return Draws(f"{self.seed}:{key}".encode(), self.locale)

    def fill(self, schema: Schema, key: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """`given` plus a value for every missing, non-reference property of an object schema. Every
        property is drawn, given or not, so a property's value never depends on what else was given."""
        draws, result = self.draws(key), dict(given or {})
        for name, gen in self._plan(schema):
            value = gen(draws)
            result.setdefault(name, value)
        return result

    def value(self, schema: Schema, name: str = "", key: str | None = None) -> Any:
        """One value for `schema`, from `key`'s stream, or else from the Faker's current (reseeded) state."""
        draws = self.draws(key) if key is not None else Draws(self.fake.random.randbytes(32), self.locale)
        gen = generator(merged(schema), name)
        return _SKIP if gen is None else gen(draws)

    def _plan(self, schema: Schema) -> Plan:
        known = self._plans.get(id(schema))
        if known is None or known[0] is not schema:
            known = self._plans[id(schema)] = (schema, plan(merged(schema)))
        return known[1]


_SKIP: Any = object()

__all__ = ["Draws", "SchemaFaker", "fictional_phone", "merged", "synthetic_email"]
