"""State fixtures: a file of records per API (YAML or JSON) loaded into a running mock, and exported from one.

```yaml
replace: false          # optional: true empties each collection named below before loading (exports say true)
impilo:
  sites:    [{id: 500, name: Test Clinic}]
  patients: [{id: 5000, firstName: Ada, lastName: Lovelace, siteId: 500}]
```

Records are in the stored form (references by id, as `GET /__mock/fixtures` exports them). What a record
leaves out is filled with the seed's fake data for its id; given ids are kept, missing ones are allocated.
Each vendor says which of its collections fixtures may hold, and how to fill and check a record, through one
hook: a `fixtures()` method on its handlers returning `Kind` rows. This module names no vendor.

Loading is all or nothing: every record is filled and checked (its spec schema, its references, the vendor's
rules) before anything is written, and a bad file is rejected whole with every problem listed.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mocks.context import MockContext
from mocks.http.validation import request_validator
from mocks.state.store import Collection, Key, Record

__all__ = [
    "FixtureError",
    "Kind",
    "Problem",
    "Rule",
    "World",
    "export",
    "kinds_of",
    "load",
    "load_file",
    "parse",
    "problem_body",
]

LOGGER = logging.getLogger("mocks.dx.fixtures")
MAX_PROBLEMS = 200  # a file with more problems than this lists these and says how many were left out
REPLACE = "replace"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a fixture file: where (file, API, collection, record, field) and what was expected."""

    source: str
    api: str = ""
    collection: str = ""
    record: str = ""  # "[2] (id 5000)": its position in the section, and its id when it has one
    field: str = ""
    expected: str = ""

    def __str__(self) -> str:
        where = ".".join(part for part in (self.api, self.collection) if part) + self.record
        place = ": ".join(part for part in (self.source, where, f"field {self.field}" if self.field else "") if part)
        return f"{place}: {self.expected}"

    def as_json(self) -> dict[str, str]:
        return {"file": self.source, "api": self.api, "collection": self.collection, "record": self.record,
                "field": self.field, "expected": self.expected}  # fmt: skip


class FixtureError(ValueError):
    """A fixture file that was not loaded; `problems` lists every reason (the store is unchanged)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  {problem}" for problem in self.problems[:MAX_PROBLEMS])
        more = len(self.problems) - MAX_PROBLEMS
        super().__init__(
            f"fixtures not loaded ({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}):\n{shown}"
            + (f"\n  ... and {more} more" if more > 0 else "")
        )


class World:
    """The records a fixture load would leave: the file's over the store's (none of a replaced collection)."""

    def __init__(self, kinds: Mapping[str, Kind], staged: Mapping[str, dict[Key, Record]], replaced: set[str]) -> None:
        self._kinds, self._staged, self._replaced = kinds, staged, replaced
        self._indexes: dict[tuple[str, str], dict[Any, list[Record]]] = {}

    def get(self, kind: str, key: Any) -> Record | None:
        staged = self._staged.get(kind, {})
        if key in staged:
            return staged[key]
        if kind in self._replaced or kind not in self._kinds:
            return None
        try:
            return self._kinds[kind].collection.get(key)
        except (TypeError, ValueError):  # a key of a type the backend cannot look up
            return None

    def records(self, kind: str) -> Iterator[Record]:
        staged = self._staged.get(kind, {})
        yield from staged.values()
        if kind not in self._replaced and kind in self._kinds:
            key = self._kinds[kind].key
            yield from (r for r in self._kinds[kind].collection.values() if r.get(key) not in staged)

    def having(self, kind: str, field: str, value: Any) -> list[Record]:
        """The records of `kind` whose `field` is `value` (indexed once per load: rules ask for each record)."""
        index = self._indexes.get((kind, field))
        if index is None:
            index = self._indexes[kind, field] = {}
            for record in self.records(kind):
                try:
                    index.setdefault(record.get(field), []).append(record)
                except TypeError:  # an unhashable value (a list given where a string belongs): matches nothing
                    continue
        try:
            return index.get(value, [])
        except TypeError:
            return []


# A vendor rule: the filled record and the world -> (field, what was expected) for each breach.
Rule = Callable[[Record, World], list[tuple[str, str]]]


@dataclass(frozen=True)
class Kind:
    """One collection a vendor lets fixtures load and export, as its stored records look."""

    name: str  # the section in a fixture file and the store collection's name
    collection: Collection
    fill: Callable[[Record], Record]  # a record with its key -> the full stored record (the seed's fake data)
    schema: Mapping[str, Any] | None = None  # the spec component the record's `view` must match
    view: Callable[[Record], Any] = dict  # stored record -> the part the schema describes
    key: str = "id"
    expanded: tuple[str, ...] = ()  # schema properties the stored form keeps as references elsewhere
    references: Mapping[str, str] = field(default_factory=dict)  # "siteId", "orderItems[].itemId" -> kind
    # a list field whose entries are records of another kind, stored there with a reference back:
    # {"conditions": ("conditions", "patientId")} (a patient given with its conditions, as the API answers it)
    nested: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    @functools.cached_property
    def validator(self) -> Any:
        if self.schema is None:
            return None
        schema = dict(self.schema)
        schema["required"] = [name for name in schema.get("required", []) if name not in self.expanded]
        return request_validator(schema)


def kinds_of(context: MockContext) -> dict[str, dict[str, Kind]]:
    """API name -> its fixture kinds by name, from each API's `fixtures()` hook (APIs without one: none)."""
    found = {}
    for api, service in context.services.items():
        hook = getattr(service, "fixtures", None)
        if hook is not None:
            found[api] = {kind.name: kind for kind in hook()}
    return found


