"""The dependency rule of ARCHITECTURE.md, checked on the source: what imports what.

specs/ imports neither mocks/ nor contracts/; contracts/ never imports mocks/ (it tests any server, and is
handed an app in process); inside mocks/ no module takes part in an import cycle, and neither does any
package (state, http, webhooks, dx, serve, each vendor) taken as a whole.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, known: set[str]) -> Iterator[str]:
    """Every module `path` imports, at any depth of its code (lazy imports too); `from package import module`
    is an import of that module."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
            yield from submodules or [base]


def graph(top: str) -> dict[str, set[str]]:
    """module -> the modules of this repository it imports, for every module under `top`."""
    modules = {module_name(p): p for p in (ROOT / top).rglob("*.py")}
    known = {module_name(p) for folder in ("mocks", "contracts", "specs") for p in (ROOT / folder).rglob("*.py")}
    return {name: {i for i in imports(path, known) if i in known and i != name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def unit(module: str) -> str:
    """The part of mocks/ a module belongs to: its package (mocks.http, mocks.vendors.heidi) or itself."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] == "vendors":
        return ".".join(parts[:3])
    if len(parts) > 2 or (ROOT / Path(*parts)).is_dir():
        return ".".join(parts[:2])
    return module


@pytest.mark.parametrize("top", ["contracts", "specs"])
def test_contracts_and_specs_never_import_the_mock(top: str) -> None:
    offenders = {m: sorted(i for i in targets if i.split(".")[0] == "mocks") for m, targets in graph(top).items()}
    assert {m: found for m, found in offenders.items() if found} == {}


def test_specs_import_nothing_of_the_suite() -> None:
    offenders = {m: sorted(i for i in t if i.split(".")[0] == "contracts") for m, t in graph("specs").items()}
    assert {m: found for m, found in offenders.items() if found} == {}


def test_no_module_of_the_mock_is_in_an_import_cycle() -> None:
    edges = {m: {t for t in targets if t.startswith("mocks")} for m, targets in graph("mocks").items()}
    assert cycles(edges) == []


def test_no_package_of_the_mock_is_in_an_import_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for module, targets in graph("mocks").items():
        edges.setdefault(unit(module), set()).update(
            unit(t) for t in targets if t.startswith("mocks") and unit(t) != unit(module)
        )
    # the package face `mocks` (mocks/__init__.py re-exports create_app) is what users import, not a layer
    edges.pop("mocks", None)
    for targets in edges.values():
        targets.discard("mocks")
    assert cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
