"""`create_app`: one Connexion 3 ASGI app serving the vendor APIs (`mocks.vendors.VENDORS`) and the mock's routes."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import connexion
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.resolver import Resolver
from connexion.spec import OpenAPISpecification, Specification
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Scope

import specs
from mocks import proxy
from mocks.config import MockConfig
from mocks.context import MockContext
from mocks.dx import admin, fixtures, tools
from mocks.dx.journal import Journal, masks_of
from mocks.http.compiled import JSONIFIER
from mocks.http.errors import MockError, render, shape_for
from mocks.http.fast_path import Dispatcher, compile_plans
from mocks.http.full_chain import FullChain, full_chain_rules
from mocks.http.guard import HostGuard, served_names
from mocks.http.security import security_map
from mocks.http.validation import ExplodedArrayURIParser, make_validator_map, middleware_stack
from mocks.vendor import Vendor
from mocks.vendors import VENDORS

__all__ = ["context_of", "create_app"]
_CONTEXT_ATTRIBUTE = "mock_context"
# Every answer "Internal mock error" (and every other 500 the mock did not mean) is a bug of the mock:
# logged here with its traceback, on both request paths (the dispatcher renders its errors through this too).
ERROR_LOGGER = logging.getLogger("mocks.http.errors")


def context_of(app: connexion.AsyncApp) -> MockContext:
    """The state behind an app made by `create_app`: store, handlers (`.services`), outbox, config."""
    return getattr(app, _CONTEXT_ATTRIBUTE)  # type: ignore[no-any-return]


_HTTP_KINDS = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
}


def _has_origin(api: str, scope: Scope, headers: Mapping[bytes, bytes]) -> bool:
    return b"origin" in headers


# Starlette's CORS middleware takes no `full_chain` classmethod: its rule is declared here, where it is installed.
# A request with an `Origin` is CORS's to answer (its headers, or a preflight).
FULL_CHAIN_DECLARED: dict[type, FullChain] = {CORSMiddleware: FullChain("cors", _has_origin)}


def _validate_each_spec_once() -> None:
    """Connexion validates a spec on every `add_api` and every `/openapi.json` request (`clone()`), about
    0.2 s each for our specs. Validate each distinct spec once per process instead; still fails loudly."""
    current = OpenAPISpecification._validate_spec.__func__
    if getattr(current, "memoized", False):
        return
    validated: set[str] = set()

    def validate_once(cls: type, spec: dict[str, Any]) -> None:
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
        # A document that validated before, in any process, is not validated again (a few seconds for the
        # grown Impilo spec, paid by every `python -m mocks` and worker otherwise): build/ keeps a marker.
        marker = specs.BUILD_DIR / f"valid-{digest[:32]}"
        if digest not in validated and not marker.exists():
            current(cls, spec)
            with contextlib.suppress(OSError):
                specs.BUILD_DIR.mkdir(exist_ok=True)
                marker.touch()
        validated.add(digest)

    validate_once.memoized = True  # type: ignore[attr-defined]
    OpenAPISpecification._validate_spec = classmethod(validate_once)  # type: ignore[assignment,method-assign]


def _parse_each_spec_once() -> None:
    """Connexion parses the document of every `add_api` (a deep copy, its defaults, every `$ref` walked: most
    of `create_app`'s time on the grown specs). The documents given are the process's shared resolved specs
    (`specs.resolved`), never changed, so each is parsed once per process and the parse reused by every app."""
    current = Specification.from_dict.__func__
    if getattr(current, "memoized", False):
        return
    parsed: dict[int, tuple[Any, Any]] = {}  # id(document) -> (document, its Specification): the document kept

    def parse_once(cls: type, spec: Any, *, base_uri: str = "") -> Any:
        if id(spec) not in parsed or base_uri:
            if base_uri:
                return current(cls, spec, base_uri=base_uri)
            parsed[id(spec)] = (spec, current(cls, spec))
        return parsed[id(spec)][1]

    parse_once.memoized = True  # type: ignore[attr-defined]
    Specification.from_dict = classmethod(parse_once)  # type: ignore[assignment,method-assign]


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def _json_by_default(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Answer `application/json` unless the handler chose; specs list problem+json too, for errors."""

    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = await handler(*args, **kwargs)
        if isinstance(result, tuple) and len(result) == 2:
            return (*result, {"Content-Type": "application/json"})
        return result

    return wrapper


def _resolver(handlers: object) -> Resolver:
    """Resolve operationIds to methods of one API's handler object (createPatient -> create_patient)."""
    return Resolver(function_resolver=lambda operation_id: _json_by_default(getattr(handlers, _snake(operation_id))))


def _as_mock_error(exc: Exception) -> MockError:
    if isinstance(exc, MockError):
        return exc
    if isinstance(exc, ProblemException):
        status = exc.status or 500
        kind = "validation" if status == 400 else _HTTP_KINDS.get(status, "server_error")
        return MockError(str(exc.detail or exc.title), kind, headers=dict(exc.headers or {}))
    if isinstance(exc, HTTPException):
        kind = _HTTP_KINDS.get(exc.status_code, "bad_request" if exc.status_code < 500 else "server_error")
        message = "No such path or method in this API" if exc.status_code in (404, 405) else str(exc.detail)
        return MockError(message, kind, headers=dict(exc.headers or {}))
    return MockError(f"Internal mock error: {exc.__class__.__name__}", "server_error")


def _allow_index(
    vendors: Sequence[Vendor], documents: dict[str, dict[str, Any]]
) -> list[tuple[str, re.Pattern[str], str]]:
    """(api, full-path regex, "GET, PUT") for every spec path, to answer 405s with an exact `Allow`."""
    index = []
    for api in vendors:
        for template, item in documents[api.name]["paths"].items():
            pattern = re.escape(api.base_path + template)
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            methods = sorted(
                m.upper() for m in item if m in ("get", "put", "post", "delete", "patch", "head", "options")
            )
            index.append((api.name, re.compile(f"^{pattern}$"), ", ".join(methods)))
    return index


def _error_response_for(
    vendors: Sequence[Vendor], allow: list[tuple[str, re.Pattern[str], str]]
) -> Callable[[str, Exception], tuple[int, bytes, str, dict[str, str]]]:
    """Status, body, content type and headers of the error answering a request for `path`, in the shape of
    the vendor owning it (`errors.NEUTRAL` where none does)."""

    def respond(path: str, exc: Exception) -> tuple[int, bytes, str, dict[str, str]]:
        error = _as_mock_error(exc)
        if error.kind == "server_error" and not isinstance(exc, MockError):
            ERROR_LOGGER.error("Unexpected error answering %.200s: %s", path, error.message, exc_info=exc)
        if error.kind == "method_not_allowed":
            methods = next((m for name, rx, m in allow if rx.match(path)), None)
            if methods:
                error.headers["Allow"] = methods
        return render(error, shape_for(path, vendors), path)

    return respond


def _error_handler(
    respond: Callable[[str, Exception], tuple[int, bytes, str, dict[str, str]]],
) -> Callable[[ConnexionRequest, Exception], ConnexionResponse]:
    def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        status, body, content_type, headers = respond(
            request.scope["path"], exc
        )  # as sent: `url.path` drops tabs and line breaks
        return ConnexionResponse(status_code=status, body=body, content_type=content_type, headers=headers)

    return handle


def create_app(
    seed: int = 0, config: MockConfig | None = None, vendors: Sequence[Vendor] = VENDORS, **overrides: Any
) -> connexion.AsyncApp:
    """A fresh mock app serving `vendors` with its own store, seeded from `seed` (or `config.seed` when a
    config is given); credentials the config does not give are the vendors' defaults."""
    vendors = tuple(vendors)
    config = (config or MockConfig(seed=seed)).with_(**overrides).with_defaults(vendors)
    _validate_each_spec_once()
    _parse_each_spec_once()
    context = MockContext(config=config, specs={api.name: specs.load(api.name) for api in vendors}, vendors=vendors)
    proxy.load_examples(context)  # recorded examples (EXAMPLES=...), served with `Prefer: example=...`
    app = connexion.AsyncApp(__name__, specification_dir=str(specs.SPEC_DIR), middlewares=middleware_stack())
    validator_map = make_validator_map(config.max_body_bytes)
    resolvers = {}
    checks = {api.name: dict(api.checks(config.credentials_for(api.name))) for api in vendors}
    for api in vendors:
        context.services[api.name] = api.handlers(context)
        resolvers[api.name] = _resolver(context.services[api.name])
        app.add_api(
            context.specs[api.name] if config.examples_file else specs.resolved(api.name),  # recorded examples joined
            base_path=api.base_path,
            name=api.name,
            resolver=resolvers[api.name],
            pythonic_params=True,
            strict_validation=True,
            validate_responses=config.validate_responses,
            validator_map=validator_map,
            uri_parser_class=ExplodedArrayURIParser,
            jsonifier=JSONIFIER,
            security_map=security_map(checks[api.name]),
        )
    respond = _error_response_for(vendors, _allow_index(vendors, context.specs))
    for error_class in (MockError, ProblemException, HTTPException, Exception):
        app.add_error_handler(error_class, _error_handler(respond))
    journal = Journal(config.journal_size, masks_of(vendors))
    # outermost of all: a request naming a foreign Host (DNS rebinding) reaches nothing, not even the journal
    app.add_middleware(
        HostGuard, position=MiddlewarePosition.BEFORE_EXCEPTION, names=served_names(config), vendors=vendors
    )
    # What each middleware inside the dispatcher needs to see, read from Connexion's list (mocks/http/full_chain.py)
    rules = functools.partial(
        full_chain_rules, app.middleware.middlewares, Dispatcher, frozenset(middleware_stack()), FULL_CHAIN_DECLARED
    )
    if config.fast_path:  # next outermost: what it cannot answer alone goes through all below
        base_paths = {api.name: api.base_path for api in vendors}
        app.add_middleware(
            Dispatcher,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            routes=functools.partial(
                compile_plans, base_paths, context.specs, resolvers, checks, config.validate_responses
            ),
            rules=rules,
            record=journal.record,
            config=config,
            error_response=respond,
            stats=context.dispatch,
        )
    app.add_middleware(
        CORSMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        allow_origin_regex=config.cors_origin_regex,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["Location", "Retry-After"],
    )
    dev = tools.install(app, context, journal)  # after CORS: the journal sits inside it
    proxied = proxy.install(app, context)  # after the journal, which then lists proxied exchanges; none: nothing
    reload = fixtures.configured(context, after_reset=True)  # FIXTURES=...: after seeding, and after each reset
    admin.mount(app, context, extra_routes=[*dev.routes, *proxied], on_reset=(dev.journal.clear, reload))
    rules()  # now as well: a feature installed without a rule fails here rather than at the first request
    fresh = context.store.seeded_with() is None
    context.start()  # seeds, unless a state file already holds this seed's data
    if fresh:  # a state file kept from an earlier run holds its fixtures already
        fixtures.configured(context)()
    setattr(app, _CONTEXT_ATTRIBUTE, context)
    return app
