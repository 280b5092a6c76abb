"""Serving the mock: `run` serves a built app in this process with Granian, or, with reload or several
workers, `app_from_env` (the factory the server imports in each process) with uvicorn.

Limits that keep slow or stalled clients from stopping the server (both servers):
- a request's body must arrive within `BODY_TIMEOUT` seconds (default 10; checked every second, or every
  quarter of it when shorter) of the app's first read of it, or it is answered 408 and its connection
  closed (`BodyDeadline`);
- Granian closes a connection that has not sent a complete request head within 30 s, counted from its
  start or its previous answer (so also an idle kept-alive one); uvicorn closes a kept-alive connection
  idle for 5 s, but does not bound the wait for a request head;
- Granian serves up to `connection_limit()` connections at once (16,384, fewer when the open-file limit
  is lower; the process raises its soft limit to the hard one first).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import resource
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import connexion
import uvicorn
import uvloop
from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels
from granian.server.embed import Server
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import specs
from mocks.app import context_of, create_app
from mocks.config import MockConfig, from_env
from mocks.dx.journal import ACCESS_LOGGER
from mocks.http.errors import MockError, error_messages
from mocks.http.fast_path import FrontDoor
from mocks.http.guard import HostGuard, served_names
from mocks.vendor import Vendor
from mocks.vendors import VENDORS

FACTORY = "mocks.serve.server:app_from_env"
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


def load_specs(vendors: Sequence[Vendor]) -> None:
    """Load (and cache) the spec of every vendor first, so a broken one is reported by its file name."""
    for api in (vendor.name for vendor in vendors):
        try:
            specs.load(api)
        except Exception as exc:
            cause = " ".join(str(exc).split())
            raise SpecError(f"{specs.source_path(api).relative_to(ROOT)} does not load: {cause}") from exc


class BodyTimeoutError(MockError):
    """A request body that did not arrive in time: 408 in the vendor's shape."""


class BodyDeadline:
    """ASGI wrapper: a request's body has `seconds` to arrive in full, counted from the app's first read.

    Neither Granian nor uvicorn bounds the wait for a body, so a client that sent its headers and part of
    its body held its connection, and the request's task, for good. Past the deadline, the read raises
    `BodyTimeoutError` (and so does every later one), which the app answers like any other error, in the
    vendor's shape. What the app does not answer (the error raised outside its error handling) is answered
    here. Reads once the body is complete (waiting for a disconnect) are not bounded.

    An answer that starts before the app has read the whole body (this 408, a 401 for a request without
    credentials, a forced response) carries `Connection: close`: the rest of the body may never come, and
    the connection can carry no other request before it has (uvicorn kept it open another 5 s)."""

    def __init__(self, app: ASGIApp, seconds: float, vendors: Sequence[Vendor]) -> None:
        self.app, self.seconds, self.vendors = app, seconds, tuple(vendors)
        self.message = f"The request body did not arrive within {seconds:g} s (BODY_TIMEOUT)"
        # Requests waiting for their body -> deadline. One watcher task, while any wait, cancels the late
        # ones every `step` seconds: a timer per read (asyncio.timeout) cost 4-8 us under uvloop, +20% on a
        # served POST.
        self.step = min(1.0, seconds / 4)
        self.waiting: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()
        self.watcher: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while self.waiting:
            await asyncio.sleep(self.step)
            now = loop.time()
            for task in [task for task, deadline in self.waiting.items() if deadline <= now]:
                del self.waiting[task]
                self.expired.add(task)
                task.cancel()

    async def _read(self, receive: Receive, deadline: float) -> Message:
        """`receive()`, or BodyTimeoutError once `deadline` has passed. A new error each time, kept nowhere:
        one held would hold, through its traceback, the server's request object and so the connection."""
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        if task is None or loop.time() >= deadline:
            raise BodyTimeoutError(self.message, "timeout")
        self.waiting[task] = deadline
        if self.watcher is None or self.watcher.done() or self.watcher.get_loop() is not loop:
            self.watcher = loop.create_task(self._watch())
        try:
            return await receive()
        except asyncio.CancelledError:
            if task not in self.expired:
                raise
            task.uncancel()
            raise BodyTimeoutError(self.message, "timeout") from None
        finally:
            self.waiting.pop(task, None)
            self.expired.discard(task)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):  # nothing to wait for
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        complete = started = False

        async def read() -> Message:
            nonlocal deadline, complete
            if complete:
                return await receive()
            deadline = deadline or asyncio.get_running_loop().time() + self.seconds
            message = await self._read(receive, deadline)
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def write(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not complete:
                    message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, read, write)
        except BodyTimeoutError as exc:
            if not started:
                for message in error_messages(exc, scope["path"], self.vendors):
                    await write(message)


