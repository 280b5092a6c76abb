"""Request validation that reports the violations, checks formats and never lets bad bytes cause a 500.

Plugged into Connexion through its `validator_map`: the parameter validator and the JSON body validator
are Connexion's own, subclassed to collect all errors (Connexion stops at the first; at most
`MAX_VIOLATIONS` are collected, mocks/http/errors.py), to check formats by the mock's one format table
(mocks/http/formats.py, the same for responses), and to turn malformed, non-UTF-8, too deep or oversized
bodies into 4xx errors in the vendor's shape (one parse for both request paths: mocks/http/jsonbody.py).
Integer path segments Python cannot convert are left as text for validation to refuse (`middleware_stack`),
and a Content-Type sent to an operation that takes no body is ignored, as servers ignore it (`BodilessOperations`).
"""

from __future__ import annotations

import typing as t
from itertools import islice

import jsonschema_rs
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ExtraParameterProblem
from connexion.frameworks.starlette import IntegerConverter
from connexion.json_schema import Draft4RequestValidator
from connexion.middleware.abstract import ROUTING_CONTEXT, AbstractSpecAPI, SpecMiddleware
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import ValidationError
from starlette.convertors import register_url_convertor
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from mocks.http import jsonbody
from mocks.http.compiled import NESTED_MANY, NESTED_ONE, RESPONSE_VALIDATORS, _IdentityCache, to_json_schema
from mocks.http.errors import MAX_VIOLATIONS, MockError, Violation, validation_failed
from mocks.http.formats import FORMAT_CHECKER, FORMATS, INT_FORMATS

__all__ = ["FORMAT_CHECKER", "ExplodedArrayURIParser", "make_validator_map", "middleware_stack", "request_gate"]


class ExplodedArrayURIParser(OpenAPIURIParser):
    """Connexion's parser, except repeated (exploded) array values are kept whole.

    Connexion joins `?externalIds[]=a,b&externalIds[]=c` into "a,b,c" and splits it again, so an id
    containing a comma is cut in two. With `explode: true` each repetition is one value; keep it so.
    """

    @staticmethod
    def _resolve_param_duplicates(values, param_defn, _in):  # type: ignore[no-untyped-def]
        style = param_defn.get("style", OpenAPIURIParser.style_defaults[_in])
        if param_defn.get("explode", style == "form"):
            return list(values)
        return values[-1]

    @staticmethod
    def _split(value, param_defn, _in):  # type: ignore[no-untyped-def]
        return value if isinstance(value, list) else OpenAPIURIParser._split(value, param_defn, _in)


class _IntegerConverter(IntegerConverter):
    """Connexion's converter of integer path segments, except that a number Python will not convert (more
    than 4,300 digits, `sys.get_int_max_str_digits`) stays text: validation refuses it (400) where `int()`
    raised a 500 while routing."""

    def convert(self, value: str) -> t.Any:
        try:
            return int(value)
        except ValueError:
            return value


def _integer_paths(app: ASGIApp) -> ASGIApp:
    """A step of Connexion's middleware stack that adds no layer: built after Connexion's routing middleware
    (which registers Connexion's converter) and before any route is compiled, it registers the one above,
    so Connexion's routes and the compiled dispatcher's both use it."""
    register_url_convertor("int", _IntegerConverter())
    return app