def parse(text: str | bytes, source: str) -> Any:
    """A fixture document from YAML or JSON text (JSON is YAML); a syntax error is a `FixtureError`."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FixtureError([Problem(source, expected=f"YAML or JSON ({' '.join(str(exc).split())[:300]})")]) from exc


def load_file(context: MockContext, path: str | Path) -> dict[str, dict[str, int]]:
    """Load the fixture file at `path` (see `load`)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(
            [Problem(source, expected=f"a readable UTF-8 file ({exc.__class__.__name__}: {exc})")]
        ) from exc
    return load(context, parse(text, source), source)


def configured(context: MockContext, after_reset: bool = False) -> Callable[[], None]:
    """Loads the `FIXTURES` file of the context's config (nothing when none is set): at start, after seeding,
    where a bad file is an error, and `after_reset`, where a file edited into a bad one since the start is
    logged and the reset still answers (the state is then the seed's)."""

    def reload() -> None:
        if not context.config.fixtures:
            return
        try:
            load_file(context, context.config.fixtures)
        except FixtureError as exc:
            if not after_reset:
                raise
            LOGGER.error("FIXTURES not reloaded after the reset, the state is the seed's: %s", exc)

    return reload


def export(context: MockContext) -> dict[str, Any]:
    """Every fixture collection's records, in the format `load` reads; replaying it restores this state."""
    document: dict[str, Any] = {REPLACE: True}
    with context.store.lock:
        for api, kinds in kinds_of(context).items():
            document[api] = {name: copy.deepcopy(kind.collection.values()) for name, kind in kinds.items()}
    return document


def _label(index: int, record: Any, key: str) -> str:
    given = record.get(key) if isinstance(record, dict) else None
    return f"[{index}]" + (f" ({key} {given!r})" if given is not None else "")


def _values(record: Any, path: str) -> list[Any]:
    """The values at a reference path: "siteId", "orderItems[].itemId", "deviceIds[]" (None skipped)."""
    found = [record]
    for part in path.split("."):
        name, many = (part[:-2], True) if part.endswith("[]") else (part, False)
        found = [item.get(name) for item in found if isinstance(item, dict)]
        if many:
            found = [value for item in found if isinstance(item, list) for value in item]
    return [value for value in found if value is not None]