def _has_body(scope: Scope) -> bool:
    """Whether the request announces a body (a loop: this runs on every request)."""
    for name, value in scope["headers"]:
        if (name == b"content-length" and value.strip() not in (b"", b"0")) or name == b"transfer-encoding":
            return True
    return False


def served(app: connexion.AsyncApp) -> ASGIApp:
    """What a server serves of an app made by `create_app`: the app behind its front door
    (`mocks.http.fast_path.FrontDoor`) and the Host check (which the requests the front door answers alone would
    skip), within the body deadline of its config."""
    context = context_of(app)
    guarded = HostGuard(FrontDoor(app, context.dispatch), served_names(context.config), context.vendors)
    return BodyDeadline(guarded, context.config.body_timeout_seconds, context.vendors)


def build(config: MockConfig, vendors: Sequence[Vendor] = VENDORS) -> ASGIApp:
    """The app serving `vendors` for `config` as served (`served`), with access lines on stdout when asked;
    SpecError names a broken spec."""
    load_specs(vendors)
    if config.access_log:
        log_access_to_stdout()
    app = create_app(config=config, vendors=vendors)
    # The specs, validators and seed data live as long as the process: move them out of the garbage
    # collector's way. Measured with wrk on GET /patient/1234: p99 57 -> 29-32 ms, +3-9% req/s.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    if _freeze_after_full_collection not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full_collection)
    return served(app)


def _freeze_after_full_collection(phase: str, info: dict[str, int]) -> None:
    """What survives a full collection (stored records, mostly) is moved out of the collector's way too,
    so the next full collection walks only what came since: the store grows under load (POST), and each
    full walk over it was a pause of tens of ms. Objects freed by reference counting are still freed."""
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def app_from_env() -> ASGIApp:
    """A fresh app configured from the environment (`SEED`, `LATENCY`, ...): uvicorn's `factory=True` target."""
    return build(from_env(vendors=VENDORS))


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
        connection_limit()  # the open-file limit raised, for the worker processes too
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

# Granian holds a slot (its `backpressure`) per open connection, idle or not, and accepts no connection
# while none is free. Its default, the listen backlog (2,048), let 2,100 clients that stalled their
# bodies keep every later request waiting; an open connection costs a file and a few KB.
MAX_CONNECTIONS = 16_384
FILE_RESERVE = 256  # files kept for the state file, logs, webhook deliveries and the like


def connection_limit() -> int:
    """Connections to serve at once: MAX_CONNECTIONS, or fewer where the open-file limit is lower. The soft
    limit is raised towards the hard one first (often 1,024 soft, far more hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_CONNECTIONS + FILE_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):  # e.g. macOS, above its per-process maximum
            pass
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return min(MAX_CONNECTIONS, max(soft // 2, soft - FILE_RESERVE))


def embedded_server(app: ASGIApp, host: str, port: int, log_level: str = "warning") -> Server:
    """Granian's server for `app`, to run in the current process's event loop (`await server.serve()`).

    Granian parses and writes HTTP in Rust threads, outside the interpreter's lock, where uvicorn spends
    ~20 us of Python per request on it (two socket writes among them): under wrk, GET /patient/1234
    27.6k -> 37.6k req/s, a page of 15 patients 16.1k -> 23.4k, POST /patient 15.9k -> 20.7k. Embedded,
    the app built and checked by `python -m mocks` is the one served: no second process, no second build.

    HTTP/1.1 only, as with uvicorn: in its automatic mode, Granian waits for a connection's first bytes to
    tell HTTP/1 from HTTP/2 without a time limit, so a client that connected and sent nothing held its slot
    for good; HTTP/1's head timeout (30 s) runs from the connection's start.
    """
    server = Server(
        app, address=host, port=port, interface=Interfaces.ASGI, websockets=False, backlog=2048,
        backpressure=connection_limit(), http=HTTPModes.http1,
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
