"""Which spec operation a proxied request calls: one index per API, built from its resolved spec.

The proxy validates a request and its upstream answer against the operation they belong to, found as the
mock's own router finds it: Connexion's path syntax and converters (`starlettify_path`: an integer
parameter matches digits only) compiled by Starlette (`compile_path`), in spec order, the first route
matching both path and method winning. So `PATCH /webhook/logs` is no `PATCH /webhook/{webhookId}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connexion.frameworks.starlette import starlettify_path
from starlette.routing import compile_path

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
    names: dict[str, str]  # Starlette's group name -> the parameter's name


def _route(base_path: str, operation: Operation) -> _Route:
    path_parameters = [p for p in operation.parameters if p["in"] == "path"]
    types = {}  # as `OpenAPIOperation.get_path_parameter_types` gives them to `starlettify_path`
    for parameter in path_parameters:
        schema = parameter.get("schema", {})
        types[parameter["name"]] = "path" if schema.get("format") == "path" else schema.get("type", "")
    pattern, _, _ = compile_path(starlettify_path(base_path + operation.template, types))
    return _Route(pattern, operation, {p["name"].replace("-", "_"): p["name"] for p in path_parameters})


def _parameters(item: dict[str, Any], operation: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    merged = {(p["in"], p["name"]): p for p in item.get("parameters", [])}
    merged.update({(p["in"], p["name"]): p for p in operation.get("parameters", [])})
    return tuple(merged.values())


class OperationIndex:
    """The operations of the APIs given, found by method and full path (base path included)."""

    def __init__(self, apis: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """`apis`: (API name, base path the mock serves it under, its resolved spec)."""
        self._routes: list[_Route] = []
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
                    self._routes.append(_route(base_path, operation))
                    self.by_id[(api, operation.operation_id)] = operation

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation and its raw path values (by parameter name), or None when no route matches both."""
        for route in self._routes:
            if route.operation.method != method:
                continue
            match = route.pattern.match(path)
            if match:
                return route.operation, {route.names.get(k, k): v for k, v in match.groupdict().items()}
        return None

    def operation_ids(self, api: str) -> set[str]:
        return {operation_id for name, operation_id in self.by_id if name == api}
