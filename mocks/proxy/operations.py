"""Which spec operation a proxied request calls: one index per API, built from its resolved spec.

The proxy validates a request and its upstream answer against the operation they belong to. Paths are
matched as Starlette matches them (`compile_path` of the spec's template under the API's base path), in
spec order, literal paths before templated ones so `/patient/identifier/{identifier}` is not read as
`/patient/{patientId}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True, slots=True)
class Operation:
    api: str
    operation_id: str
    method: str  # upper case
    template: str  # the spec's path, e.g. /patient/{patientId}
    definition: dict[str, Any]  # the resolved operation object
    parameters: tuple[dict[str, Any], ...]  # path-level and operation-level, the latter winning


@dataclass(frozen=True, slots=True)
class _Route:
    pattern: re.Pattern[str]
    operation: Operation
    literal: int  # how much of the template is literal text: the more, the earlier it is tried


def _pattern(base_path: str, template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    body = "".join(f"(?P<{_group(p)}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{re.escape(base_path)}{body}$")


def _group(part: str) -> str:
    return "p_" + re.sub(r"\W", "_", part[1:-1])


def _parameters(item: dict[str, Any], operation: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    merged = {(p["in"], p["name"]): p for p in item.get("parameters", [])}
    merged.update({(p["in"], p["name"]): p for p in operation.get("parameters", [])})
    return tuple(merged.values())


class OperationIndex:
    """The operations of the APIs given, found by method and full path (base path included)."""

    def __init__(self, apis: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """`apis`: (API name, base path the mock serves it under, its resolved spec)."""
        routes: dict[str, list[_Route]] = {}
        self.by_id: dict[tuple[str, str], Operation] = {}
        for api, base_path, document in apis:
            for template, item in document.get("paths", {}).items():
                for method in METHODS:
                    definition = item.get(method)
                    if not isinstance(definition, dict):
                        continue
                    operation = Operation(
                        api, str(definition.get("operationId", "")), method.upper(), template, definition,
                        _parameters(item, definition),
                    )  # fmt: skip
                    literal = len(re.sub(r"\{[^}]+\}", "", template))
                    route = _Route(_pattern(base_path, template), operation, literal)
                    routes.setdefault(method.upper(), []).append(route)
                    self.by_id[(api, operation.operation_id)] = operation
        self._routes = {m: sorted(r, key=lambda route: -route.literal) for m, r in routes.items()}

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation and its raw path values (by parameter name), or None when no path matches."""
        for route in self._routes.get(method, ()):
            match = route.pattern.match(path)
            if match:
                names = {_group("{" + p["name"] + "}"): p["name"] for p in route.operation.parameters}
                return route.operation, {names.get(k, k): v for k, v in match.groupdict().items()}
        return None

    def operation_ids(self, api: str) -> set[str]:
        return {operation_id for name, operation_id in self.by_id if name == api}
