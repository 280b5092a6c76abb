"""`python -m contracts`: check a server (or a freshly started mock) against the specs.

Exit code 0 when every API keeps its contract, 1 when one breaks it, 2 for a configuration or
connection problem (unknown API, invalid spec, unreachable URL, every call 401), with a one-line cause.

`--shard i/n` (SHARD=i/n) runs shard i of n of the operations (contracts/shard.py), reporting to
reports/shard-<i>/ unless REPORTS says otherwise; `python -m contracts merge reports/shard-*/` joins the
shards' reports into one (reports/ or --reports), with the same exit codes.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from schemathesis.engine import events

import specs
from contracts.auth import ConfigurationError
from contracts.guard import WriteGuard
from contracts.report import RUN_FILE, merge_runs, summary, write_json, write_junit, write_markdown
from contracts.runner import PROFILES, Outcome, run
from contracts.shard import parse_shard, shard_operations


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


def parse(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m contracts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--api", default=env.get("API") or "all", help=f"{', '.join(specs.APIS)} or all")
    parser.add_argument("--url", default=env.get("URL") or None, help="the API's base URL; none: start the mock")
    parser.add_argument("--profile", default=env.get("PROFILE") or "quick", help="quick (default) or deep")
    parser.add_argument("--read-only", action="store_true", default=_truthy(env.get("READ_ONLY")),
                        help="only operations that change nothing")  # fmt: skip
    parser.add_argument("--rate", default=env.get("RATE") or None, help="request rate limit, e.g. 10/s")
    parser.add_argument("--reports", default=env.get("REPORTS") or None,
                        help="folder for JUnit, Markdown and JSON (default reports, or reports/shard-<i>)")  # fmt: skip
    parser.add_argument("--shard", default=env.get("SHARD") or None, help="i/n: run shard i of n of the operations")
    return parser.parse_args(argv)


def check_arguments(args: argparse.Namespace) -> list[str]:
    apis = list(specs.APIS) if args.api == "all" else [args.api]
    unknown = [a for a in apis if a not in specs.APIS]
    if unknown:
        raise ConfigurationError(f"unknown API {unknown[0]!r}; use one of {', '.join(specs.APIS)} or all")
    if args.profile not in PROFILES:
        raise ConfigurationError(f"unknown PROFILE {args.profile!r}; use quick or deep")
    if args.url and len(apis) > 1:
        raise ConfigurationError(f"URL is one API's base URL: give API={' or '.join(specs.APIS)} with it")
    if args.rate and not re.fullmatch(r"\d+/(s|m|h)", args.rate):
        raise ConfigurationError(f"RATE={args.rate!r} is not like 10/s, 100/m or 1000/h")
    for api in apis:
        try:
            specs.load(api)
        except Exception as exc:  # prance/validator errors come in many types
            raise ConfigurationError(f"the {api} spec does not load: {exc}") from exc
    args.shard = parse_shard(args.shard) if args.shard else None
    return apis


def check_reachable(url: str) -> None:
    try:
        httpx.get(url, timeout=15)
    except httpx.HTTPError as exc:
        raise ConfigurationError(f"cannot reach {url}: {exc.__class__.__name__}: {exc}") from exc


@contextmanager
def started_mock() -> Iterator[str]:
    """A mock server on a free loopback port, for the length of the run."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "mocks", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{root}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise ConfigurationError(
                    f"the mock did not start: {(process.stderr.read() if process.stderr else '')[-300:]}"
                )
            time.sleep(0.1)
        yield root
    finally:
        process.terminate()
        process.wait(timeout=10)


class Progress:
    """One line per phase and a dot per 25 scenarios, so CI logs show the run is alive."""

    def __init__(self, api: str) -> None:
        self.api, self.count = api, 0

    def __call__(self, event: Any) -> None:
        if isinstance(event, events.PhaseStarted):
            print(f"\n{self.api}: {event.phase.name.value} ", end="", flush=True)
        elif isinstance(event, events.ScenarioFinished):
            self.count += 1
            if self.count % 25 == 0:
                print(".", end="", flush=True)


def run_all(apis: list[str], args: argparse.Namespace, root: str | None) -> list[Outcome]:
    outcomes = []
    chosen = shard_operations(apis, *args.shard) if args.shard else {api: None for api in apis}
    for api, operation_ids in chosen.items():
        base_url = args.url.rstrip("/") if args.url else f"{root}{specs.facts(api).base_path}"
        check_reachable(base_url)
        outcome = run(api, base_url=base_url, read_only=args.read_only, rate=args.rate, guard=WriteGuard(),
                      shared=bool(args.url), on_event=Progress(api), config=_config(args),
                      operation_ids=operation_ids)  # fmt: skip
        print()
        if outcome.locked_out:
            raise ConfigurationError(f"every call to {base_url} answered 401: check the {api} credentials")
        config_errors = [e for e in outcome.errors if "ConfigurationError" in e]
        if config_errors:
            raise ConfigurationError(config_errors[0])
        outcomes.append(outcome)
    return outcomes


def _config(args: argparse.Namespace) -> Any:
    from contracts.runner import load_config

    overrides = {"phases": {"stateful": {"enabled": False}}} if args.read_only else None
    return load_config(args.profile, overrides)


def merge(argv: list[str]) -> int:
    """`python -m contracts merge DIR... [--reports OUT]`: one report from the runs written to each DIR."""
    parser = argparse.ArgumentParser(prog="python -m contracts merge", description=merge.__doc__)
    parser.add_argument("folders", nargs="+", type=Path, help="the shards' report folders (reports/shard-*/)")
    parser.add_argument("--reports", default=os.environ.get("REPORTS") or "reports", help="folder for the merged")
    args = parser.parse_args(argv)
    try:
        target, outcomes = merge_runs([folder / RUN_FILE for folder in args.folders])
    except ValueError as problem:
        print(f"contract merge: {problem}", file=sys.stderr)
        return 2
    return report(outcomes, target, None, Path(args.reports))


def report(outcomes: list[Outcome], target: str, shard: tuple[int, int] | None, folder: Path) -> int:
    """Print each API's summary, write the reports to `folder`; the exit code."""
    print()
    for outcome in outcomes:
        print(summary(outcome))
    junit, markdown = write_junit(outcomes, folder / "contract-junit.xml"), folder / "contract.md"
    write_json(outcomes, target, shard, folder / RUN_FILE)
    print(f"\nreports: {junit}, {write_markdown(outcomes, target, markdown)}")
    return 0 if all(o.ok for o in outcomes) else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["merge"]:
        return merge(argv[1:])
    args = parse(argv)
    try:
        apis = check_arguments(args)
        if args.url:
            outcomes = run_all(apis, args, None)
        else:
            with started_mock() as root:
                outcomes = run_all(apis, args, root)
    except ConfigurationError as problem:
        print(f"contract: configuration problem: {problem}", file=sys.stderr)
        return 2
    folder = Path(args.reports or (f"reports/shard-{args.shard[0]}" if args.shard else "reports"))
    target = args.url or "the mock"
    return report(outcomes, target, args.shard, folder)


if __name__ == "__main__":
    raise SystemExit(main())
