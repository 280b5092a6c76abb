"""`STATE=postgresql://...`: the store in a PostgreSQL database, shared by any number of mock processes on any
number of machines (replicas behind a load balancer serve one state).

Nothing is cached between calls: every read is a query, so a replica sees what the others committed. The
store's `lock` replaces SQLite's file lock with a transaction: the outermost `with store.lock:` of a thread
takes a pooled connection, opens a transaction and waits for one transaction-scoped advisory lock, so
check-then-act sequences (a unique external id, one active episode per condition, an order's next status)
exclude every other replica; it commits on exit, or rolls back when the block raises. A write outside the
lock takes it for itself. Reads outside it run on any pooled connection, in parallel across replicas. Ids
are allocated under the lock from counters kept in the database, so they never repeat across replicas, and
follow the same seeded stream as the in-memory store.

Tables (prefix `mock_`): `records` (one row per record: `raw`, the record's exact JSON, read back as it was
written, key order included; `data`, the same as JSONB for the database to filter on, where a string JSONB
cannot hold, with a NUL character or a lone surrogate, is null), `uniques` (value ->
key per unique field), `collections` (size and id counters), `meta` (format, seed of the data) and
`deliveries` (the webhook delivery queue, `DeliveryQueue`).

Equality filters on top-level fields (`page_where`) are answered by the database. A field a collection
declares (`declare_filters`: the vendor's documented list filters) has a partial expression index
`((data -> 'field'), seq) WHERE coll = '...'`, which gives a page in insertion order without reading the
others, and a count per value in `mock_counts`, kept by every write: the page and its total cost the same at
1k or 100k records. Other fields use a GIN index on `data` (`jsonb_path_ops`, containment) and count.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from mocks.state.store import Collection, DeliveryQueue, IdSource, Key, Record, StateError, Store
from mocks.values import shown_state

FORMAT = 1
LOCK_ID = 0x6D6F636B  # the advisory lock every writer takes ("mock")
BEGIN = f"BEGIN; SELECT pg_advisory_xact_lock({LOCK_ID})"  # one round trip
POOL_MAX = 16  # connections per process: one per thread that uses the store (API, webhook delivery), health checks
CONNECT_SECONDS = 10.0
SCALARS = (str, int, float, bool, type(None))
SCHEMA = """
CREATE TABLE IF NOT EXISTS mock_meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS mock_collections (
    name text PRIMARY KEY, size bigint NOT NULL, start bigint NOT NULL, next_int numeric NOT NULL,
    draws bigint NOT NULL);
CREATE TABLE IF NOT EXISTS mock_records (
    seq bigserial NOT NULL, coll text NOT NULL, key text NOT NULL, raw bytea NOT NULL, data jsonb NOT NULL,
    PRIMARY KEY (coll, key));
CREATE INDEX IF NOT EXISTS mock_records_in_order ON mock_records (coll, seq);
CREATE INDEX IF NOT EXISTS mock_records_fields ON mock_records USING gin (data jsonb_path_ops);
CREATE TABLE IF NOT EXISTS mock_uniques (
    coll text NOT NULL, field text NOT NULL, value text NOT NULL, key text NOT NULL,
    PRIMARY KEY (coll, field, value));
CREATE TABLE IF NOT EXISTS mock_deliveries (
    id bigserial PRIMARY KEY, queue text NOT NULL, log_key text NOT NULL, url text NOT NULL, owner text,
    lease_until timestamptz);
CREATE INDEX IF NOT EXISTS mock_deliveries_free ON mock_deliveries (queue, id);
CREATE TABLE IF NOT EXISTS mock_counts (
    coll text NOT NULL, field text NOT NULL, value jsonb NOT NULL, n bigint NOT NULL,
    PRIMARY KEY (coll, field, value));
