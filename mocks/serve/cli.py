"""Command-line glue for `python -m mocks`: flags passed on as environment variables (so a reloaded worker
reads the same settings), argument types with one-line messages, and a parser that errors in one line."""

from __future__ import annotations

import argparse
import os
from collections.abc import MutableMapping

# flag -> (environment variable, help)
ENV_FLAGS: dict[str, tuple[str, str]] = {
    "--seed": ("SEED", "seed for the fake data (default $SEED or 0)"),
    "--latency": (
        "LATENCY",
        "added latency in ms for every API: 200 or 50-300 (per API: <API>_LATENCY, its name in capitals)",
    ),
    "--error-rate": ("ERROR_RATE", "share of calls answered with a documented 5xx/429, e.g. 0.05"),
    "--journal-size": ("JOURNAL_SIZE", "requests kept by /__mock/requests (default 500)"),
    "--state": ("STATE", "SQLite file keeping the state across restarts and workers (default: in memory)"),
    "--workers": ("WORKERS", "worker processes sharing one state; more than 1 needs STATE (default 1)"),
    "--fixtures": ("FIXTURES", "a state fixture file (YAML or JSON) loaded after the seed and after each reset"),
}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: `error: <what>; see --help`, exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message}; see python -m mocks --help\n")


def port(text: str) -> int:
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port; use a number from 1 to 65535, e.g. PORT=8080")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for flag, (variable, text) in ENV_FLAGS.items():
        parser.add_argument(flag, dest=variable, default=None, metavar=variable, help=text)
    parser.add_argument("--access-log", action="store_true", help="one line per request (or ACCESS_LOG=1)")
    parser.add_argument("--reload", action="store_true", help="restart when mocks/ or specs/ change (development)")


def export(args: argparse.Namespace, environ: MutableMapping[str, str] = os.environ) -> None:
    """Put the given flags into `environ`, where `config.from_env` (in this process or a reloaded worker)
    reads them; flags win over variables already set."""
    for variable, _ in ENV_FLAGS.values():
        value = getattr(args, variable)
        if value is not None:
            environ[variable] = str(value)
    if args.access_log:
        environ["ACCESS_LOG"] = "1"
