"""A schema-valid, deterministic body for a response that documents no example.

Like Prism's static mode: a property's own `example`/`default`/first `enum` value wins; otherwise strings
get realistic synthetic values from `SchemaFaker` (by field name and format), numbers respect their bounds,
arrays get `minItems` (at least one) items, and every non-write-only property is filled.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from mocks.state.fakedata import SchemaFaker, merged

Schema = dict[str, Any]
MAX_DEPTH = 6  # below this only required properties are filled, so recursive schemas end


def sample(schema: Schema, faker: SchemaFaker, key: str) -> Any:
    """A value valid against `schema`, the same for the same `key` and seed."""
    faker.reseed(key)
    return _value(schema, faker, "", 0)


def _value(schema: Schema, faker: SchemaFaker, name: str, depth: int) -> Any:
    schema = merged(schema)
    for given in ("example", "default"):
        if given in schema:
            return copy.deepcopy(schema[given])
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind = schema.get("type") or ("object" if "properties" in schema else "array" if "items" in schema else "string")
    return MAKERS[kind](schema, faker, name, depth)


def _object(schema: Schema, faker: SchemaFaker, name: str, depth: int) -> dict[str, Any]:
    required = set(schema.get("required", []))
    return {
        prop: _value(sub, faker, prop, depth + 1)
        for prop, sub in schema.get("properties", {}).items()
        if not sub.get("writeOnly") and (depth < MAX_DEPTH or prop in required)
    }


def _array(schema: Schema, faker: SchemaFaker, name: str, depth: int) -> list[Any]:
    count = max(1 if depth < MAX_DEPTH else 0, schema.get("minItems", 0))
    count = min(count, schema.get("maxItems", count))
    singular = name[:-1] if name.endswith("s") else name
    return [_value(schema.get("items", {}), faker, singular, depth + 1) for _ in range(count)]


def _number(schema: Schema, faker: SchemaFaker, name: str, depth: int) -> int | float:
    low = schema.get("minimum", 0) + (1 if schema.get("exclusiveMinimum") is True else 0)
    high = schema.get("maximum", max(low, 100)) - (1 if schema.get("exclusiveMaximum") is True else 0)
    number = faker.fake.random_int(int(low), int(max(low, high)))
    return number if schema.get("type") == "integer" else float(number)


def _string(schema: Schema, faker: SchemaFaker, name: str, depth: int) -> str:
    text = "" if "pattern" in schema else faker.value({k: v for k, v in schema.items() if k != "maxLength"}, name)
    if not isinstance(text, str) or ("pattern" in schema and not re.search(schema["pattern"], text)):
        text = ""  # patterned values need an `example` in the spec; the response check test says which
    text = text.ljust(schema.get("minLength", 0), "x")
    return text[: schema["maxLength"]] if "maxLength" in schema else text


MAKERS = {
    "object": _object,
    "array": _array,
    "integer": _number,
    "number": _number,
    "string": _string,
    "boolean": lambda schema, faker, name, depth: True,
}
