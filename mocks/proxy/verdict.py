"""What one exchange with the upstream shows against our spec: a list of findings, each a named rule.

The request is judged by the mock's own request gate (`mocks.http.validation.accepts`, the verdict both of
the mock's request paths follow), the response by its compiled response validators
(`mocks.http.compiled.response_problem`). Besides the schemas, the rules a single exchange can show:
a status the operation does not document, a media type or required header it does not list, an error
body not in the vendor's declared shape (`info.x-mock.errors`, read through `specs.facts`), a page
envelope whose `first`/`last`/`size`/`content` disagree, and an upstream accepting a request the spec
refuses (the spec may then be stricter than the vendor). Rules that need more than one exchange (a
created record read back, paging through a list) stay with the contract suite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from connexion.utils import coerce_type

import specs
from mocks.http.compiled import response_problem
from mocks.http.validation import accepts, request_validator
from mocks.proxy.operations import Operation

PAGE_KEYS = frozenset({"content", "page", "size", "total", "first", "last"})
MAX_DETAIL = 300


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule an exchange broke: its name (`response-schema`) and what was expected and received."""

    rule: str
    detail: str

    def as_text(self) -> str:
        return f"{self.rule}: {self.detail}"


def _short(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _json(raw: bytes) -> tuple[Any, bool]:
    try:
        return json.loads(raw), True
    except ValueError:
        return None, False


def _media(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


# --- the request -------------------------------------------------------------------------------------------


def _parameter_problem(definition: dict[str, Any], values: list[str], where: str) -> str | None:
    schema = definition.get("schema", {})
    raw: Any = values if schema.get("type") == "array" else values[-1]
    if schema.get("type") != "array" and len(values) > 1:
        return f"{where}.{definition['name']}: given {len(values)} times, the spec takes one value"
    try:
        value = coerce_type(definition, raw, where, definition["name"])
    except Exception:  # not of its type: the gate below says so
        value = raw
    if accepts(schema, value):
        return None
    errors = [e.message for e in request_validator(schema).iter_errors(value)][:1]
    return f"{where}.{definition['name']}: {errors[0] if errors else 'does not conform to the schema'}"


def request_findings(
    operation: Operation, path_values: Mapping[str, str], query: bytes, content_type: str, body: bytes
) -> list[Finding]:
    """How the request breaks the operation's parameters and body (`request`)."""
    problems = []
    given: dict[str, list[str]] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        given.setdefault(name, []).append(value)
    declared = {p["name"] for p in operation.parameters if p["in"] == "query"}
    problems += [
        f"query.{name}: not a parameter of {operation.operation_id}" for name in sorted(given) if name not in declared
    ]
    for definition in operation.parameters:
        where = definition["in"]
        if where == "path" and definition["name"] in path_values:
            problem = _parameter_problem(definition, [path_values[definition["name"]]], "path")
        elif where == "query" and definition["name"] in given:
            problem = _parameter_problem(definition, given[definition["name"]], "query")
        elif where == "query" and definition.get("required"):
            problem = f"query.{definition['name']}: required, not given"
        else:
            continue
        if problem:
            problems.append(problem)
    problems += _body_problems(operation, content_type, body)
    return [Finding("request", _short(problem)) for problem in problems]


def _body_problems(operation: Operation, content_type: str, body: bytes) -> list[str]:
    request_body = operation.definition.get("requestBody") or {}
    content = request_body.get("content") or {}
    if not body.strip():
        return ["body: required, not given"] if request_body.get("required") else []
    if not content:
        return ["body: the operation takes none"]
    media = _media(content_type)
    if media not in content:
        return [f"body: content type {media or 'none'!r}, the spec lists {', '.join(content)}"]
    schema = content[media].get("schema")
    if schema is None or "json" not in media:
        return []
    value, parsed = _json(body)
    if not parsed:
        return ["body: not JSON"]
    if accepts(schema, value):
        return []
    errors = list(request_validator(schema).iter_errors(value))[:3]
    return [f"body.{'.'.join(map(str, e.absolute_path))}: {e.message}".replace("body.:", "body:") for e in errors] or [
        "body: does not conform to the schema"
    ]


# --- the response ------------------------------------------------------------------------------------------


def _documented(operation: Operation, status: int) -> dict[str, Any] | None:
    responses = operation.definition.get("responses", {})
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        if key in responses:
            return responses[key]  # type: ignore[no-any-return]
    return None


def response_findings(
    operation: Operation, status: int, headers: Mapping[str, str], body: bytes, query: bytes
) -> list[Finding]:
    """How the upstream's answer breaks the operation's responses and the vendor's rules."""
    findings = []
    response = _documented(operation, status)
    content_type = headers.get("content-type", "")
    media = _media(content_type)
    value, parsed = _json(body) if body else (None, False)
    if response is None:
        documented = ", ".join(operation.definition.get("responses", {}))
        findings.append(
            Finding("response-status", f"{status} is not documented for {operation.operation_id} ({documented})")
        )
    else:
        content = response.get("content") or {}
        if body and content and media not in content:
            findings.append(
                Finding("response-content-type", f"{media or 'none'!r}, the spec lists {', '.join(content)}")
            )
        required = [name for name, h in (response.get("headers") or {}).items() if h.get("required")]
        missing = [name for name in required if name.lower() not in headers]
        if missing:
            findings.append(Finding("response-headers", f"required header(s) missing: {', '.join(missing)}"))
        schema = (content.get(media) or {}).get("schema")
        if schema is not None and "json" in media:
            problem = response_problem(schema, value) if parsed else "the body is not JSON"
            if problem:
                findings.append(
                    Finding(
                        "response-schema",
                        _short(problem.removeprefix("Response body does not conform to specification. ")),
                    )
                )
    if status >= 400:
        findings += _error_shape(operation.api, status, media, value, parsed)
    elif isinstance(value, dict) and value.keys() >= PAGE_KEYS:
        findings += [Finding("page-envelope", _short(p)) for p in page_problems(value, query)]
    return findings


def _error_shape(api: str, status: int, media: str, value: Any, parsed: bool) -> list[Finding]:
    """The vendor's error body and content type, as `info.x-mock.errors` declares them."""
    facts = specs.facts(api)
    if media != facts.error_content_type:
        return [
            Finding(
                "error-shape",
                f"a {status} with content type {media or 'none'!r}, expected {facts.error_content_type!r}",
            )
        ]
    problem = response_problem(facts.error_schema, value) if parsed else "the body is not JSON"
    if problem:
        problem = problem.removeprefix("Response body does not conform to specification. ")
        return [Finding("error-shape", _short(f"a {status} body is not the vendor's error shape: {problem}"))]
    if (
        isinstance(value, dict)
        and "status" in facts.error_schema.get("properties", {})
        and value.get("status") != status
    ):
        return [Finding("error-shape", f"a {status} body says status {value.get('status')!r}")]
    return []


def page_problems(body: dict[str, Any], query: bytes) -> list[str]:
    """A page envelope's fields against each other and the page asked for (one page: the total itself is
    the contract suite's to walk)."""
    page, size, total, content = body["page"], body["size"], body["total"], body["content"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (page, size, total)) or not isinstance(
        content, list
    ):
        return []  # a type error: the schema finding says it
    expected = {"first": page == 1, "last": page * size >= total}
    problems = [f"{key} is {body[key]!r}, expected {value!r} (page {page}, size {size}, total {total})"
                for key, value in expected.items() if body[key] != value]  # fmt: skip
    if len(content) > size:
        problems.append(f"{len(content)} items in content, more than size {size}")
    if not expected["last"] and len(content) != size:
        problems.append(f"{len(content)} items in content of a page that is not the last, expected size {size}")
    asked = dict(parse_qsl(query.decode("latin-1")))
    problems += [f"{name} is {body[name]!r}, the request asked for {asked[name]!r}"
                 for name in ("page", "size") if name in asked and asked[name] != str(body[name])]  # fmt: skip
    return problems


def accepted_invalid(status: int, request: list[Finding]) -> list[Finding]:
    """A 2xx to a request our spec refuses: the vendor is more lenient than the spec says."""
    if 200 <= status < 300 and request:
        return [Finding("accepted-invalid-request", f"the upstream answered {status} to a request the spec refuses")]
    return []
