"""The compiled dispatcher: answers the requests that need nothing but the spec, ahead of Connexion's chain.

Connexion runs every request through a stack of Starlette layers (routing, security, parameter and body
validation, response validation), each with its own routing lookup and scope copy: ~0.4 ms a request,
most of the mock's time. At start-up this module compiles, per operation, a plan from the same parts
Connexion uses: its operation objects (parameters, bodies, responses, produces), its path syntax and
converters, its parameter coercion, our credential checks, the request gate that both paths share
(`mocks.http.validation.accepts`), the handlers, the jsonifier and the response validators.

A request is answered here only when the plan can answer it completely: a route matched with Starlette's
own rules, credentials that pass, declared scalar query parameters and a JSON body that the gate accepts,
and no feature installed inside the dispatcher that must see it (each declares which requests it needs:
`mocks.http.full_chain`). Anything else goes to Connexion untouched (a body already read is replayed), so
every rejection is still worded by Connexion and our validators. A handler's own errors (404, 409 ...) are
rendered by the same function as Connexion's error handler. Each request handed on is counted by reason
(`Stats`, shown at `GET /__mock/summary`); operations without a plan are logged at start-up, and a fault of
a plan at request time is logged and its request handed on. `tests/http/test_dispatch.py` replays requests
through both paths and compares. Set `FAST_PATH=0` to serve everything through Connexion.

Why two paths: the same plans as one middleware in Connexion's list right after its routing (the single
path the project first wanted) answered GET /patient/1234 in ~64 us of the served stack's time against
~13 us here (a page of 15: ~90 against ~33; POST: ~93 against ~40), and 0.25-0.48x of this design's
requests/s under wrk, below 3x Prism on every benchmarked request: the layers around the plan (Connexion's
entry, exception handling, Swagger UI's and the API's routers, CORS, the journal, the scenario parser)
cost more than the plan itself.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from connexion.decorators.parameter import _get_val_from_param, pythonic, unwrap_decorators
from connexion.exceptions import NonConformingResponseBody, NonConformingResponseHeaders
from connexion.frameworks.starlette import starlettify_path
from connexion.operations import OpenAPIOperation
from connexion.resolver import Resolver
from connexion.spec import Specification
from connexion.utils import coerce_type, is_json_mimetype, split_content_type
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.config import MockConfig
from mocks.http import jsonbody
from mocks.http.compiled import dumps_bytes, response_problem
from mocks.http.errors import MockError
from mocks.http.exchange import Exchange, buffered, replaying
from mocks.http.full_chain import FullChain
from mocks.http.validation import ExplodedArrayURIParser, accepts

__all__ = ["Dispatcher", "FrontDoor", "Plan", "Stats", "compile_plans"]

LOGGER = logging.getLogger(__name__)

Check = Callable[..., dict[str, Any]]
ErrorResponse = Callable[[str, Exception], tuple[int, bytes, str, dict[str, str]]]
SCALARS = {"integer", "number", "boolean", "string"}
VARY = (b"vary", b"Origin")
MEMO_ENTRIES, MEMO_BYTES = 512, 64 * 1024  # response bodies remembered as conforming: at most 32 MiB
JSON_TYPES = (b"application/json", b"application/json; charset=utf-8", b"application/json;charset=utf-8")


class Decline(Exception):  # noqa: N818 - control flow, not an error
    """The plan cannot answer this request alone: Connexion will. `reason` is how it is counted (a short,
    fixed word: never request data); `detail` says why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    argument: str  # the handler's keyword (Connexion's `pythonic` name)
    definition: dict[str, Any]
    schema: dict[str, Any]
    kind: str  # the schema type


@dataclass(frozen=True, slots=True)
class Credential:
    header: bytes
    bearer: bool
    check: Check


@dataclass(frozen=True, slots=True)
class Reply:
    schema: dict[str, Any] | None  # None: not validated (no validator for the media type)
    required_headers: frozenset[str]


@dataclass(slots=True)
class Plan:
    api: str
    operation_id: str
    function: Callable[..., Awaitable[Any]]
    security: tuple[tuple[Credential, ...], ...]  # alternatives; empty: no security
    path: dict[str, Param]  # by Starlette's group name
    query: dict[str, Param]
    required_query: frozenset[str]
    defaults: dict[str, Any]  # handler keyword -> value, for query parameters with a default
    body: dict[str, Any] | None  # JSON body schema, when the operation takes one
    body_required: bool
    body_argument: str
    produces: tuple[str, ...]
    replies: dict[str, Reply]  # status ("200", "default") -> what the response must satisfy
    validate_responses: bool