class BodilessOperations(SpecMiddleware):
    """Drops the Content-Type of a request to an operation that documents no request body.

    Servers ignore the body of such a request (a GET sent as `multipart/form-data` with nothing in it is
    served like any GET), but Connexion parses every form-typed request's body for its files and answers a
    400 the operation does not document when that fails. Placed right after Connexion's routing, which names
    the operation.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.bodiless: set[tuple[str, str]] = set()  # (API base path, operationId)

    def add_api(self, specification: t.Any, **kwargs: t.Any) -> None:
        base_path = AbstractSpecAPI(specification, base_path=kwargs.get("base_path")).base_path
        for item in specification["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict) and "operationId" in operation and "requestBody" not in operation:
                    self.bodiless.add((base_path, operation["operationId"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get(ROUTING_CONTEXT, {}) if scope["type"] == "http" else {}
        if (routing.get("api_base_path"), routing.get("operation_id")) in self.bodiless:
            headers = scope["headers"]
            if any(name == b"content-type" for name, _ in headers):
                scope = {**scope, "headers": [(name, value) for name, value in headers if name != b"content-type"]}
        await self.app(scope, receive, send)


def middleware_stack() -> list[t.Any]:
    """Connexion's default middleware stack plus the converter step just outside its routing and the
    bodiless-operation step just inside it (a new list per app: Connexion inserts the app's own middleware
    into it)."""
    stack: list[t.Any] = []
    for middleware in ConnexionMiddleware.default_middlewares:
        stack += [_integer_paths, middleware, BodilessOperations] if middleware is RoutingMiddleware else [middleware]
    return stack


def _path_of(error: ValidationError, prefix: str) -> str:
    parts = [prefix, *(str(p) for p in error.absolute_path)]
    return ".".join(parts)


MAX_MESSAGE = 200


def _shorten(message: str) -> str:
    """jsonschema quotes the whole rejected value; an error must not echo megabytes back."""
    return message if len(message) <= MAX_MESSAGE else f"{message[: MAX_MESSAGE - 20]}... ({len(message)} chars)"


_request_validators = _IdentityCache(lambda schema: Draft4RequestValidator(schema, format_checker=FORMAT_CHECKER))

# --- the gate: one compiled validator decides what a request may carry ----------------------------------
# Both request paths (Connexion's validators below and the compiled dispatcher, mocks/http/fast_path.py) accept a
# value exactly when its gate does; the Python validator above only words the errors of a rejected one.
# The gate runs the mock's one format table (mocks/http/formats.py, also used for responses), and
# `int32`/`int64`, which JSON Schema leaves to strings only, become bounds.
_REQUEST_ONLY = ("readOnly", "writeOnly")  # Connexion's request validator gives these meaning; no gate then


class _NoGateError(Exception):
    pass


def _with_int_bounds(schema: t.Any) -> t.Any:
    if isinstance(schema, list):
        return [_with_int_bounds(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if any(schema.get(k) for k in _REQUEST_ONLY):
        raise _NoGateError
    out = dict(schema)
    for key in NESTED_ONE + NESTED_MANY:
        if key in out:
            out[key] = _with_int_bounds(out[key])
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: _with_int_bounds(sub) for name, sub in out["properties"].items()}
    bound = INT_FORMATS.get(schema.get("format", ""))
    types = schema.get("type")
    if bound and (types == "integer" or (isinstance(types, list) and "integer" in types)):
        low, high = -bound, bound - 1
        out["minimum"] = max(low, out["minimum"]) if isinstance(out.get("minimum"), int) else low
        out["maximum"] = min(high, out["maximum"]) if isinstance(out.get("maximum"), int) else high
    return out


def _compile_gate(schema: dict[str, t.Any]) -> t.Any:
    try:
        document = _with_int_bounds(schema)
    except _NoGateError:
        return None
    return jsonschema_rs.Draft4Validator(to_json_schema(document), validate_formats=True, formats=FORMATS)


_gates = _IdentityCache(_compile_gate)


def request_gate(schema: dict[str, t.Any]) -> t.Any:
    """The compiled validator deciding whether a request value conforms to `schema` (None: use the
    Python validator alone, for schemas with `readOnly`/`writeOnly`)."""
    return _gates(schema)


def accepts(schema: dict[str, t.Any], value: t.Any) -> bool:
    """Whether a request value passes; the one verdict both request paths follow."""
    gate = request_gate(schema)
    if gate is None:
        return request_validator(schema).is_valid(value)
    try:
        return bool(gate.is_valid(value))
    except (ValueError, TypeError):  # a value jsonschema-rs cannot take in (e.g. a huge integer)
        return request_validator(schema).is_valid(value)


def _gate_messages(schema: dict[str, t.Any], value: t.Any) -> list[tuple[str, str]]:
    """(path, message) of what the gate rejected, for the rare value Python's validator lets through."""
    gate = request_gate(schema)
    if gate is None:
        return []
    try:
        errors = list(islice(gate.iter_errors(value), MAX_VIOLATIONS + 1))
    except (ValueError, TypeError):
        return []
    return [(".".join(str(p) for p in e.instance_path), e.message) for e in errors]


