"""The hand-written vendor specs, their resolved (bundled) form and the facts both sides read from them.

Every `specs/<name>.yaml` is one API. `load(api)` returns the prance-resolved document that both the mock
and the contract suite consume, cached as JSON under `build/` and rebuilt when any source file is newer.
`facts(api)` reads the spec's `info.x-mock`: where the mock serves it, the credentials' variables and the
mock's defaults, the error body's shape. `add_source(path)` makes a spec kept elsewhere one more API
(a vendor kept outside this repository, or a test's).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import prance

SPEC_DIR = Path(__file__).resolve().parent
# A checkout caches resolved specs in its build/; an installed package in the user's cache, not site-packages.
_CHECKOUT = (SPEC_DIR.parent / "pyproject.toml").exists()
_USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "healthcare-api-mocks"
BUILD_DIR = SPEC_DIR.parent / "build" if _CHECKOUT else _USER_CACHE
# Every spec of this directory, by name (the file's stem): the APIs this repository serves and tests.
_SOURCES: dict[str, Path] = {path.stem: path for path in sorted(SPEC_DIR.glob("*.yaml"))}
APIS: tuple[str, ...] = tuple(_SOURCES)

__all__ = ["APIS", "BUILD_DIR", "SPEC_DIR", "Facts", "add_source", "bundle", "facts", "load", "resolved", "source_path"]

_cache: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True)
class Facts:
    """What a spec's `info.x-mock` says: everything besides the paths that the mock and the contract suite
    both need to know about one API."""

    name: str  # the spec's stem: impilo, heidi, legit_health
    title: str  # info.title, which schemathesis.toml's projects match
    slug: str  # the mock serves the API under /<slug><vendor_path>
    vendor_path: str  # the vendor's own base path
    credentials: dict[str, str]  # environment variable -> the mock's default value
    error_content_type: str  # of every 4xx/5xx body
    error_schema: dict[str, Any]  # the resolved component schema of every 4xx/5xx body
    auth: str | None = None  # how a client gets its bearer token, when not a configured header (jwt-exchange)

    @property
    def base_path(self) -> str:
        return f"/{self.slug}{self.vendor_path}"


def add_source(path: Path) -> str:
    """Serve and test the spec at `path` as one more API, named by its stem; returns the name."""
    global APIS
    path = Path(path).resolve()
    if path.stem in _SOURCES and _SOURCES[path.stem] != path:
        raise ValueError(f"an API named {path.stem!r} exists already ({_SOURCES[path.stem]})")
    _SOURCES[path.stem] = path
    APIS = tuple(_SOURCES)
    return path.stem


def source_path(api: str) -> Path:
    """The entry file of one API's spec; raises KeyError for an unknown API name."""
    if api not in _SOURCES:
        raise KeyError(f"unknown API {api!r}; expected one of {', '.join(_SOURCES)}")
    return _SOURCES[api]


def _sources(api: str) -> list[Path]:
    entry = source_path(api)
    parts = entry.parent / api
    extra = sorted(parts.rglob("*.yaml")) if parts.is_dir() else []
    return [entry, *extra]


def facts(api: str) -> Facts:
    """The facts of one API's spec (`info.x-mock`); KeyError naming the missing one when incomplete."""
    document = _resolved(api)
    info = document["info"]
    mock = info.get("x-mock") or {}
    try:
        errors = mock["errors"]
        return Facts(
            name=api,
            title=info["title"],
            slug=mock["slug"],
            vendor_path=mock["basePath"],
            credentials={str(k): str(v) for k, v in mock["credentials"].items()},
            error_content_type=errors["contentType"],
            error_schema=document["components"]["schemas"][errors["schema"]],
            auth=mock.get("auth"),
        )
    except KeyError as exc:
        raise KeyError(f"{source_path(api)}: info.x-mock lacks {exc}") from exc


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
    """The resolved spec (a copy of its own), from build/<api>.json when fresh, else bundled and cached there."""
    return copy.deepcopy(_resolved(api))


def resolved(api: str) -> dict[str, Any]:
    """The resolved spec shared by the whole process: read it, never change it (`load` gives a copy)."""
    return _resolved(api)


def _resolved(api: str) -> dict[str, Any]:
    if api not in _cache:
        target = BUILD_DIR / f"{api}.json"
        newest = max(p.stat().st_mtime for p in _sources(api))
        if target.exists() and target.stat().st_mtime >= newest:
            _cache[api] = json.loads(target.read_text())
        else:
            _cache[api] = bundle(api)
            with contextlib.suppress(OSError):  # a cache that cannot be written is only slower next time
                write(api, _cache[api])
    return _cache[api]


def write(api: str, document: dict[str, Any]) -> Path:
    """Write one resolved document under build/ and return its path."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    target = BUILD_DIR / f"{api}.json"
    tmp = target.with_suffix(f".json.{os.getpid()}.tmp")  # one per process: parallel test workers
    tmp.write_text(json.dumps(document, indent=2, sort_keys=False))
    tmp.replace(target)
    return target