"""


def _token(value: Any) -> str:
    """A key or indexed value as text, one-to-one and typed (`1` and `"1"` differ); ASCII, so any value fits."""
    return json.dumps(value)


def _untoken(text: str) -> Key:
    return json.loads(text)  # type: ignore[no-any-return]


def _dump(record: Record) -> tuple[bytes, str]:
    """The record's exact JSON, and the JSON of its searchable copy (`data`: JSONB holds no NUL character and
    no lone surrogate, so a string with one is null there)."""
    try:
        raw = orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # lone surrogates, integers beyond 64 bits (fuzzers send both)
        return json.dumps(record).encode(), json.dumps(_searchable(record))
    return raw, raw.decode() if b"\\u0000" not in raw else json.dumps(_searchable(record))


def _unfit(value: Any) -> bool:
    """A value JSONB cannot hold: a string with a NUL character or a lone surrogate, NaN, an infinity."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if not isinstance(value, str):
        return False
    if "\x00" in value:
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


def _searchable(value: Any) -> Any:
    if _unfit(value):
        return None
    if isinstance(value, dict):
        return {str(k): _searchable(v) for k, v in value.items() if not _unfit(k)}
    if isinstance(value, list):
        return [_searchable(v) for v in value]
    return value


def _load(raw: bytes) -> Record:
    try:
        return orjson.loads(raw)  # type: ignore[no-any-return]
    except orjson.JSONDecodeError:  # written by the standard library (`_dump`)
        return json.loads(raw)  # type: ignore[no-any-return]