def _credentials(operation: OpenAPIOperation, checks: dict[str, Check]) -> tuple[tuple[Credential, ...], ...]:
    alternatives = []
    for requirement in operation.security or ():
        found = []
        for name in requirement:
            scheme = operation.security_schemes[name]
            if scheme["type"] == "apiKey" and scheme.get("in") == "header":
                found.append(Credential(scheme["name"].lower().encode(), False, checks["apiKey"]))
            elif scheme["type"] == "http" and scheme.get("scheme", "").lower() == "bearer":
                found.append(Credential(b"authorization", True, checks["bearer"]))
            else:
                raise Decline("no-plan", f"security scheme {name} is not compiled")
        alternatives.append(tuple(found))
    return tuple(alternatives)


def _param(definition: dict[str, Any]) -> Param:
    """A parameter; one that is not a scalar (an array, an object) is left to Connexion when present."""
    schema = definition.get("schema", {})
    return Param(definition["name"], pythonic(definition["name"]), definition, schema, schema.get("type", ""))


def _replies(operation: OpenAPIOperation, validate: bool) -> dict[str, Reply]:
    replies = {}
    for status, response in operation.responses.items():
        required = frozenset(k.lower() for k, v in response.get("headers", {}).items() if v.get("required"))
        schema = operation.response_schema(status, "application/json") if validate else None
        replies[str(status)] = Reply(schema if "application/json" in response.get("content", {}) else None, required)
    return replies


def compile_plan(operation: OpenAPIOperation, api: str, checks: dict[str, Check], validate: bool) -> Plan:
    """One operation's plan; `Decline` when something in it is left to Connexion on every request."""
    parameters = inspect.signature(unwrap_decorators(operation.function)).parameters.values()
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        raise Decline("no-plan", "Connexion filters the arguments of handlers without **kwargs")
    path, query, defaults = {}, {}, {}
    for definition in operation.parameters:
        where = definition["in"]
        if where == "path":
            path[definition["name"].replace("-", "_")] = _param(definition)
        elif where == "query":
            param = query[definition["name"]] = _param(definition)
            default = definition.get("default", param.schema.get("default"))
            if default is not None:
                defaults[param.argument] = _get_val_from_param(default, definition)
        else:
            raise Decline("no-plan", f"{where} parameters are not compiled")
    for status, response in operation.responses.items():
        if str(status).startswith("2") and "application/json" not in response.get("content", {"application/json": 0}):
            raise Decline("no-plan", "only JSON answers are compiled (a streamed or binary answer is Connexion's)")
    body = None
    if operation.is_request_body_defined:
        if "application/json" not in operation.consumes:
            raise Decline("no-plan", "only JSON bodies are compiled")
        body = operation.body_schema("application/json")
    return Plan(
        api=api,
        operation_id=operation.operation_id,
        function=operation.function,
        security=_credentials(operation, checks),
        path=path,
        query=query,
        required_query=frozenset(name for name, p in query.items() if p.definition.get("required")),
        defaults=defaults,
        body=body,
        body_required=bool(operation.request_body.get("required")),
        body_argument=pythonic(operation.body_name("application/json")),
        produces=tuple(operation.produces),
        replies=_replies(operation, validate),
        validate_responses=validate,
    )


@dataclass(frozen=True, slots=True)
class Route:
    pattern: re.Pattern[str]
    convertors: dict[str, Any]
    plan: Plan


def compile_plans(
    base_paths: dict[str, str], documents: dict[str, dict[str, Any]], resolvers: dict[str, Resolver],
    checks: dict[str, dict[str, Check]], validate_responses: bool,
) -> dict[str, list[Route]]:  # fmt: skip
    """Routes by method, in Connexion's order (APIs by base path, `base_paths` API name -> base path, paths
    in spec order): the first full match wins, as in Starlette's router. An operation without a plan is
    logged (once, as this runs once per app): every request to it goes through Connexion's chain."""
    routes: dict[str, list[Route]] = {}
    for name, base_path in base_paths.items():
        spec = Specification.load(documents[name])
        for path, item in spec["paths"].items():
            for method in item:
                if method not in ("get", "put", "post", "delete", "patch"):
                    continue
                operation = OpenAPIOperation.from_spec(
                    spec, path=path, method=method, resolver=resolvers[name],
                    uri_parser_class=ExplodedArrayURIParser,
                )  # fmt: skip
                template = starlettify_path(base_path + path, operation.get_path_parameter_types())
                pattern, _, convertors = compile_path(template)
                try:
                    plan = compile_plan(operation, name, checks[name], validate_responses)
                except Decline as exc:
                    LOGGER.warning(
                        "%s (%s %s %s) has no compiled plan, so Connexion's chain serves all of it: %s",
                        operation.operation_id, name, method.upper(), path, exc.detail,
                    )  # fmt: skip
                    plan = None  # still routed, so it shadows later paths exactly as in Starlette
                routes.setdefault(method.upper(), []).append(Route(pattern, convertors, plan))  # type: ignore[arg-type]
    return routes


