"""Realistic, synthetic, deterministic values for any schema, chosen by field name and format.

`SchemaFaker.fill(schema, key, given)` returns `given` completed with every schema property it lacks.
The Faker instance is re-seeded from (app seed, key) before each fill, so one resource always gets the
same values, on every call and after a restart with the same seed. Only synthetic values are produced:
`example.com`/`example.org` emails and phone numbers in the fictional 555-01xx range.

Properties that are references to other resources (objects with an `id` property, or arrays of them)
are left to handlers, so fake data never points at something that does not exist.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from faker import Faker

Schema = dict[str, Any]
Maker = Callable[[Faker], Any]

EARLIEST = datetime(2023, 1, 1, tzinfo=UTC)
LATEST = datetime(2025, 12, 31, tzinfo=UTC)


def fictional_phone(fake: Faker) -> str:
    """A US number in the 555-0100..555-0199 range, reserved for fiction."""
    return f"+1-{fake.random_element(['202', '312', '415', '617', '718'])}-555-01{fake.random_int(0, 99):02d}"


def synthetic_email(fake: Faker) -> str:
    return f"{fake.user_name()}@{fake.random_element(['example.com', 'example.org'])}"


def _timestamp(fake: Faker) -> str:
    moment = fake.date_time_between(start_date=EARLIEST, end_date=LATEST, tzinfo=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _birth_date(fake: Faker) -> str:
    return fake.date_between(start_date=date(1935, 1, 1), end_date=date(2006, 12, 31)).isoformat()


# (pattern on the lower-cased property name, maker). First match wins; formats are handled before.
BY_NAME: list[tuple[str, Maker]] = [
    (r"^(first_?name|given)", lambda f: f.first_name()),
    (r"^(last_?name|family|surname)", lambda f: f.last_name()),
    (r"(^|_)e?mail$|^email", synthetic_email),
    (r"phone|mobile|tel", fictional_phone),
    (r"birth|dob", _birth_date),
    (r"^line_?one$|street", lambda f: f.street_address()),
    (r"^line_?two$", lambda f: f.secondary_address()),
    (r"^line_?three$", lambda f: ""),
    (r"city", lambda f: f.city()),
    (r"^state$|province|region", lambda f: f.state_abbr()),
    (r"zip|postal", lambda f: f.postcode()),
    (r"country", lambda f: "USA"),
    (r"^note$|notes|context|comment", lambda f: f.sentence(nb_words=8)),
    (r"carrier", lambda f: f.random_element(["UPS", "FedEx", "USPS", "DHL"])),
    (r"tracking|^value$", lambda f: f.bothify("1Z###??########").upper()),
    (r"sku", lambda f: f.bothify("SKU-####-??").upper()),
    (r"model", lambda f: f.bothify("MX-###").upper()),
    (r"language", lambda f: "en"),
    (r"url|uri|link", lambda f: f"https://example.com/{f.uri_path()}"),
    (r"time|_at$|date", _timestamp),
    (r"session_name", lambda f: f"Session {f.random_int(100, 999)}"),
    (r"demographic", lambda f: ""),
    (r"name", lambda f: f.company()),
]

BY_FORMAT: dict[str, Maker] = {
    "email": synthetic_email,
    "date-time": _timestamp,
    "uuid": lambda f: str(uuid.UUID(int=f.random.getrandbits(128), version=4)),
    "uri": lambda f: f"https://example.com/{f.uri_path()}",
}


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


class SchemaFaker:
    """Fills schemas with Faker data, re-seeded per resource key."""

    def __init__(self, seed: int, locale: str = "en_US") -> None:
        self.seed = seed
        self.fake = Faker(locale)

    def reseed(self, key: str) -> Faker:
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
        self.fake.seed_instance(int.from_bytes(digest[:8], "big"))
        return self.fake

    def fill(self, schema: Schema, key: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """`given` plus a value for every missing, non-reference property of an object schema."""
        self.reseed(key)
        value = self._object(merged(schema), dict(given or {}), depth=0)
        return value

    def value(self, schema: Schema, name: str = "", key: str | None = None) -> Any:
        if key is not None:
            self.reseed(key)
        return self._value(merged(schema), name, depth=0)

    def _object(self, schema: Schema, given: dict[str, Any], depth: int) -> dict[str, Any]:
        for name, prop in schema.get("properties", {}).items():
            prop = merged(prop)
            if name in given or prop.get("readOnly") is False or _is_reference(prop) or name == "id":
                continue
            produced = self._value(prop, name, depth + 1)
            if produced is not _SKIP:
                given[name] = produced
        return given

    def _value(self, schema: Schema, name: str, depth: int) -> Any:
        fake = self.fake
        if "enum" in schema:
            return fake.random_element([v for v in schema["enum"] if v is not None])
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if kind == "object":
            return self._object(schema, {}, depth) if depth < 4 else {}
        if kind == "array":
            if depth >= 4:
                return []
            items = merged(schema.get("items", {}))
            count = max(1, min(2, schema.get("minItems", 1)))
            values = [self._value(items, name.rstrip("s"), depth + 1) for _ in range(count)]
            return [v for v in values if v is not _SKIP]
        if kind == "boolean":
            return fake.boolean()
        if kind in ("integer", "number"):
            low = int(schema.get("minimum", 0))
            high = int(schema.get("maximum", max(low, 100)))
            number = fake.random_int(low, high)
            return number if kind == "integer" else float(number)
        return self._string(schema, name)

    def _string(self, schema: Schema, name: str) -> Any:
        fake = self.fake
        fmt = schema.get("format")
        lowered = name.lower()
        if fmt == "date":
            text = (
                _birth_date(fake)
                if re.search(r"birth|dob", lowered)
                else fake.date_between(start_date=EARLIEST.date(), end_date=LATEST.date()).isoformat()
            )
        elif fmt in BY_FORMAT:
            text = BY_FORMAT[fmt](fake)
        elif "pattern" in schema:
            return _SKIP  # handlers own patterned values such as ids
        else:
            maker = next((m for pattern, m in BY_NAME if re.search(pattern, lowered)), None)
            text = maker(fake) if maker else fake.word()
        limit = schema.get("maxLength")
        return text[:limit] if isinstance(limit, int) else text


_SKIP: Any = object()

__all__ = ["SchemaFaker", "fictional_phone", "merged", "synthetic_email"]