class TransactionLock:
    """Re-entrant, across threads (an RLock) and replicas (the outermost level holds a transaction on the
    thread's connection, and the advisory lock)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._rlock = threading.RLock()
        self._depth = 0  # only changed by the thread holding `_rlock`

    def __enter__(self) -> TransactionLock:
        self._rlock.acquire()
        if self._depth == 0:
            try:
                with self._store.connection() as db:
                    db.execute(BEGIN)
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
                with self._store.connection() as db:
                    db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self._rlock.release()


class PostgresCollection(Collection):
    def __init__(self, store: PostgresStore, name: str, ids: IdSource, unique: tuple[str, ...]) -> None:
        self.name, self._store, self.ids, self._unique = name, store, ids, unique
        self._filters: tuple[str, ...] = ()
        self._lock = store.lock
        self._db = store.connection
        with self._lock, self._db() as db:
            db.execute(
                "INSERT INTO mock_collections (name, size, start, next_int, draws) VALUES (%s, 0, %s, %s, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (name, ids.start, ids.start),
            )

    def _one(self, sql: str, *params: Any) -> Any:
        with self._db() as db:
            row = db.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _records(self, sql: str, *params: Any) -> list[Record]:
        with self._db() as db:
            return [_load(raw) for (raw,) in db.execute(sql, params)]

    def __len__(self) -> int:
        return int(self._one("SELECT size FROM mock_collections WHERE name = %s", self.name))

    def __contains__(self, key: object) -> bool:
        sql = "SELECT 1 FROM mock_records WHERE coll = %s AND key = %s"
        return self._one(sql, self.name, _token(key)) is not None

    def clear(self) -> None:
        with self._lock, self._db() as db:
            db.execute("DELETE FROM mock_records WHERE coll = %s", (self.name,))
            db.execute("DELETE FROM mock_uniques WHERE coll = %s", (self.name,))
            db.execute("DELETE FROM mock_deliveries WHERE queue = %s", (self.name,))
            db.execute("DELETE FROM mock_counts WHERE coll = %s", (self.name,))
            db.execute(
                "UPDATE mock_collections SET size = 0, next_int = start, draws = 0 WHERE name = %s", (self.name,)
            )

    def new_id(self) -> Key:
        if self.ids.kind == "int":  # `put` keeps `next_int` past every integer key: the next one is free
            with self._lock, self._db() as db:
                row = db.execute(
                    "UPDATE mock_collections SET next_int = next_int + 1 WHERE name = %s RETURNING next_int - 1",
                    (self.name,),
                ).fetchone()
                assert row is not None  # made by __init__, never deleted
                return int(row[0])
        with self._lock, self._db() as db:
            row = db.execute("SELECT next_int, draws FROM mock_collections WHERE name = %s", (self.name,)).fetchone()
            assert row is not None  # made by __init__, never deleted
            self.ids.restore(int(row[0]), int(row[1]))
            key = self.ids()
            while key in self:
                key = self.ids()
            next_int, draws = self.ids.state
            db.execute(
                "UPDATE mock_collections SET next_int = %s, draws = %s WHERE name = %s", (next_int, draws, self.name)
            )
            return key

    def put(self, key: Key, record: Record) -> Record:
        raw, text = _dump(record)
        token = _token(key)
        after = key + 1 if isinstance(key, int) else None
        with self._lock, self._db() as db:
            old = self._old(db, token) if self._unique or self._filters else None
            db.execute(
                "WITH written AS (INSERT INTO mock_records (coll, key, raw, data) VALUES (%s, %s, %s, %s::jsonb)"
                " ON CONFLICT (coll, key) DO UPDATE SET raw = excluded.raw, data = excluded.data"
                " RETURNING (xmax = 0) AS added)"
                " UPDATE mock_collections SET size = size + (SELECT count(*) FROM written WHERE added),"
                " next_int = greatest(next_int, coalesce(%s::numeric, next_int)) WHERE name = %s",
                (self.name, token, raw, text, after, self.name),
            )
            for fieldname in self._unique:
                if old is not None and old.get(fieldname) is not None:
                    self._unindex(db, fieldname, old[fieldname], token)
                if record.get(fieldname) is not None:
                    db.execute(
                        "INSERT INTO mock_uniques (coll, field, value, key) VALUES (%s, %s, %s, %s)"
                        " ON CONFLICT (coll, field, value) DO UPDATE SET key = excluded.key",
                        (self.name, fieldname, _token(record[fieldname]), token),
                    )
            if self._filters:
                self._count(db, old, -1)
                self._count(db, record, 1)
            return record

    def _old(self, db: psycopg.Connection[Any], token: str) -> Record | None:
        """The stored record (for its indexed values), None when new."""
        row = db.execute("SELECT raw FROM mock_records WHERE coll = %s AND key = %s", (self.name, token)).fetchone()
        return None if row is None else _load(row[0])

    def _count(self, db: psycopg.Connection[Any], record: Record | None, step: int) -> None:
        """Add `step` to the count of each declared filter field's value in `record`."""
        if record is None:
            return
        for fieldname in self._filters:
            value = record.get(fieldname)
            if value is None or not isinstance(value, SCALARS) or _unfit(value):
                continue
            db.execute(
                "INSERT INTO mock_counts (coll, field, value, n) VALUES (%s, %s, %s::jsonb, %s)"
                " ON CONFLICT (coll, field, value) DO UPDATE SET n = mock_counts.n + excluded.n",
                (self.name, fieldname, json.dumps(value), step),
            )

    def declare_filters(self, fields: tuple[str, ...]) -> None:
        """An index per field, and its counts made from what is stored (another replica may have written)."""
        with self._lock, self._db() as db:
            for fieldname in fields:
                name = f"mock_f_{hashlib.sha1(f'{self.name}/{fieldname}'.encode()).hexdigest()[:16]}"
                db.execute(
                    sql.SQL("CREATE INDEX IF NOT EXISTS {} ON mock_records ((data -> {}), seq) WHERE coll = {}").format(
                        sql.Identifier(name), sql.Literal(fieldname), sql.Literal(self.name)
                    )
                )
                db.execute("DELETE FROM mock_counts WHERE coll = %s AND field = %s", (self.name, fieldname))
                db.execute(
                    "INSERT INTO mock_counts (coll, field, value, n) SELECT %s, %s, data -> %s, count(*)"
                    " FROM mock_records WHERE coll = %s AND jsonb_typeof(data -> %s) IN ('string', 'number', 'boolean')"
                    " GROUP BY 3",
                    (self.name, fieldname, fieldname, self.name, fieldname),
                )
            self._filters = fields

    def _unindex(self, db: psycopg.Connection[Any], fieldname: str, value: Any, token: str) -> None:
        db.execute(
            "DELETE FROM mock_uniques WHERE coll = %s AND field = %s AND value = %s AND key = %s",
            (self.name, fieldname, _token(value), token),
        )

    def add(self, build: Callable[[Key], Record]) -> Record:
        with self._lock:
            key = self.new_id()
            return self.put(key, build(key))

    def get(self, key: Key) -> Record | None:
        raw = self._one("SELECT raw FROM mock_records WHERE coll = %s AND key = %s", self.name, _token(key))
        return None if raw is None else _load(raw)

    def find_unique(self, fieldname: str, value: Any) -> Record | None:
        if fieldname not in self._unique:
            raise KeyError(fieldname)
        raw = self._one(
            "SELECT r.raw FROM mock_uniques u JOIN mock_records r ON r.coll = u.coll AND r.key = u.key"
            " WHERE u.coll = %s AND u.field = %s AND u.value = %s",
            self.name, fieldname, _token(value),
        )  # fmt: skip
        return None if raw is None else _load(raw)

    def delete(self, key: Key) -> Record | None:
        with self._lock, self._db() as db:
            token = _token(key)
            row = db.execute(
                "DELETE FROM mock_records WHERE coll = %s AND key = %s RETURNING raw", (self.name, token)
            ).fetchone()
            if row is None:
                return None
            record = _load(row[0])
            if self._filters:
                self._count(db, record, -1)
            db.execute("UPDATE mock_collections SET size = size - 1 WHERE name = %s", (self.name,))
            for fieldname in self._unique:
                if record.get(fieldname) is not None:
                    self._unindex(db, fieldname, record[fieldname], token)
            return record

    def values(self) -> list[Record]:
        return self._records("SELECT raw FROM mock_records WHERE coll = %s ORDER BY seq", self.name)

    def slice(self, start: int, stop: int) -> list[Record]:
        return self._records(
            "SELECT raw FROM mock_records WHERE coll = %s ORDER BY seq LIMIT %s OFFSET %s",
            self.name, max(0, stop - start), max(0, start),
        )  # fmt: skip

    def page_where(self, equal: Mapping[str, Any], start: int, stop: int) -> tuple[int, list[Record]]:
        if not equal or not all(isinstance(v, SCALARS) and v is not None and not _unfit(v) for v in equal.values()):
            return super().page_where(equal, start, stop)
        limit, offset = max(0, stop - start), max(0, start)
        indexed = next((f for f in self._filters if f in equal), None)
        if indexed is None:  # containment on the GIN index, counted
            wanted = json.dumps(dict(equal))
            where: sql.Composable = sql.SQL("coll = %s AND data @> %s::jsonb")
            params: tuple[Any, ...] = (self.name, wanted)
        else:  # the field's own index, in insertion order; the rest of `equal` checked on the way
            rest = {k: v for k, v in equal.items() if k != indexed}
            where = sql.SQL("coll = {} AND data -> {} = %s::jsonb").format(sql.Literal(self.name), sql.Literal(indexed))
            params = (json.dumps(equal[indexed]),)
            if rest:
                where = sql.SQL("{} AND data @> %s::jsonb").format(where)
                params += (json.dumps(rest),)
        with self._db() as db:
            if indexed is not None and len(equal) == 1:
                row = db.execute(
                    "SELECT n FROM mock_counts WHERE coll = %s AND field = %s AND value = %s::jsonb",
                    (self.name, indexed, params[0]),
                ).fetchone()
            else:
                row = db.execute(sql.SQL("SELECT count(*) FROM mock_records WHERE {}").format(where), params).fetchone()
            query = sql.SQL("SELECT raw FROM mock_records WHERE {} ORDER BY seq LIMIT %s OFFSET %s").format(where)
            found = [_load(raw) for (raw,) in db.execute(query, (*params, limit, offset))]
        return (int(row[0]) if row else 0), found

    def delivery_queue(self) -> DeliveryQueue:
        return PostgresQueue(self._store, self.name)