def _schema_problems(kind: Kind, record: Record) -> list[tuple[str, str]]:
    if kind.validator is None:
        return []
    problems = []
    placeholder = isinstance(record.get(kind.key), str) and str(record[kind.key]).startswith("(new ")
    for error in kind.validator.iter_errors(kind.view(record)):
        where = ".".join(str(part) for part in error.absolute_path)
        if placeholder and where == kind.key:
            continue
        problems.append((where, f"{error.message[:300]} (the spec's schema)"))
    return sorted(problems)


class _Loader:
    """One load: the document checked section by section, then written only if nothing was wrong."""

    def __init__(self, context: MockContext, document: Any, source: str) -> None:
        self.context, self.document, self.source = context, document, source
        self.kinds = kinds_of(context)
        self.problems: list[Problem] = []
        # api -> kind -> key -> filled record; and which keys were drawn here rather than given
        self.staged: dict[str, dict[str, dict[Key, Record]]] = {}
        self.provisional: dict[str, dict[str, set[Key]]] = {}
        self.labels: dict[tuple[str, str, Key], str] = {}  # (api, kind, key) -> "[2] (id 5000)"
        # (api, kind, key) -> (kind, key, field) of each record given nested in it, referring back to it
        self.children: dict[tuple[str, str, Key], list[tuple[str, Key, str]]] = {}

    def problem(self, api: str = "", kind: str = "", record: str = "", field: str = "", expected: str = "") -> None:
        self.problems.append(Problem(self.source, api, kind, record, field, expected))

    def check(self) -> bool:
        document = self.document
        if not isinstance(document, dict):
            self.problem(
                expected=f"a mapping of API name to collections, e.g. {{{next(iter(self.kinds), 'api')}: ...}}"
            )
            return False
        replace = document.get(REPLACE, False)
        if not isinstance(replace, bool):
            self.problem(field=REPLACE, expected=f"true or false, got {replace!r}")
        for api, sections in document.items():
            if api == REPLACE:
                continue
            if api not in self.kinds:
                self.problem(api=str(api), expected=f"an API name: one of {', '.join(sorted(self.kinds))}")
            elif not isinstance(sections, dict):
                self.problem(api=api, expected=f"a mapping of collection to records, got {type(sections).__name__}")
            else:
                self._stage(api, sections)
        for api in self.staged:
            self._relate(api, replace is True)
        return not self.problems

    def _stage(self, api: str, sections: dict[Any, Any]) -> None:
        """Every record of the API's sections filled and checked against its schema, in the vendor's order of
        kinds (so records given nested in another, `Kind.nested`, join their own kind's before it is read)."""
        kinds, staged, drawn = self.kinds[api], self.staged.setdefault(api, {}), self.provisional.setdefault(api, {})
        for name, records in sections.items():
            if name not in kinds:
                self.problem(api, str(name), expected=f"a collection of {api}: one of {', '.join(kinds)}")
            elif not isinstance(records, list):
                self.problem(api, name, expected=f"a list of records, got {type(records).__name__}")
        # kind -> (label, record, (parent kind, parent key, field back)) of the records given inside another's
        nested: dict[str, list[tuple[str, Any, tuple[str, Key, str] | None]]] = {}
        for name, kind in kinds.items():
            records = sections.get(name, [])
            listed = records if isinstance(records, list) else []
            given_here: list[tuple[str, Any, tuple[str, Key, str] | None]] = [
                (_label(i, r, kind.key), r, None) for i, r in enumerate(listed)
            ]
            ids = None
            for label, given, parent in [*given_here, *nested.get(name, [])]:
                if not isinstance(given, dict):
                    self.problem(
                        api, name, label, expected=f"a record (a mapping of field to value), got {given!r:.60}"
                    )
                    continue
                record = dict(given)
                if record.get(kind.key) is None:  # drawn from a copy of the id source: the store's is untouched
                    ids = ids or copy.deepcopy(getattr(kind.collection, "ids", None)) or _Placeholders()
                    record[kind.key] = _free_key(ids, kind.collection, staged.get(name, {}))
                    drawn.setdefault(name, set()).add(record[kind.key])
                key = record[kind.key]
                try:
                    hash(key)
                except TypeError:
                    self.problem(api, name, label, kind.key, f"an id (a number or a string), got {key!r:.60}")
                    continue
                if key in staged.get(name, {}):
                    self.problem(api, name, label, kind.key, f"an id used once in the file; {key!r} is given twice")
                    continue
                for held, (target, back) in kind.nested.items():  # e.g. a patient's conditions, by patientId
                    inner = record.pop(held, None)
                    if isinstance(inner, list):
                        nested.setdefault(target, []).extend(
                            (
                                f" (in {name}{label}.{held}[{j}])",
                                {**child, back: key} if isinstance(child, dict) else child,
                                (name, key, back),
                            )
                            for j, child in enumerate(inner)
                        )
                try:
                    filled = kind.fill(record)
                except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
                    self.problem(api, name, label, expected=f"a record its fields can be read from ({exc!r:.200})")
                    continue
                for where, expected in _schema_problems(kind, filled):
                    self.problem(api, name, label, where, expected)
                staged.setdefault(name, {})[key] = filled
                self.labels[api, name, key] = label
                if parent is not None:
                    self.children.setdefault((api, parent[0], parent[1]), []).append((name, key, parent[2]))

    def _relate(self, api: str, replace: bool) -> None:
        kinds, staged = self.kinds[api], self.staged[api]
        replaced = set(staged) if replace else set()
        world = World(kinds, staged, replaced)
        for name, records in staged.items():
            kind = kinds[name]
            for key, record in records.items():
                label = self.labels[api, name, key]
                for path, target in kind.references.items():
                    for value in _values(record, path):
                        if world.get(target, value) is None:
                            self.problem(api, name, label, path, f"the id of a record in {api}.{target}; "
                                         f"there is none with id {value!r} (in the file or the mock)")  # fmt: skip
                for rule in kind.rules:
                    for where, expected in rule(record, world):
                        self.problem(api, name, label, where, expected)

    def write(self) -> dict[str, dict[str, int]]:
        loaded: dict[str, dict[str, int]] = {}
        replace = self.document.get(REPLACE) is True
        with self.context.store.lock:
            for api, staged in self.staged.items():
                kinds = self.kinds[api]
                for name, records in staged.items():
                    kind, drawn = kinds[name], self.provisional[api].get(name, set())
                    if replace:
                        kind.collection.clear()
                    for key, record in records.items():
                        if key in drawn:  # allocated now, from the store's own id source
                            new_key = kind.collection.new_id()
                            if new_key != key:  # another process drew ids since: its nested records follow
                                record = kind.fill({**record, kind.key: new_key})
                                for target, child, back in self.children.get((api, name, key), ()):
                                    staged[target][child][back] = new_key
                            key = new_key
                        kind.collection.put(key, record)
                    loaded.setdefault(api, {})[name] = len(records)
        return loaded


