"""In-memory, thread-safe state: one `Collection` per resource type, made by the app factory.

Ids come from a per-collection sequence (integers) or a seeded random source (hex/uuid), so the same seed
gives the same ids after a restart. All mutation goes through one re-entrant lock per store, so concurrent
requests never lose a write or reuse an id.
"""

from __future__ import annotations

import copy
import itertools
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

Record = dict[str, Any]
Key = int | str


class IdSource:
    """Deterministic ids: `int` sequence, 24-hex (Mongo-like), numeric strings or uuid4 strings."""

    def __init__(self, kind: str, seed: int, name: str, start: int = 1) -> None:
        self.kind, self.start = kind, start
        self._seed_key = f"{seed}:{name}"
        self.reset()

    def reset(self) -> None:
        self._next = self.start
        self._random = random.Random(self._seed_key)

    def advance_past(self, key: Key) -> None:
        if self.kind == "int" and isinstance(key, int) and key >= self._next:
            self._next = key + 1

    def __call__(self) -> Key:
        if self.kind == "int":
            self._next += 1
            return self._next - 1
        if self.kind == "hex24":
            return f"{self._random.getrandbits(96):024x}"
        if self.kind == "digits":
            return str(self._random.randrange(10**9, 10**10))
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))


class Collection:
    """Records of one resource type, in insertion order, with optional unique secondary indexes."""

    def __init__(self, name: str, ids: IdSource, lock: threading.RLock, unique: tuple[str, ...] = ()) -> None:
        self.name, self.ids, self._lock = name, ids, lock
        self._items: dict[Key, Record] = {}
        self._unique: dict[str, dict[Any, Key]] = {fieldname: {} for fieldname in unique}  # field -> value -> key

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            for index in self._unique.values():
                index.clear()
            self.ids.reset()

    def new_id(self) -> Key:
        with self._lock:
            key = self.ids()
            while key in self._items:
                key = self.ids()
            return key

    def put(self, key: Key, record: Record) -> Record:
        """Insert or replace the record stored under `key`; keeps unique indexes in step."""
        with self._lock:
            old = self._items.get(key)
            for fieldname, index in self._unique.items():
                if old is not None and old.get(fieldname) is not None:
                    index.pop(old[fieldname], None)
                if record.get(fieldname) is not None:
                    index[record[fieldname]] = key
            self._items[key] = record
            self.ids.advance_past(key)
            return record

    def add(self, build: Callable[[Key], Record]) -> Record:
        """Allocate an id and store `build(id)` atomically."""
        with self._lock:
            key = self.new_id()
            return self.put(key, build(key))

    def get(self, key: Key) -> Record | None:
        return self._items.get(key)

    def find_unique(self, fieldname: str, value: Any) -> Record | None:
        key = self._unique[fieldname].get(value)
        return None if key is None else self._items.get(key)

    def delete(self, key: Key) -> Record | None:
        with self._lock:
            record = self._items.pop(key, None)
            if record is not None:
                for fieldname, index in self._unique.items():
                    if record.get(fieldname) is not None and index.get(record[fieldname]) == key:
                        del index[record[fieldname]]
            return record

    def values(self) -> list[Record]:
        return list(self._items.values())

    def slice(self, start: int, stop: int) -> list[Record]:
        """Records start..stop in insertion order, without copying the rest (a page of a large store)."""
        with self._lock:
            return list(itertools.islice(self._items.values(), start, stop))

    def __iter__(self) -> Iterator[Record]:
        return iter(self.values())

    def where(self, predicate: Callable[[Record], bool]) -> list[Record]:
        return [record for record in self._items.values() if predicate(record)]

    def export(self) -> list[Record]:
        return copy.deepcopy(self.values())


class Store:
    """All collections of one mock app, grouped by API, sharing one lock."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.lock = threading.RLock()
        self._collections: dict[str, dict[str, Collection]] = {}

    def collection(
        self, api: str, name: str, id_kind: str = "int", start: int = 1, unique: tuple[str, ...] = ()
    ) -> Collection:
        with self.lock:
            group = self._collections.setdefault(api, {})
            if name not in group:
                group[name] = Collection(name, IdSource(id_kind, self.seed, f"{api}.{name}", start), self.lock, unique)
            return group[name]

    def clear(self) -> None:
        with self.lock:
            for group in self._collections.values():
                for collection in group.values():
                    collection.clear()

    def export(self) -> dict[str, dict[str, list[Record]]]:
        with self.lock:
            return {api: {name: c.export() for name, c in group.items()} for api, group in self._collections.items()}