def _scalar(param: Param, raw: Any, where: str) -> Any:
    """Connexion's coercion of one value, then the gate; `Decline` (counted by `where`) whenever Connexion
    would object."""
    if param.kind not in SCALARS:
        raise Decline(where, f"{param.name} is not a scalar")
    try:
        value = coerce_type(param.definition, raw, where, param.name)
    except Exception as exc:  # Connexion reports it
        raise Decline(where, str(exc)) from exc
    if isinstance(value, str) and param.kind != "string":
        raise Decline(where, f"{param.name} is not a {param.kind}")
    if not accepts(param.schema, value):
        raise Decline(where, f"{param.name} is rejected")
    return _get_val_from_param(value, param.definition)


def _exploded(param: Param, values: list[str]) -> list[Any]:
    """A form-style exploded array (`?ids=a&ids=b`), coerced item by item as Connexion does, then gated."""
    items = param.schema.get("items", {})
    if param.definition.get("style", "form") != "form" or not param.definition.get("explode", True):
        raise Decline("query", f"{param.name} is not a form-style exploded array")
    if items.get("type") not in SCALARS:
        raise Decline("query", f"{param.name} holds non-scalar items")
    try:
        value = coerce_type(param.definition, list(values), "query", param.name)
    except Exception as exc:  # Connexion reports it
        raise Decline("query", str(exc)) from exc
    if not accepts(param.schema, value):
        raise Decline("query", f"{param.name} is rejected")
    return _get_val_from_param(value, param.definition)  # type: ignore[no-any-return]


def _authorize(plan: Plan, headers: dict[bytes, bytes]) -> dict[str, Any] | None:
    """The first alternative whose credentials are all present and pass, as Connexion's security does."""
    if not plan.security:
        return None
    for alternative in plan.security:
        claims: dict[str, Any] = {}
        for credential in alternative:
            value = headers.get(credential.header)
            if value is None:
                break
            text = value.decode("latin-1")
            if credential.bearer:
                scheme, _, text = text.partition(" ")
                if scheme.lower() != "bearer" or not text:
                    break
            try:
                claims = credential.check(text)
            except Exception as exc:  # Connexion answers the 401 in the vendor's words
                raise Decline("credentials", "rejected") from exc
        else:
            return claims
    raise Decline("credentials", "missing")


@dataclass
class Stats:
    """What the fast path did with the requests it saw: answered alone (`served`), or handed on to
    Connexion's chain, counted by reason (`declined`). Per process (each of `WORKERS=n` has its own)."""

    served: int = 0
    declined: Counter[str] = field(default_factory=Counter)
    dispatcher: Dispatcher | None = None  # once Connexion has built its middleware (first request)

    def report(self) -> dict[str, Any]:
        """As `GET /__mock/summary` shows it (`fastPath`)."""
        return {
            "enabled": self.dispatcher is not None,
            "served": self.served,
            "declined": dict(sorted(self.declined.items())),
        }


DECLINED = "mock.declined"  # scope key: the front door's dispatcher already declined this request


