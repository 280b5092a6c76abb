"""State of one mock app: one `Collection` per resource type, grouped by API in a `Store` made by the factory.

Three stores share this interface: `MemoryStore` (the default, plain dicts), `sqlite.SQLiteStore`
(`STATE=<file>`: survives restarts, shared by worker processes) and `postgres.PostgresStore`
(`STATE=postgresql://...`: shared by replicas on any number of machines). Ids come from a per-collection sequence
(integers) or a seeded random source (hex/uuid), so the same seed gives the same ids after a restart. Every
write runs under the store's re-entrant `lock`; handlers also hold it around check-then-act sequences, so
concurrent requests never lose a write or reuse an id.
"""

from __future__ import annotations

import copy
import itertools
import random
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

Record = dict[str, Any]
Key = int | str
INTERNAL_API = "_mock"  # collections of the mock itself (the outbox): kept in the store, not in `export()`


class StateError(Exception):
    """A state file the mock cannot use as it is; the message names the file and says how to go on."""


class IdSource:
    """Deterministic ids: `int` sequence, 24-hex (Mongo-like), numeric strings or uuid4 strings.

    Its position is `state` (next integer, random draws so far); `restore` continues from a saved one, which
    lets processes sharing a state file draw the same stream without ever handing out the same id twice.
    """

    def __init__(self, kind: str, seed: int, name: str, start: int = 1) -> None:
        self.kind, self.start = kind, start
        self._seed_key = f"{seed}:{name}"
        self.reset()

    def reset(self) -> None:
        self._next = self.start
        self._random = random.Random(self._seed_key)
        self.draws = 0

    @property
    def state(self) -> tuple[int, int]:
        return self._next, self.draws

    def restore(self, next_int: int, draws: int) -> None:
        self._next = next_int
        if draws < self.draws:
            self._random, self.draws = random.Random(self._seed_key), 0
        while self.draws < draws:
            self._draw()

    def advance_past(self, key: Key) -> None:
        if self.kind == "int" and isinstance(key, int) and key >= self._next:
            self._next = key + 1

    def __call__(self) -> Key:
        if self.kind == "int":
            self._next += 1
            return self._next - 1
        return self._draw()

    def _draw(self) -> str:
        self.draws += 1
        if self.kind == "hex24":
            return f"{self._random.getrandbits(96):024x}"
        if self.kind == "digits":
            return str(self._random.randrange(10**9, 10**10))
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))


class Collection(ABC):
    """Records of one resource type, in insertion order, with optional unique secondary indexes.

    `get`, `values` and friends return records the caller may read; to change one, `put` it back.
    """

    name: str

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __contains__(self, key: object) -> bool: ...

    @abstractmethod
    def clear(self) -> None: ...

    @abstractmethod
    def new_id(self) -> Key: ...

    @abstractmethod
    def put(self, key: Key, record: Record) -> Record:
        """Insert or replace the record stored under `key`; keeps unique indexes in step."""

    @abstractmethod
    def add(self, build: Callable[[Key], Record]) -> Record:
        """Allocate an id and store `build(id)` atomically."""

    @abstractmethod
    def get(self, key: Key) -> Record | None: ...

    @abstractmethod
    def find_unique(self, fieldname: str, value: Any) -> Record | None: ...

    @abstractmethod
    def delete(self, key: Key) -> Record | None: ...

    @abstractmethod
    def values(self) -> list[Record]: ...

    @abstractmethod
    def slice(self, start: int, stop: int) -> list[Record]:
        """Records start..stop in insertion order, without reading the rest (a page of a large store)."""

    def page_where(self, equal: Mapping[str, Any], start: int, stop: int) -> tuple[int, list[Record]]:
        """How many records have each top-level field of `equal` equal to its value, and those start..stop in
        insertion order. A database store answers it with an index, without reading every record."""
        found = self.where(lambda record: all(record.get(k) == v for k, v in equal.items()))
        return len(found), found[max(0, start) : max(0, stop)]

    def declare_filters(self, fields: tuple[str, ...]) -> None:
        """Top-level fields lists filter on by equality (`page_where`); a database store indexes and counts them,
        so such a page costs the same however many records there are. The others scan, as they do."""
        return None

    def delivery_queue(self) -> DeliveryQueue | None:
        """A queue of webhook deliveries shared by every process on this store, or None when each process
        delivers what it emitted itself (memory, SQLite)."""
        return None

    def __iter__(self) -> Iterator[Record]:
        return iter(self.values())

    def where(self, predicate: Callable[[Record], bool]) -> list[Record]:
        return [record for record in self.values() if predicate(record)]

    def export(self) -> list[Record]:
        return self.values()


