"""Serving the mock: `run` serves a built app in this process with Granian, or, with reload or several
workers, `app_from_env` (the factory the server imports in each process) with uvicorn."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from pathlib import Path

import uvicorn
import uvloop
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server.embed import Server
from starlette.types import ASGIApp

import specs
from mocks.app import context_of, create_app
from mocks.config import MockConfig, from_env
from mocks.dispatch import FrontDoor
from mocks.dx.journal import ACCESS_LOGGER
from mocks.guard import HostGuard, served_names

FACTORY = "mocks.dx.serve:app_from_env"
ROOT = Path(__file__).resolve().parents[2]
RELOAD_DIRS = (ROOT / "mocks", ROOT / "specs")
RELOAD_INCLUDES = ("*.py", "*.yaml", "*.yml", "*.html", "*.css", "*.js")
# The collector's thresholds for the served mock. A write leaves a record behind and little garbage in
# cycles, so the default young-generation threshold (700) ran a collection every few hundred requests, and
# every record surviving it was walked again by the older generations. Collecting every 20,000 net
# allocations instead, under wrk on POST /patient with a patient.created webhook to a receiver that refuses
# connections (4 alternating rounds each, medians): p99 9.8 -> 7.0 ms, 6,666 -> 7,836 req/s; without the
# webhook 7.8 -> 7.1 ms, 8,135 -> 8,425 req/s. (20,000, 10, 10) gave the webhook case a p99 1.27-1.38x the
# baseline's in two 5-round runs. The price: a middle-generation collection walks up to ~1M objects
# (~100 ms here) about once per million records created; reads allocate nothing that survives.
GC_THRESHOLDS = (20_000, 50, 50)


def log_access_to_stdout() -> None:
    """Access lines (`mocks.access`) on stdout, like uvicorn's own; added once per process."""
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.setLevel(logging.INFO)
    if not any(getattr(h, "mock_access", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.mock_access = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


class SpecError(Exception):
    """A spec that does not load, named by its file."""


def load_specs() -> None:
    """Load (and cache) every spec first, so a broken one is reported by its file name."""
    for api in specs.APIS:
        try:
            specs.load(api)
        except Exception as exc:
            cause = " ".join(str(exc).split())
            raise SpecError(f"{specs.source_path(api).relative_to(ROOT)} does not load: {cause}") from exc


def build(config: MockConfig) -> ASGIApp:
    """The app for `config` behind its front door (`mocks.dispatch.FrontDoor`) and the Host check (which
    the requests the front door answers alone would skip), with access lines on stdout when asked;
    SpecError names a broken spec."""
    load_specs()
    if config.access_log:
        log_access_to_stdout()
    app = create_app(config=config)
    # The specs, validators and seed data live as long as the process: move them out of the garbage
    # collector's way. Measured with wrk on GET /patient/1234: p99 57 -> 29-32 ms, +3-9% req/s.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    if _freeze_after_full_collection not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full_collection)
    return HostGuard(FrontDoor(app, context_of(app).dispatch), served_names(config))


def _freeze_after_full_collection(phase: str, info: dict[str, int]) -> None:
    """What survives a full collection (stored records, mostly) is moved out of the collector's way too,
    so the next full collection walks only what came since: the store grows under load (POST), and each
    full walk over it was a pause of tens of ms. Objects freed by reference counting are still freed."""
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def app_from_env() -> ASGIApp:
    """A fresh app configured from the environment (`SEED`, `LATENCY`, ...): uvicorn's `factory=True` target."""
    return build(from_env())


def uvicorn_options(host: str, port: int, log_level: str, reload: bool, workers: int = 1) -> dict[str, object]:
    options: dict[str, object] = {
        "host": host, "port": port, "log_level": log_level, "lifespan": "on", "access_log": False,
        "proxy_headers": False,  # a mock answers its clients directly; no X-Forwarded-* work per request
    }  # fmt: skip
    if workers > 1:  # each worker process builds its app from the environment, on the shared state file
        options.update(factory=True, workers=workers)
    if reload:
        options.update(
            factory=True,
            reload=True,
            reload_dirs=[str(d) for d in RELOAD_DIRS],
            reload_includes=list(RELOAD_INCLUDES),
        )
    return options


def run(app: ASGIApp, host: str, port: int, log_level: str, reload: bool, workers: int = 1) -> None:
    """Serve `app`; with `reload` or several `workers`, serve `FACTORY` with uvicorn instead (it imports it in
    each process), restarting it on code or spec changes when reloading."""
    if reload or workers > 1:
        uvicorn.run(FACTORY, **uvicorn_options(host, port, log_level, reload, workers))  # type: ignore[arg-type]
    else:
        uvloop.run(serve_in_process(app, host, port, log_level))


# Granian's own log lines go to stderr, as uvicorn's do: stdout carries the banner and the access log.
GRANIAN_LOGGING = {
    "handlers": {
        "console": {"formatter": "generic", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
        "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
    }
}


class _EmbeddingNotice(logging.Filter):
    """Drops Granian's one-line notice that its embedded server is experimental: noise in our banner."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Embedded server is experimental")


EMBEDDING_NOTICE = _EmbeddingNotice()


def embedded_server(app: ASGIApp, host: str, port: int, log_level: str = "warning") -> Server:
    """Granian's server for `app`, to run in the current process's event loop (`await server.serve()`).

    Granian parses and writes HTTP in Rust threads, outside the interpreter's lock, where uvicorn spends
    ~20 us of Python per request on it (two socket writes among them): under wrk, GET /patient/1234
    27.6k -> 37.6k req/s, a page of 15 patients 16.1k -> 23.4k, POST /patient 15.9k -> 20.7k. Embedded,
    the app built and checked by `python -m mocks` is the one served: no second process, no second build.
    """
    server = Server(
        app, address=host, port=port, interface=Interfaces.ASGI, websockets=False, backlog=2048,
        log_level=LogLevels.__members__.get(log_level.lower(), LogLevels.debug), log_dictconfig=GRANIAN_LOGGING,
    )  # fmt: skip
    logging.getLogger("_granian").addFilter(EMBEDDING_NOTICE)  # once: the same filter is not added twice
    return server


async def serve_in_process(app: ASGIApp, host: str, port: int, log_level: str) -> None:
    """Serve `app` with the embedded server until SIGINT or SIGTERM."""
    server = embedded_server(app, host, port, log_level)
    loop = asyncio.get_running_loop()
    for stop in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop, server.stop)
    await server.serve()
