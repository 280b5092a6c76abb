"""Sharded contract runs: a deterministic 1/n of the operations of the APIs under test (`--shard i/n`).

Every operation is in exactly one shard. Operations joined by the specs' `links` (a create and the reads,
updates and deletes of what it created) stay in one shard, so the stateful phase still walks them: the
connected components of each API's link graph are the units, placed largest first on the shard with the
fewest operations so far (ties: the lowest shard). Only the specs decide, so every CI machine computes the
same split, and `python -m contracts merge` puts the shards' reports back together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

import specs
from contracts.auth import ConfigurationError

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
Group = tuple[str, tuple[str, ...]]  # an API and operationIds that its links join


def parse_shard(text: str) -> tuple[int, int]:
    """`i/n` (1 <= i <= n) -> (i, n); ConfigurationError with the cause otherwise."""
    found = re.fullmatch(r"\s*(\d{1,4})\s*/\s*(\d{1,4})\s*", text)
    if not found or not 1 <= int(found[1]) <= int(found[2]):
        raise ConfigurationError(f"SHARD={text!r} is not like 1/3 (shard i of n, 1 <= i <= n)")
    return int(found[1]), int(found[2])


def _operations(document: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """`#/paths/<path>/<method>` (an `operationRef`) -> (operationId, operation), in the spec's order."""
    found = {}
    for path, item in (document.get("paths") or {}).items():
        for method in METHODS:
            operation = item.get(method) if isinstance(item, dict) else None
            if isinstance(operation, dict) and operation.get("operationId"):
                pointer = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{method}"
                found[pointer] = (operation["operationId"], operation)
    return found


def _links(operations: Mapping[str, tuple[str, dict[str, Any]]]) -> Iterable[tuple[str, str]]:
    """(operationId, operationId) for every link of a response, by `operationId` or `operationRef`."""
    for source, operation in operations.values():
        for response in (operation.get("responses") or {}).values():
            for link in ((response or {}).get("links") or {}).values():
                ref = operations.get(unquote(link.get("operationRef", "")))
                target = link.get("operationId") or (ref[0] if ref else None)
                if target:
                    yield source, target


def link_groups(api: str, document: Mapping[str, Any] | None = None) -> list[tuple[str, ...]]:
    """The operationIds of `api`, grouped by the connected components of its `links` graph, in spec order."""
    document = specs.load(api) if document is None else document
    operations = _operations(document)
    parent = {op: op for op, _ in operations.values()}

    def root(op: str) -> str:
        while parent[op] != op:
            parent[op] = parent[parent[op]]
            op = parent[op]
        return op

    for source, target in _links(operations):
        if target in parent:
            first, second = sorted((root(source), root(target)))
            parent[second] = first
    groups: dict[str, list[str]] = {}
    for op in parent:
        groups.setdefault(root(op), []).append(op)
    return [tuple(group) for group in groups.values()]


def assign(groups: Sequence[Group], count: int) -> list[list[Group]]:
    """`groups` over `count` shards: largest first, each on the shard with the fewest operations so far."""
    shards: list[list[Group]] = [[] for _ in range(count)]
    loads = [0] * count
    for group in sorted(groups, key=lambda g: (-len(g[1]), g[0], g[1])):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        shards[lightest].append(group)
        loads[lightest] += len(group[1])
    return shards


def shard_operations(apis: Sequence[str], index: int, count: int) -> dict[str, list[str]]:
    """API -> the operationIds shard `index` of `count` (1-based) runs; APIs with none in it are left out."""
    groups = [(api, group) for api in apis for group in link_groups(api)]
    chosen: dict[str, list[str]] = {}
    for api, group in assign(groups, count)[index - 1]:
        chosen.setdefault(api, []).extend(group)
    return {api: sorted(chosen[api]) for api in apis if api in chosen}


def linked_within(api: str, operation_ids: Iterable[str]) -> bool:
    """Whether a link of `api` joins two of `operation_ids` (else Schemathesis' stateful phase has none)."""
    wanted = set(operation_ids)
    return any(source in wanted and target in wanted for source, target in _links(_operations(specs.load(api))))
