"""A real PostgreSQL server for the tests: Debian's `postgresql` binaries (`make test` installs the package when
missing), a cluster made by `initdb` in a temporary folder, listening on a Unix socket in that folder only
(no TCP port is opened), stopped and deleted after.

`initdb` refuses to run as root: run as root (as CI does), the cluster belongs to `nobody` and its commands
run through `runuser`; the tests connect over the socket as the cluster's superuser (`trust` on the socket).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.support.helpers import free_port

SUPERUSER = "postgres"
UNPRIVILEGED = "nobody"
SETTINGS = ("-c listen_addresses='' -c max_connections=400 -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c shared_buffers=64MB")  # fmt: skip  # a throwaway cluster


def bin_dir() -> Path:
    """The newest installed PostgreSQL's programs (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql (as root)")


class PostgresServer:
    """One throwaway cluster; `database()` makes a fresh, empty database and returns its URL."""

    def __init__(self) -> None:
        self.bin = bin_dir()
        self.port = free_port()  # names the socket file; nothing listens on TCP
        self.folder = Path(tempfile.mkdtemp(prefix="mock-postgres-"))
        self.data = self.folder / "data"
        self._names = itertools.count(1)
        self._as_root = os.geteuid() == 0

    def _run(self, *argv: str) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self._as_root:
            command = ["runuser", "-u", UNPRIVILEGED, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:] or done.stdout[-2000:]}")

    def start(self) -> PostgresServer:
        if self._as_root:
            shutil.chown(self.folder, UNPRIVILEGED)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-k {self.folder} -p {self.port} {SETTINGS}"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.folder}&port={self.port}"

    def database(self) -> str:
        """A new, empty database; its URL."""
        name = f"mock_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
