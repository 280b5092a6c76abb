"""Every vendor package has the one shape mocks/vendors/README.md describes, so a new vendor is checked too."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

import mocks.vendors
import specs

REQUIRED_MODULES = ("handlers", "records", "rules", "seed", "auth", "errors")
HOOKS = frozenset({"seed", "admin_routes", "fixtures"})  # public methods the app calls that are not operations
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# module -> the modules of its own package it must not import: records <- rules <- handlers; seed beside
FORBIDDEN_IMPORTS = {
    "records": {"rules", "handlers", "seed", "messages"},
    "rules": {"handlers", "seed"},
    "seed": {"handlers"},
    "messages": {"handlers", "rules", "seed"},
    "auth": {"handlers", "records", "rules", "seed", "messages", "errors"},
    "errors": {"handlers", "records", "rules", "seed", "messages", "auth"},
}
VENDOR_DIR = Path(mocks.vendors.__file__).parent
VENDORS = sorted(module.name for module in pkgutil.iter_modules([str(VENDOR_DIR)]) if module.ispkg)


def snake(operation_id: str) -> str:
    """The handler method an operationId resolves to (createPatient -> create_patient)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def operations(spec: dict[str, Any]) -> set[str]:
    return {op["operationId"] for item in spec["paths"].values() for m, op in item.items() if m in METHODS}


def handler_problems(handlers: type, operation_ids: set[str]) -> list[str]:
    """What keeps a `Handlers` class from serving exactly the spec's operations, one sentence each."""
    public = {name for name, member in inspect.getmembers(handlers, callable) if not name.startswith("_")}
    wanted = {snake(op): op for op in operation_ids}
    problems = [f"{op}: no method {name}" for name, op in sorted(wanted.items()) if name not in public]
    problems += [f"{name}: a public method without an operation" for name in sorted(public - set(wanted) - HOOKS)]
    problems += [
        f"{name}: not async (the resolver awaits it)"
        for name in sorted(set(wanted) & public)
        if not inspect.iscoroutinefunction(getattr(handlers, name))
    ]
    return problems


def own_imports(vendor: str, path: Path) -> set[str]:
    """The modules of `mocks.vendors.<vendor>` a source file imports (first component after the package)."""
    prefix = f"mocks.vendors.{vendor}."
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == prefix[:-1]:
                found |= {alias.name for alias in node.names}
            elif node.module.startswith(prefix):
                found.add(node.module[len(prefix) :].split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {a.name[len(prefix) :].split(".")[0] for a in node.names if a.name.startswith(prefix)}
    return found


def test_vendor_packages_are_the_specs_of_this_repository() -> None:
    assert sorted(path.stem for path in specs.SPEC_DIR.glob("*.yaml")) == VENDORS


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendor_package_has_every_module_of_the_shape(vendor: str) -> None:
    missing = [m for m in REQUIRED_MODULES if importlib.util.find_spec(f"mocks.vendors.{vendor}.{m}") is None]
    assert missing == []
    records = importlib.import_module(f"mocks.vendors.{vendor}.records")
    seed = importlib.import_module(f"mocks.vendors.{vendor}.seed")
    assert inspect.isclass(records.Records)
    assert list(inspect.signature(seed.seed).parameters) == ["context", "records"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendor_handlers_serve_exactly_the_operations_of_its_spec(vendor: str) -> None:
    handlers = importlib.import_module(f"mocks.vendors.{vendor}").Handlers
    assert handler_problems(handlers, operations(specs.load(vendor))) == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendor_modules_import_only_downwards_in_their_package(vendor: str) -> None:
    package = VENDOR_DIR / vendor
    wrong = {
        module: sorted(own_imports(vendor, package / f"{module}.py") & forbidden)
        for module, forbidden in FORBIDDEN_IMPORTS.items()
        if (package / f"{module}.py").exists()
    }
    assert {module: names for module, names in wrong.items() if names} == {}


class Drifted:
    """A handlers class one release behind its spec: a renamed operation, a sync one and a stray method."""

    def seed(self) -> None: ...

    async def get_thing(self) -> None: ...

    def list_things(self) -> None: ...

    async def delete_thing(self) -> None: ...

    async def _helper(self) -> None: ...


def test_handler_problems_names_missing_stray_and_sync_methods_when_handlers_drift_from_the_spec() -> None:
    assert handler_problems(Drifted, {"getThing", "listThings", "createThing"}) == [
        "createThing: no method create_thing",
        "delete_thing: a public method without an operation",
        "list_things: not async (the resolver awaits it)",
    ]


def test_own_imports_finds_a_package_module_when_imported_in_any_form(tmp_path: Path) -> None:
    source = tmp_path / "records.py"
    source.write_text(
        "from mocks.vendors.acme import rules\n"
        "from mocks.vendors.acme.handlers.orders import X\n"
        "import mocks.vendors.acme.seed\n"
        "from mocks.state.store import Record\n"
    )
    assert own_imports("acme", source) == {"rules", "handlers", "seed"}
