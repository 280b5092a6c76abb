"""Which store backs a mock: memory by default, SQLite with a state file, PostgreSQL with a URL."""

from __future__ import annotations

from mocks.state.store import MemoryStore, Store
from mocks.values import is_database


def open_store(seed: int, state_file: str | None = None) -> Store:
    """An in-memory store; with `state_file` a PostgreSQL one when it is a `postgresql://` URL, else a SQLite
    one kept in that file (made when missing)."""
    if state_file is None:
        return MemoryStore(seed)
    if is_database(state_file):
        from mocks.state.postgres import PostgresStore  # only a PostgreSQL state loads psycopg

        return PostgresStore(seed, state_file)
    from mocks.state.sqlite import SQLiteStore  # the in-memory default never loads sqlite3

    return SQLiteStore(seed, state_file)
