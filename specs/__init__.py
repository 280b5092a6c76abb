"""The three hand-written vendor specs and their resolved (bundled) form.

`load(api)` returns the prance-resolved document that both the mock and the contract suite consume.
The resolved form is cached as JSON under `build/` and rebuilt when any source file is newer.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import prance

SPEC_DIR = Path(__file__).resolve().parent
BUILD_DIR = SPEC_DIR.parent / "build"
APIS: tuple[str, ...] = ("impilo", "heidi", "legit_health")

__all__ = ["APIS", "BUILD_DIR", "SPEC_DIR", "bundle", "load", "source_path"]

_cache: dict[str, dict[str, Any]] = {}


def source_path(api: str) -> Path:
    """The entry file of one API's spec; raises KeyError for an unknown API name."""
    if api not in APIS:
        raise KeyError(f"unknown API {api!r}; expected one of {', '.join(APIS)}")
    return SPEC_DIR / f"{api}.yaml"


def _sources(api: str) -> list[Path]:
    entry = source_path(api)
    extra = sorted((SPEC_DIR / api).rglob("*.yaml")) if (SPEC_DIR / api).is_dir() else []
    return [entry, *extra]


def bundle(api: str, *, validate: bool = True) -> dict[str, Any]:
    """Resolve every `$ref` of one spec with prance and return one self-contained document."""
    parser = prance.ResolvingParser(
        str(source_path(api)),
        backend="openapi-spec-validator",
        strict=False,
        lazy=not validate,
    )
    if not validate:
        parser.parse()
    return parser.specification


def load(api: str) -> dict[str, Any]:
    """The resolved spec, from build/<api>.json when it is fresh, else bundled and cached there."""
    if api not in _cache:
        target = BUILD_DIR / f"{api}.json"
        newest = max(p.stat().st_mtime for p in _sources(api))
        if target.exists() and target.stat().st_mtime >= newest:
            _cache[api] = json.loads(target.read_text())
        else:
            _cache[api] = bundle(api)
            write(api, _cache[api])
    return copy.deepcopy(_cache[api])


def write(api: str, document: dict[str, Any]) -> Path:
    """Write one resolved document under build/ and return its path."""
    BUILD_DIR.mkdir(exist_ok=True)
    target = BUILD_DIR / f"{api}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=False))
    tmp.replace(target)
    return target