def _violations(schema: dict[str, t.Any], instance: t.Any, prefix: str) -> list[Violation]:
    """Nothing when the gate accepts `instance`; otherwise the violations, worded by jsonschema: the first
    `MAX_VIOLATIONS + 1` found (one more than are listed, so the answer can say that some were cut)."""
    if accepts(schema, instance):
        return []
    found = []
    errors = islice(request_validator(schema).iter_errors(instance), MAX_VIOLATIONS + 1)
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        # A schema may name the vendor's message for a rule: `x-messages: {oneOf: "patient or site required"}`.
        message = error.schema.get("x-messages", {}).get(error.validator) if isinstance(error.schema, dict) else None
        found.append(Violation(_path_of(error, prefix), _shorten(message or error.message)))
    if not found:
        for path, message in _gate_messages(schema, instance):
            found.append(Violation(".".join(p for p in (prefix, path) if p), _shorten(message)))
    return found or [Violation(prefix, "does not conform to the schema")]


def request_validator(schema: dict[str, t.Any]) -> t.Any:
    """A Draft 4 request validator with full format checking, built once per schema object."""
    return _request_validators(schema)


class FullParameterValidator(ParameterValidator):
    """Connexion's parameter validator, reporting every bad parameter at once with formats checked."""

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):  # type: ignore[no-untyped-def]
        if value is None:
            if param.get("required"):
                return f"Missing {parameter_type} parameter '{param['name']}'"
            return None
        schema = param.get("schema", param)
        if schema.get("nullable") and value in ("null", "None"):
            return None
        if accepts(schema, value):
            return None
        messages = [e.message for e in islice(request_validator(schema).iter_errors(value), MAX_VIOLATIONS)]
        messages = messages or [m for _, m in _gate_messages(schema, value)] or ["does not conform to the schema"]
        return _shorten("; ".join(_shorten(m) for m in messages))

    def validate_request(self, request) -> None:  # type: ignore[no-untyped-def]
        violations: list[Violation] = []
        if self.strict_validation:
            try:
                extra = self.validate_query_parameter_list(request, security_params=self.security_query_params)
            except UnicodeDecodeError:
                extra = set()
            for name in sorted(extra):
                violations.append(Violation(f"query.{name}", "parameter is not defined for this operation"))
        checks = {
            "query": self.validate_query_parameter,
            "path": self.validate_path_parameter,
            "header": self.validate_header_parameter,
            "cookie": self.validate_cookie_parameter,
        }
        for location, check in checks.items():
            for param in self.parameters.get(location, []):
                message = check(param, request)
                if message:
                    violations.append(Violation(f"{location}.{param['name']}", message))
        if violations:
            raise validation_failed(violations)

    def validate(self, scope: Scope) -> None:
        try:
            super().validate(scope)
        except ExtraParameterProblem as problem:  # pragma: no cover - replaced by validate_request
            raise validation_failed([Violation("query", str(problem.detail))]) from problem
        except (UnicodeDecodeError, ValueError) as exc:
            raise validation_failed([Violation("query", f"cannot be decoded: {exc}")]) from exc


def make_body_validator(max_body_bytes: int) -> type[JSONRequestBodyValidator]:
    """A JSON body validator class bound to one size limit (Connexion instantiates it per request)."""

    class FullJSONBodyValidator(JSONRequestBodyValidator):
        async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
            declared = Headers(scope=scope).get("content-length", "0").lstrip("0")
            if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > max_body_bytes):
                raise _too_large(max_body_bytes)
            chunks, size = [], 0
            async for chunk in stream:
                size += len(chunk)
                if size > max_body_bytes:
                    raise _too_large(max_body_bytes)
                chunks.append(chunk)
            raw = b"".join(chunks)
            if not raw.strip():
                return _NO_BODY  # unlike a JSON `null`, which is validated like any other value
            return jsonbody.loads(raw, self._encoding)

        def _validate(self, body: t.Any) -> dict | None:
            if body is _NO_BODY:
                if self._required:
                    raise validation_failed([Violation("body", "a JSON request body is required")])
                return None
            violations = _violations(self._schema, body, "body")
            if violations:
                raise validation_failed(violations)
            return None

    return FullJSONBodyValidator


_NO_BODY = object()


def _too_large(limit: int) -> MockError:
    return MockError(f"Request body is larger than {limit} bytes", "too_large")


def make_validator_map(max_body_bytes: int) -> dict[str, t.Any]:
    body = make_body_validator(max_body_bytes)
    return {
        "parameter": FullParameterValidator,
        "body": MediaTypeDict({"*/*json": body}),
        "response": RESPONSE_VALIDATORS,
    }
