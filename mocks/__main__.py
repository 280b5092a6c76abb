"""`python -m mocks [--host H] [--port P] [--seed N] [--latency MS] [--reload] ...`: serve the mock APIs."""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Mapping, Sequence

from mocks.config import from_env
from mocks.dx.admin import credentials_table
from mocks.dx.fixtures import FixtureError
from mocks.http.guard import exposure_refusals, exposure_warning
from mocks.serve.cli import OneLineParser, add_arguments, export, port
from mocks.serve.server import SpecError, build, load_specs, run
from mocks.state.store import StateError
from mocks.vendor import Vendor
from mocks.vendors import VENDORS


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno != errno.EADDRINUSE
    return True


def banner(
    host: str,
    port: int,
    seed: int,
    credentials: dict[str, str],
    state_file: str | None = None,
    workers: int = 1,
    vendors: Sequence[Vendor] = VENDORS,
    protected: bool = False,
    upstreams: Mapping[str, str] | None = None,
) -> str:
    """What `python -m mocks` prints at start: each API's base URL, docs and credentials (`credentials`: slug
    -> one line), the admin routes, where the state is kept and the upstreams proxied to."""
    upstreams = upstreams or {}
    shown = f"[{host}]" if ":" in host else host
    lines = [f"Healthcare API mocks (seed {seed}) on http://{shown}:{port}/"]
    for api in vendors:
        base = f"http://{shown}:{port}{api.base_path}"
        lines.append(f"  {api.title:<18} {base}   docs: {base}/ui/")
        lines.append(f"  {'':<18} {credentials[api.slug]}")
    token = " (Authorization: Bearer $ADMIN_TOKEN)" if protected else ""
    lines.append(f"  Admin: http://{shown}:{port}/__mock{token}   Health: http://{shown}:{port}/healthz")
    kept = f"in the SQLite file {state_file} (survives restarts)" if state_file else "in memory (STATE=<file> keeps it)"
    lines.append(f"  State: {kept}, {workers} worker process{'es' if workers > 1 else ''}")
    lines += [f"  Proxy: {api} -> {url} (drift: http://{shown}:{port}/__mock/drift)" for api, url in upstreams.items()]
    return "\n".join(lines)


def _could_not_start(exc: Exception) -> int:
    """Say in one line why the mock could not start (a spec or handler that does not load); exit code 2."""
    cause = " ".join(str(exc).split())[:400]
    print(
        f"error: the mock could not start: {exc.__class__.__name__}: {cause}; "
        "fix it (`make lint` validates the specs) and start again",
        file=sys.stderr,
    )
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m mocks", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    parser.add_argument("--log-level", default="warning", help="the HTTP server's log level (default warning)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    environ = {**os.environ}
    export(args, environ)
    # Webhooks to the mock itself are refused (mocks/webhooks/policy.py): its port, for this and worker processes.
    environ["OWN_PORTS"] = ",".join(filter(None, (str(args.port), environ.get("OWN_PORTS"))))
    environ["MOCK_LISTEN"] = f"{args.host}:{args.port}"  # a served name; the landing page says where
    try:
        load_specs(VENDORS)  # first: the vendors' default credentials are read from their specs
    except SpecError as exc:
        return _could_not_start(exc)
    try:
        config = from_env(environ=environ, vendors=VENDORS)
        workers = worker_count(environ, config.state_file, args.reload)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    refusals = exposure_refusals(args.host, args.port, config, VENDORS)
    if refusals:  # beyond loopback: an admin token, own credentials, CORS origins (mocks/http/guard.py)
        print("\n".join(f"error: {reason}" for reason in refusals), file=sys.stderr)
        return 2
    if not _port_is_free(args.host, args.port):
        print(f"error: port {args.port} on {args.host} is in use; pick another with PORT=... / --port", file=sys.stderr)
        return 2
    try:
        app = build(config)
    except (StateError, FixtureError) as exc:  # the STATE or FIXTURES file: named, with what is wrong
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a spec or handler that does not load: say which, in one line
        return _could_not_start(exc)
    credentials = credentials_table(VENDORS, config)
    protected = bool(config.admin_token)
    text = banner(
        args.host,
        args.port,
        config.seed,
        credentials,
        config.state_file,
        workers,
        protected=protected,
        upstreams=config.upstreams,
    )
    print(text, flush=True)
    warning = exposure_warning(args.host, args.port, config, VENDORS)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if args.reload or workers > 1:
        os.environ.update(environ)  # reloaded or worker processes build their app from the environment
    run(app, args.host, args.port, args.log_level, args.reload, workers)
    return 0


def worker_count(environ: dict[str, str], state_file: str | None, reload: bool) -> int:
    """WORKERS as a number; several workers must share a state file and cannot reload."""
    text = environ.get("WORKERS", "1").strip() or "1"
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"WORKERS={text!r} is not a number of processes; use e.g. WORKERS=2")
    workers = int(text)
    if workers > 1 and not state_file:
        raise ValueError("WORKERS>1 needs STATE=<file>: worker processes share their state through it")
    if workers > 1 and reload:
        raise ValueError("RELOAD=1 runs one process; drop WORKERS or RELOAD")
    return workers


if __name__ == "__main__":
    raise SystemExit(main())