class PostgresQueue(DeliveryQueue):
    """Webhook deliveries waiting in the database: a replica claims some for a lease (`FOR UPDATE SKIP
    LOCKED`: two replicas never claim the same), renews the lease while it works on them and deletes each
    once finished. A replica that dies stops renewing: its deliveries are claimed by another when the lease
    runs out, and continue from the attempts their log rows show."""

    def __init__(self, store: PostgresStore, name: str) -> None:
        self._store, self.name = store, name

    @property
    def closed(self) -> bool:  # type: ignore[override]
        return self._store.closed

    def push(self, entries: list[tuple[Key, str]]) -> None:
        with self._store.connection() as db, db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO mock_deliveries (queue, log_key, url) VALUES (%s, %s, %s)",
                [(self.name, _token(key), url) for key, url in entries],
            )

    def claim(self, owner: str, limit: int, lease_seconds: float) -> list[tuple[int, Key, str]]:
        with self._store.connection() as db:
            db.execute(
                "UPDATE mock_deliveries SET lease_until = now() + make_interval(secs => %s) WHERE owner = %s",
                (lease_seconds, owner),
            )
            rows = db.execute(
                "UPDATE mock_deliveries SET owner = %s, lease_until = now() + make_interval(secs => %s)"
                " WHERE id IN (SELECT id FROM mock_deliveries WHERE queue = %s"
                " AND (owner IS NULL OR lease_until < now()) ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING id, log_key, url",
                (owner, lease_seconds, self.name, limit),
            ).fetchall()
        return sorted((qid, _untoken(key), url) for qid, key, url in rows)

    def owns(self, qid: int, owner: str) -> bool:
        with self._store.connection() as db:
            sql = "SELECT 1 FROM mock_deliveries WHERE id = %s AND owner = %s"
            return db.execute(sql, (qid, owner)).fetchone() is not None

    def done(self, qid: int, owner: str) -> None:
        with self._store.connection() as db:
            db.execute("DELETE FROM mock_deliveries WHERE id = %s AND owner = %s", (qid, owner))

    def release(self, owner: str) -> None:
        with self._store.connection() as db:
            db.execute("UPDATE mock_deliveries SET owner = NULL, lease_until = NULL WHERE owner = %s", (owner,))

    def pending(self) -> int:
        with self._store.connection() as db:
            row = db.execute("SELECT count(*) FROM mock_deliveries WHERE queue = %s", (self.name,)).fetchone()
        return int(row[0]) if row else 0