class _Placeholders:
    """Keys for a backend whose collections do not show their id source: never stored (the real ids are
    drawn when the records are written), so the schema is not asked about them (`_schema_problems`)."""

    def __init__(self) -> None:
        self.drawn = 0

    def __call__(self) -> str:
        self.drawn += 1
        return f"(new {self.drawn})"


def _free_key(ids: Any, collection: Collection, staged: Mapping[Key, Record]) -> Key:
    """A key the collection's id source would hand out next (drawn from a copy: the store's is untouched)."""
    key = ids()
    while key in collection or key in staged:
        key = ids()
    return key  # type: ignore[no-any-return]


def load(context: MockContext, document: Any, source: str = "<request body>") -> dict[str, dict[str, int]]:
    """Load a fixture document into the context's store: every record or, when any is wrong, none
    (`FixtureError` listing every problem). Returns how many records each API's collections received."""
    loader = _Loader(context, document, source)
    with context.store.lock:  # nothing changes between the checks and the writes
        if not loader.check():
            raise FixtureError(loader.problems)
        return loader.write()


def problem_body(error: FixtureError) -> dict[str, Any]:
    """The JSON answer to a refused fixture document (`POST /__mock/fixtures`, mocks/dx/routes.py)."""
    return {"message": str(error).splitlines()[0], "problems": [p.as_json() for p in error.problems]}
