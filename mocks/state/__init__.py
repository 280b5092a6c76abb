"""Stored state: the store interface, memory and SQLite backends, fake data."""