class PostgresStore(Store):
    """The store in a PostgreSQL database: a connection pool per process, one advisory lock for writers."""

    def __init__(self, seed: int, url: str) -> None:
        """Connect and make the tables a new database lacks; `StateError` when the database cannot be used."""
        super().__init__()
        self.seed, self.url = seed, url
        self.local = threading.local()
        self._pools: dict[int, ConnectionPool[Any]] = {}
        self._pools_lock = threading.Lock()
        self._closed = False
        self._handed_out: list[psycopg.Connection[Any]] = []  # kept by threads (`connection`)
        self.lock = TransactionLock(self)
        try:
            psycopg.connect(url, connect_timeout=int(CONNECT_SECONDS)).close()  # a server that is not there: at once
            found = self._prepare()
        except (psycopg.Error, PoolTimeout) as exc:
            self.close()
            cause = " ".join(str(exc).split())[:200]
            raise StateError(
                f"STATE={shown_state(url)}: PostgreSQL cannot be used ({cause}); check the server, the URL and the role"
            ) from exc
        if found != str(FORMAT):
            self.close()
            raise StateError(
                f"STATE={shown_state(url)} holds mock tables of format {found!r}, this mock reads format {FORMAT};"
                " drop the mock_* tables (or name another database) to start over from the seed"
            )

    @property
    def closed(self) -> bool:
        return self._closed

    def pool(self) -> ConnectionPool[Any]:
        """This process's pool (a new one after a fork: connections must not cross processes)."""
        pid = os.getpid()
        pool = self._pools.get(pid)
        if pool is None:
            with self._pools_lock:
                if self._closed:  # a thread still at work after `close` (a delivery) opens nothing new
                    raise psycopg.OperationalError("the mock's state store is closed")
                pool = self._pools.get(pid)
                if pool is None:
                    pool = ConnectionPool(
                        self.url, min_size=0, max_size=POOL_MAX, kwargs={"autocommit": True},
                        timeout=CONNECT_SECONDS, open=False, name=f"mock-state-{pid}",
                        reconnect_timeout=CONNECT_SECONDS,  # a server gone for good: give up, not retry 5 minutes
                    )  # fmt: skip
                    self._pools[pid] = pool  # closed by `close`, even when it never connects
                    pool.open(wait=True, timeout=CONNECT_SECONDS)
        return pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """This thread's connection, taken from the pool on first use and kept (a query costs one round trip,
        not a pool hand-over); a broken one goes back to the pool, which replaces it."""
        local, pid = self.local, os.getpid()
        held = getattr(local, "connection", None)
        if held is None or local.pid != pid:
            held = local.connection = self.pool().getconn()
            local.pid = pid
            with self._pools_lock:
                self._handed_out.append(held)
        try:
            yield held
        except psycopg.OperationalError:
            if held.closed or held.broken:  # the pool discards it and makes another
                local.connection = None
                with self._pools_lock, suppress(ValueError):  # not there once the store is closed
                    self._handed_out.remove(held)
                with suppress(PoolClosed, psycopg.Error):
                    self.pool().putconn(held)
            raise

    def _prepare(self) -> str:
        with self.lock, self.connection() as db:
            db.execute(SCHEMA)
            db.execute("INSERT INTO mock_meta (name, value) VALUES ('format', %s) ON CONFLICT DO NOTHING", (FORMAT,))
            row = db.execute("SELECT value FROM mock_meta WHERE name = 'format'").fetchone()
            return str(row[0]) if row else ""

    def _open(self, name: str, ids: IdSource, unique: tuple[str, ...]) -> Collection:
        return PostgresCollection(self, name, ids, unique)

    def clear(self) -> None:
        with self.lock, self.connection() as db:
            db.execute("DELETE FROM mock_records")
            db.execute("DELETE FROM mock_uniques")
            db.execute("DELETE FROM mock_deliveries")
            db.execute("DELETE FROM mock_counts")
            db.execute("DELETE FROM mock_meta WHERE name = 'seed'")
            db.execute("UPDATE mock_collections SET size = 0, next_int = start, draws = 0")

    def seeded_with(self) -> int | None:
        with self.connection() as db:
            row = db.execute("SELECT value FROM mock_meta WHERE name = 'seed'").fetchone()
        return None if row is None else int(row[0])

    def mark_seeded(self, seed: int) -> None:
        with self.lock, self.connection() as db:
            db.execute(
                "INSERT INTO mock_meta (name, value) VALUES ('seed', %s)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (str(seed),),
            )

    def health(self) -> dict[str, Any]:
        try:
            with self.pool().connection(timeout=2.0) as db:
                db.execute("SELECT 1")
        except (psycopg.Error, PoolTimeout) as exc:
            return {"backend": "postgresql", "connected": False, "error": " ".join(str(exc).split())[:200]}
        return {"backend": "postgresql", "connected": True}

    def close(self) -> None:
        with self._pools_lock:
            pools, self._pools, self._closed = self._pools, {}, True
            handed_out, self._handed_out = self._handed_out, []
        for connection in handed_out:
            connection.close()
        for pid, pool in pools.items():
            if pid == os.getpid():
                pool.close()
