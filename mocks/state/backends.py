"""Which store backs a mock: memory by default, SQLite with a state file."""

from __future__ import annotations

from mocks.state.store import MemoryStore, Store


def open_store(seed: int, state_file: str | None = None) -> Store:
    """An in-memory store, or with `state_file` a SQLite one kept in that file (made when missing)."""
    if state_file is None:
        return MemoryStore(seed)
    from mocks.state.sqlite import SQLiteStore  # the in-memory default never loads sqlite3

    return SQLiteStore(seed, state_file)