class DeliveryQueue(ABC):
    """Webhook deliveries (log key, URL) waiting in a shared store; each process claims some for a lease
    and renews it while working on them, so a delivery has one owner, and a dead owner's go to another."""

    closed: bool  # the store is closed: nothing more to claim

    @abstractmethod
    def push(self, entries: list[tuple[Key, str]]) -> None: ...

    @abstractmethod
    def claim(self, owner: str, limit: int, lease_seconds: float) -> list[tuple[int, Key, str]]:
        """Renew `owner`'s leases, then claim up to `limit` free or expired deliveries: (queue id, key, URL)."""

    @abstractmethod
    def owns(self, qid: int, owner: str) -> bool: ...

    @abstractmethod
    def done(self, qid: int, owner: str) -> None:
        """The delivery is finished (delivered or out of retries): off the queue, if `owner` still holds it."""

    @abstractmethod
    def release(self, owner: str) -> None:
        """Give `owner`'s unfinished deliveries back (a clean shutdown), for another process to take at once."""

    @abstractmethod
    def pending(self) -> int:
        """Deliveries not finished, whoever holds them."""


class Store(ABC):
    """All collections of one mock app, grouped by API, sharing one re-entrant `lock`."""

    seed: int
    lock: AbstractContextManager[Any]

    def __init__(self) -> None:
        self._collections: dict[str, dict[str, Collection]] = {}

    def collection(
        self,
        api: str,
        name: str,
        id_kind: str = "int",
        start: int = 1,
        unique: tuple[str, ...] = (),
        filters: tuple[str, ...] = (),
    ) -> Collection:
        with self.lock:
            group = self._collections.setdefault(api, {})
            if name not in group:
                qualified = f"{api}.{name}"
                group[name] = self._open(qualified, IdSource(id_kind, self.seed, qualified, start), unique)
                if filters:
                    group[name].declare_filters(filters)
            return group[name]

    @abstractmethod
    def _open(self, name: str, ids: IdSource, unique: tuple[str, ...]) -> Collection:
        """A collection named `<api>.<name>`, unique across the store."""

    @abstractmethod
    def clear(self) -> None:
        """Empty every collection and forget which seed the state came from."""

    @abstractmethod
    def seeded_with(self) -> int | None:
        """The seed whose data the store holds (None when empty or only partly seeded)."""

    @abstractmethod
    def mark_seeded(self, seed: int) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Release what the store holds open (files)."""

    def health(self) -> dict[str, Any]:
        """What `/healthz` says about the store: nothing for one in this machine; a database store, whether
        it answers (`connected`)."""
        return {}

    def export(self) -> dict[str, dict[str, list[Record]]]:
        with self.lock:
            return {
                api: {name: c.export() for name, c in group.items()}
                for api, group in self._collections.items()
                if api != INTERNAL_API
            }


class MemoryCollection(Collection):
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
        with self._lock:
            old = self._items.get(key)
            for fieldname, index in self._unique.items():
                if old is not None and old.get(fieldname) is not None and index.get(old[fieldname]) == key:
                    del index[old[fieldname]]
                if record.get(fieldname) is not None:
                    index[record[fieldname]] = key
            self._items[key] = record
            self.ids.advance_past(key)
            return record

    def add(self, build: Callable[[Key], Record]) -> Record:
        with self._lock:  # `new_id` and `put` inlined: this is on every create's path (webhook log rows too)
            key = self.ids()
            while key in self._items:
                key = self.ids()
            record = build(key)
            if self._unique:
                return self.put(key, record)
            self._items[key] = record  # `ids` is already past `key`
            return record

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
        with self._lock:
            return list(itertools.islice(self._items.values(), start, stop))

    def where(self, predicate: Callable[[Record], bool]) -> list[Record]:
        return [record for record in self._items.values() if predicate(record)]

    def export(self) -> list[Record]:
        return copy.deepcopy(self.values())


class MemoryStore(Store):
    """The default: every record a dict in this process, gone when it exits."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed
        self.lock = self._rlock = threading.RLock()
        self._seeded_with: int | None = None

    def _open(self, name: str, ids: IdSource, unique: tuple[str, ...]) -> Collection:
        return MemoryCollection(name, ids, self._rlock, unique)

    def clear(self) -> None:
        with self.lock:
            self._seeded_with = None
            for group in self._collections.values():
                for collection in group.values():
                    collection.clear()

    def seeded_with(self) -> int | None:
        return self._seeded_with

    def mark_seeded(self, seed: int) -> None:
        self._seeded_with = seed

    def close(self) -> None:
        """Nothing to release: the dicts go with the app."""