class FrontDoor:
    """The served mock's ASGI app. A request the dispatcher answers alone goes straight to it, skipping
    Connexion's app and middleware entry points and Starlette's server-error wrapper (~5% of a served
    request); everything else, and everything until Connexion has built the dispatcher, goes to `app`.
    In-process (tests, `create_app`) the dispatcher is reached through Connexion instead: same answers."""

    def __init__(self, app: ASGIApp, stats: Stats) -> None:
        self.app, self.stats = app, stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        dispatcher = self.stats.dispatcher
        if dispatcher is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await dispatcher.serve(scope, receive, send, self._declined)

    async def _declined(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[DECLINED] = True
        await self.app(scope, receive, send)


class Dispatcher:
    """ASGI middleware, outermost: serves what a plan can answer alone, hands the rest to `app`."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Callable[[], dict[str, list[Route]]],
        rules: Callable[[], Sequence[FullChain]],
        record: Callable[[Exchange], None],
        config: MockConfig,
        error_response: ErrorResponse,
        stats: Stats,
    ) -> None:
        # Compiled when Connexion builds its middleware stack (first request), as it resolves its own
        # operations then: a handler replaced after `create_app` is the one both paths call. The rules are
        # read from the stack as built, so a middleware added late is held to them too.
        self.app, self.routes, self.record, self.error_response = app, routes(), record, error_response
        self.rules = tuple((rule.reason, rule.needs) for rule in rules() if rule.needs is not None)
        self.max_body = config.max_body_bytes
        self.stats = stats
        self._conforming: set[tuple[int, bytes]] = set()  # (reply, body) pairs already found to conform
        self._faulted: set[str] = set()  # operations whose plan failed at request time (logged in full once)
        stats.dispatcher = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if DECLINED in scope:
            await self.app(scope, receive, send)
        else:
            await self.serve(scope, receive, send, self.app)

    async def serve(self, scope: Scope, receive: Receive, send: Send, fallback: ASGIApp) -> None:
        """Answer the request alone, or hand it to `fallback` untouched (its body replayed), counted by reason."""
        if scope["type"] != "http":
            await fallback(scope, receive, send)
            return
        found = self._route(scope)
        if isinstance(found, str):
            self.stats.declined[found] += 1
            await fallback(scope, receive, send)
            return
        headers = dict(scope["headers"])
        plan = found[0].plan
        for reason, needs in self.rules:
            if needs(plan.api, scope, headers):
                self.stats.declined[reason] += 1
                await fallback(scope, receive, send)
                return
        started, at = time.perf_counter(), time.time()
        try:  # credentials first: a request they refuse is answered (401) without waiting for its body
            claims = _authorize(plan, headers)
        except Exception as exc:  # Connexion answers, in the vendor's words
            self._declined(plan, exc)
            await fallback(scope, receive, send)
            return
        messages: list[Message] = []
        try:  # up to the limit: a larger body is Connexion's to refuse
            body = await buffered(receive, self.max_body, messages)
        except MockError:  # the body did not arrive in time (mocks.serve.server.BodyDeadline): Connexion says so
            self.stats.declined["body-timeout"] += 1
            await fallback(scope, replaying(messages, receive), send)
            return
        try:
            kwargs = self._arguments(found, scope, headers, body)
        except Exception as exc:  # Connexion answers, in the vendor's words
            self._declined(plan, exc)
            await fallback(scope, replaying(messages, receive), send)
            return
        if claims is not None:
            kwargs["user"], kwargs["token_info"] = claims.get("sub", claims.get("uid")), claims
        status, payload, response_headers = await self._respond(plan, scope["path"], kwargs)
        self.stats.served += 1
        # As the CORS middleware marks every answer to a request without Origin (the journal, inside it,
        # does not see the mark).
        await send({"type": "http.response.start", "status": status, "headers": [*response_headers, VARY]})
        await send({"type": "http.response.body", "body": payload})
        self.record(
            Exchange(
                at=at, api=plan.api, method=scope["method"], path=scope["path"], query=scope["query_string"],
                headers=list(scope["headers"]), body=body, status=status, response_headers=response_headers,
                response_body=payload, duration_ms=round((time.perf_counter() - started) * 1000, 1), forced=False,
            )
        )  # fmt: skip

    def _declined(self, plan: Plan, exc: Exception) -> None:
        """Count a request the plan hands on; a fault of the plan itself (not a `Decline`) is logged too, in
        full the first time per operation: Connexion's chain still answers it, so the client sees no fault."""
        if isinstance(exc, Decline):
            self.stats.declined[exc.reason] += 1
            return
        self.stats.declined["plan-fault"] += 1
        first = plan.operation_id not in self._faulted
        self._faulted.add(plan.operation_id)
        LOGGER.log(
            logging.WARNING if first else logging.DEBUG,
            "The compiled plan of %s failed (%s: %s); Connexion's chain answered the request",
            plan.operation_id, exc.__class__.__name__, exc, exc_info=exc if first else None,
        )  # fmt: skip

    def _route(self, scope: Scope) -> tuple[Route, dict[str, Any]] | str:
        """The matched route and its path groups, or why there is none to serve with."""
        if "\n" in scope["path"]:  # Connexion mounts each API with Starlette's `Mount`, whose `.*` stops there
            return "no-route"
        for route in self.routes.get(scope["method"], ()):
            match = route.pattern.match(scope["path"])
            if match:
                return "no-plan" if route.plan is None else (route, match.groupdict())
        return "no-route"

    def _arguments(
        self, found: tuple[Route, dict[str, Any]], scope: Scope, headers: dict[bytes, bytes], body: bytes
    ) -> dict[str, Any]:
        route, groups = found
        plan = route.plan
        kwargs: dict[str, Any] = dict(plan.defaults)
        for group, raw in groups.items():
            param = plan.path[group]
            kwargs[param.argument] = _scalar(param, route.convertors[group].convert(raw), "path")
        given: dict[str, list[str]] = {}
        if scope["query_string"]:
            for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
                if name not in plan.query:
                    raise Decline("query", "an undeclared query parameter")
                given.setdefault(name, []).append(value)
            for name, values in given.items():
                param = plan.query[name]
                if param.kind == "array":
                    kwargs[param.argument] = _exploded(param, values)
                elif len(values) == 1:
                    kwargs[param.argument] = _scalar(param, values[0], "query")
                else:
                    raise Decline("query", "a repeated scalar query parameter")
        if not plan.required_query <= given.keys():
            raise Decline("query", "a required query parameter is missing")
        if plan.body is not None:
            kwargs[plan.body_argument] = self._body(plan, headers, body)
        elif body or b"content-type" in headers:  # Connexion still looks at such a body, by its type
            raise Decline("body", "a body (or its type) where the operation takes none")
        return kwargs

    def _body(self, plan: Plan, headers: dict[bytes, bytes], raw: bytes) -> Any:
        if not raw.strip() or len(raw) > self.max_body or headers.get(b"content-type", b"").lower() not in JSON_TYPES:
            raise Decline("body", "no body, a large one or not JSON")
        try:
            value = jsonbody.loads(raw)
        except MockError as exc:  # Connexion's body validator parses with the same function and refuses
            raise Decline("body", "malformed JSON") from exc
        if value is None or not accepts(plan.body, value):  # type: ignore[arg-type]
            raise Decline("body", "body rejected")
        return value

    async def _respond(
        self, plan: Plan, path: str, kwargs: dict[str, Any]
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Status, body and headers as Connexion builds them from the handler's result (or its error)."""
        try:
            data, status, headers = _unpack(await plan.function(**kwargs))
            content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), None)
            if content_type and content_type not in plan.produces:
                raise NonConformingResponseHeaders(
                    f"Returned content type ({content_type}) is not defined in operation spec ({list(plan.produces)})."
                )
            payload = b"" if data is None else dumps_bytes(data)
            status = status or (204 if data is None else 200)
            raw = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
            if data is not None and not (status < 200 or status in (204, 304)):
                raw.append((b"content-length", str(len(payload)).encode()))
            if plan.validate_responses:
                self._check(plan, status, content_type, raw, data, payload)
            return status, payload, raw
        except Exception as exc:
            error_status, error_body, error_type, extra = self.error_response(path, exc)
            raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
            raw += [(b"content-length", str(len(error_body)).encode()), (b"content-type", error_type.encode())]
            return error_status, error_body, raw

    def _check(
        self, plan: Plan, status: int, content_type: str | None, raw: list[tuple[bytes, bytes]], data: Any,
        payload: bytes,
    ) -> None:  # fmt: skip
        """Connexion's response validation: media type, required headers, body schema. A body is checked
        once per distinct serialized form: the same bytes are the same JSON, so the same verdict."""
        mime = split_content_type(content_type)[0] if content_type else (plan.produces[0] if plan.produces else None)
        if status < 400 and plan.produces and mime and mime.lower() not in {p.lower() for p in plan.produces}:
            raise NonConformingResponseHeaders(
                f"Invalid Response Content-type ({mime}), expected {list(plan.produces)}"
            )
        reply = plan.replies.get(str(status), plan.replies.get("default"))
        if reply is None:
            return
        missing = reply.required_headers and reply.required_headers - {k.decode("latin-1") for k, _ in raw}
        if missing:
            raise NonConformingResponseHeaders(
                f"Keys in response header don't match response specification. Difference: {', '.join(missing)}"
            )
        if reply.schema is not None and mime and _is_json(mime) and data is not None:
            key = (id(reply), payload)
            if key in self._conforming:
                return
            problem = response_problem(reply.schema, data)
            if problem:
                raise NonConformingResponseBody(detail=problem)
            if len(payload) <= MEMO_BYTES:
                if len(self._conforming) >= MEMO_ENTRIES:
                    self._conforming.clear()
                self._conforming.add(key)


@functools.lru_cache(maxsize=64)
def _is_json(mime: str) -> bool:
    return is_json_mimetype(mime)


def _unpack(result: Any) -> tuple[Any, int | None, dict[str, str]]:
    """(data, status, headers) of a handler's result, as Connexion unpacks it."""
    if not isinstance(result, tuple):
        return result, None, {}
    if len(result) == 1:
        return result[0], None, {}
    if len(result) == 2:
        data, second = result
        return (data, int(second), {}) if isinstance(second, int) else (data, None, dict(second))
    data, status, headers = result
    return data, int(status), dict(headers)
