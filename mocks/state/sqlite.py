"""`STATE=<file>`: the store in one SQLite file, so state survives restarts and `WORKERS` processes share it.

Nothing is cached between calls: every read is a query on this thread's connection, so it sees what other
processes committed (WAL mode: readers never wait for the writer). Every write is a transaction. The store's
`lock` is re-entrant: the outermost `with store.lock:` of a thread opens `BEGIN IMMEDIATE` (the file's single
write lock, so check-then-act sequences exclude other processes too) and commits on exit, or rolls back when
the block raises. Ids are allocated under that lock from counters kept in the file (`collections`), so two
processes never hand out the same id, and the random ids follow the same seeded stream as the in-memory store.

Tables: `records` (one row per record, its rowid giving insertion order; JSON `data`), `uniques` (value ->
key per unique field), `collections` (size and id counters) and `meta` (file format, seed of the data).

Opening a file runs SQLite's integrity check first: a damaged, truncated or foreign file is refused with a
`StateError` naming it (and left as it is), never served half-readable.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from mocks.state.store import Collection, IdSource, Key, Record, StateError, Store

FORMAT = 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SLOW_JSON = b" "  # leads JSON written by the standard library (orjson never starts with a space)
BUSY_TIMEOUT_SECONDS = 30.0
DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}  # result codes of a file that is no sound database
RECOVER = "move it away or delete it to start over from the seed"
CAUSE_CHARS = 200
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY, size INTEGER NOT NULL, start INTEGER NOT NULL, next_int INTEGER NOT NULL,
    draws INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, coll TEXT NOT NULL, key NOT NULL, data BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS records_by_key ON records (coll, key);
CREATE INDEX IF NOT EXISTS records_in_order ON records (coll, seq);
CREATE TABLE IF NOT EXISTS uniques (
    coll TEXT NOT NULL, field TEXT NOT NULL, value NOT NULL, key NOT NULL, PRIMARY KEY (coll, field, value));
"""


def _dump(record: Record) -> bytes:
    try:
        return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # lone UTF-16 surrogates or integers beyond 64 bits (fuzzers send both): the standard
        return SLOW_JSON + json.dumps(record).encode()  # library keeps them, and reads them back (`_load`)


def _load(data: bytes) -> Record:
    if data.startswith(SLOW_JSON):
        return json.loads(data)  # type: ignore[no-any-return]
    return orjson.loads(data)  # type: ignore[no-any-return]


def _bindable(value: Any) -> Any:
    """Keys and indexed values as SQLite takes them, one-to-one: what SQLite cannot hold (a string with a lone
    surrogate, an integer beyond 64 bits) becomes bytes, which never equal a text or integer value."""
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass")
    elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return b"int:%d" % value
    return value


def _unusable(path: str, exc: sqlite3.DatabaseError | OSError) -> str:
    """One line naming the file, what is wrong with it (SQLite's words, shortened) and how to go on."""
    cause = " ".join(str(exc).split())
    cause = cause if len(cause) <= CAUSE_CHARS else cause[: CAUSE_CHARS - 3] + "..."
    if isinstance(exc, sqlite3.DatabaseError) and _primary_code(exc) in DAMAGED:
        return f"STATE file {path} is damaged (SQLite: {cause}); {RECOVER}, or restore a copy of it"
    return f"STATE file {path} cannot be opened ({cause}); check the path and its permissions"


def _primary_code(exc: sqlite3.DatabaseError) -> int:
    """SQLite's primary result code (0 for an error the sqlite3 module raised itself)."""
    return int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF


def _roll_back(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        connection.execute("ROLLBACK")


class FileLock:
    """Re-entrant, across threads (an RLock) and processes (the outermost level holds a write transaction)."""

    def __init__(self, connection: Callable[[], sqlite3.Connection]) -> None:
        self._connection = connection
        self._rlock = threading.RLock()
        self._depth = 0  # only changed by the thread holding `_rlock`

    def __enter__(self) -> FileLock:
        self._rlock.acquire()
        if self._depth == 0:
            try:
                self._connection().execute("BEGIN IMMEDIATE")
            except BaseException:
                self._rlock.release()
                raise
        self._depth += 1
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._depth -= 1
        try:
            if self._depth == 0:
                connection = self._connection()
                if kind is None:
                    try:
                        connection.execute("COMMIT")
                    except BaseException:
                        _roll_back(connection)
                        raise
                else:
                    _roll_back(connection)
        finally:
            self._rlock.release()


class SQLiteCollection(Collection):
    def __init__(self, store: SQLiteStore, name: str, ids: IdSource, unique: tuple[str, ...]) -> None:
        self.name, self._store, self.ids, self._unique = name, store, ids, unique
        self._db = store.connection
        self._lock = store.lock
        with self._lock:
            self._db().execute(
                "INSERT OR IGNORE INTO collections (name, size, start, next_int, draws) VALUES (?, 0, ?, ?, 0)",
                (name, ids.start, ids.start),
            )

    def _one(self, sql: str, *params: Any) -> Any:
        row = self._db().execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _records(self, sql: str, *params: Any) -> list[Record]:
        return [_load(data) for (data,) in self._db().execute(sql, params)]

    def __len__(self) -> int:
        return int(self._one("SELECT size FROM collections WHERE name = ?", self.name))

    def __contains__(self, key: object) -> bool:
        return self._one("SELECT 1 FROM records WHERE coll = ? AND key = ?", self.name, _bindable(key)) is not None

    def clear(self) -> None:
        with self._lock:
            db = self._db()
            db.execute("DELETE FROM records WHERE coll = ?", (self.name,))
            db.execute("DELETE FROM uniques WHERE coll = ?", (self.name,))
            db.execute("UPDATE collections SET size = 0, next_int = start, draws = 0 WHERE name = ?", (self.name,))

    def new_id(self) -> Key:
        with self._lock:
            db = self._db()
            next_int, draws = db.execute(
                "SELECT next_int, draws FROM collections WHERE name = ?", (self.name,)
            ).fetchone()
            self.ids.restore(next_int, draws)
            key = self.ids()
            while key in self:
                key = self.ids()
            db.execute("UPDATE collections SET next_int = ?, draws = ? WHERE name = ?", (*self.ids.state, self.name))
            return key

    def put(self, key: Key, record: Record) -> Record:
        with self._lock:
            db, bound, data = self._db(), _bindable(key), _dump(record)
            old = self.get(key) if self._unique else None
            replaced = db.execute("UPDATE records SET data = ? WHERE coll = ? AND key = ?", (data, self.name, bound))
            if replaced.rowcount == 0:
                db.execute("INSERT INTO records (coll, key, data) VALUES (?, ?, ?)", (self.name, bound, data))
                db.execute("UPDATE collections SET size = size + 1 WHERE name = ?", (self.name,))
            for fieldname in self._unique:
                if old is not None and old.get(fieldname) is not None:
                    self._unindex(fieldname, old[fieldname], bound)
                if record.get(fieldname) is not None:
                    db.execute(
                        "INSERT OR REPLACE INTO uniques (coll, field, value, key) VALUES (?, ?, ?, ?)",
                        (self.name, fieldname, _bindable(record[fieldname]), bound),
                    )
            if isinstance(key, int) and key < INT64_MAX:
                db.execute("UPDATE collections SET next_int = max(next_int, ?) WHERE name = ?", (key + 1, self.name))
            return record

    def _unindex(self, fieldname: str, value: Any, bound_key: Any) -> None:
        self._db().execute(
            "DELETE FROM uniques WHERE coll = ? AND field = ? AND value = ? AND key = ?",
            (self.name, fieldname, _bindable(value), bound_key),
        )

    def add(self, build: Callable[[Key], Record]) -> Record:
        with self._lock:
            key = self.new_id()
            return self.put(key, build(key))

    def get(self, key: Key) -> Record | None:
        data = self._one("SELECT data FROM records WHERE coll = ? AND key = ?", self.name, _bindable(key))
        return None if data is None else _load(data)

    def find_unique(self, fieldname: str, value: Any) -> Record | None:
        if fieldname not in self._unique:
            raise KeyError(fieldname)
        data = self._one(
            "SELECT r.data FROM uniques u JOIN records r ON r.coll = u.coll AND r.key = u.key"
            " WHERE u.coll = ? AND u.field = ? AND u.value = ?",
            self.name, fieldname, _bindable(value),
        )  # fmt: skip
        return None if data is None else _load(data)

    def delete(self, key: Key) -> Record | None:
        with self._lock:
            record = self.get(key)
            if record is not None:
                bound, db = _bindable(key), self._db()
                db.execute("DELETE FROM records WHERE coll = ? AND key = ?", (self.name, bound))
                db.execute("UPDATE collections SET size = size - 1 WHERE name = ?", (self.name,))
                for fieldname in self._unique:
                    if record.get(fieldname) is not None:
                        self._unindex(fieldname, record[fieldname], bound)
            return record

    def values(self) -> list[Record]:
        return self._records("SELECT data FROM records WHERE coll = ? ORDER BY seq", self.name)

    def slice(self, start: int, stop: int) -> list[Record]:
        limit = max(0, stop - start)
        return self._records(
            "SELECT data FROM records WHERE coll = ? ORDER BY seq LIMIT ? OFFSET ?", self.name, limit, max(0, start)
        )


def _refuse_foreign(path: str) -> None:
    """`StateError` when `path` is another program's SQLite database (tables, none of them ours): adding our
    tables, or even switching it to WAL, would change it. Looked at read-only, before anything writes."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return
    with closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)) as db:
        tables = sorted(row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    if tables and "meta" not in tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise StateError(
            f"STATE file {path} is another program's SQLite database (tables: {shown}), not a mock state file;"
            " it was left untouched: name a new file (e.g. STATE=mock.sqlite3)"
        )


class SQLiteStore(Store):
    """The store in a SQLite file: one connection per thread (and process), WAL, a 30 s busy timeout."""

    def __init__(self, seed: int, path: str | os.PathLike[str]) -> None:
        """Open (or make) the file; `StateError` when it is not a sound state file of this format."""
        super().__init__()
        self.seed, self.path = seed, str(path)
        if self.path == ":memory:" or self.path.startswith("file:"):
            raise StateError(f"STATE={self.path!r}: name a file path (each connection would get its own database)")
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self.lock = FileLock(self.connection)
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            _refuse_foreign(self.path)
            self._check()
            found = self._prepare()
        except (sqlite3.DatabaseError, OSError) as exc:
            self.close()
            raise StateError(_unusable(self.path, exc)) from exc
        except StateError:
            self.close()
            raise
        if found != FORMAT:
            self.close()
            raise StateError(f"STATE file {self.path} has format {found!r}, this mock reads format {FORMAT}; {RECOVER}")

    def _check(self) -> None:
        """SQLite's full integrity check: every page, and every index against its table. With 500,000 records
        (277 MB) it takes 1.3 s here; `quick_check` takes 0.3 s but misses indexes that disagree with their
        tables (in 300 trials of 64 random bytes overwritten in a state file, it missed 10 of the 89 damages
        found). A new or empty file passes at once."""
        problems = [row[0] for row in self.connection().execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            damage = sqlite3.DatabaseError("; ".join(problems))
            damage.sqlite_errorcode = sqlite3.SQLITE_CORRUPT  # what SQLite says when a query meets the damage
            raise damage

    def _prepare(self) -> Any:
        """Make the tables a new file lacks; the file's format."""
        with self.lock:
            db = self.connection()
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('format', ?)", (FORMAT,))
            return db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()[0]

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: connections must not cross processes)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.connection, local.pid = self._connect(), os.getpid()
        return local.connection  # type: ignore[no-any-return]

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")  # WAL: a commit survives a crash of the process
        with self._opened_lock:
            self._opened.append(connection)
        return connection

    def _open(self, name: str, ids: IdSource, unique: tuple[str, ...]) -> Collection:
        return SQLiteCollection(self, name, ids, unique)

    def clear(self) -> None:
        with self.lock:
            db = self.connection()
            db.execute("DELETE FROM records")
            db.execute("DELETE FROM uniques")
            db.execute("DELETE FROM meta WHERE name = 'seed'")
            db.execute("UPDATE collections SET size = 0, next_int = start, draws = 0")

    def seeded_with(self) -> int | None:
        row = self.connection().execute("SELECT value FROM meta WHERE name = 'seed'").fetchone()
        return None if row is None else int(row[0])

    def mark_seeded(self, seed: int) -> None:
        with self.lock:
            self.connection().execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('seed', ?)", (seed,))

    def close(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._local = threading.local()
