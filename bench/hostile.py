"""Hostile bodies and oversized numbers, in-process: no 5xx, every answer small, the server still answers.

For every operation with a JSON body (all three APIs), with and without valid credentials, the body is
replaced by, or one of its fields (one whose type fits, in the spec's own example body) set to: `NaN`,
`Infinity`, `-Infinity`, `1e999` (a float that parses to infinity), lone surrogate escapes (`"\\ud800x"`),
arrays and objects nested 1,000 and 5,000 deep (past Python's recursion limit), an integer of 5,000
digits (past Python's 4,300-digit conversion limit), and last ~600 KB of `[{}, {}, ...]` (150,000 empty
objects, each missing every required field). Then every path id is set to 5,000 digits, every GET is
sent `Prefer: code=<5,000 digits>` and `?__code=<5,000 digits>`, and `/__mock/requests?limit=<5,000 digits>`.

Hard properties: no 5xx; every refusal (4xx) under `LIMIT_BYTES` (an error must not echo megabytes back;
an accepted read, such as the whole journal for a limit of 5,000 digits, is as large as what it lists);
`/healthz` answers 200 after each operation's cases; every case sent within the stage's time budget (a
request that costs seconds uses it up). What the mock stored from these requests is read back afterwards
with the other fuzzed apps (`bench.readback`).
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import specs
from bench.ledger import STORE_NAMES
from bench.readback import auth_headers
from contracts.guard import collection_of

LIMIT_BYTES = 256 * 1024
DIGITS = "9" * 5000
HUGE_ITEMS = 150_000
SAMPLES = 5
PLACEHOLDER = "\x00hostile\x00"
JSON_TYPE = {"Content-Type": "application/json"}
METHODS = ("get", "put", "post", "patch", "delete")


def nested(depth: int, opening: str, closing: str, leaf: str = "") -> str:
    return opening * depth + leaf + closing * depth


# name -> (JSON text of the value, property types it is put into, best first)
VALUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "nan": ("NaN", ("number", "integer")),
    "infinity": ("Infinity", ("number", "integer")),
    "minus-infinity": ("-Infinity", ("number", "integer")),
    "float-overflow-1e999": ("1e999", ("number", "integer")),
    "lone-surrogate": ('"\\ud800x"', ("string",)),
    "lone-low-surrogate": ('"x\\udfff"', ("string",)),
    "integer-5000-digits": (DIGITS, ("integer", "number")),
    "arrays-1000-deep": (nested(1000, "[", "]"), ("array", "object")),
    "arrays-5000-deep": (nested(5000, "[", "]"), ("array", "object")),
    "objects-1000-deep": (nested(1000, '{"a":', "}", "1"), ("object", "array")),
    "objects-5000-deep": (nested(5000, '{"a":', "}", "1"), ("object", "array")),
}
# Last: each may cost seconds today. `{}, ` as Python's json.dumps writes it: 600 KB.
HUGE = ("600kb-array-of-empty-objects", "[" + ", ".join(["{}"] * HUGE_ITEMS) + "]", ("array",))


@dataclass(frozen=True)
class Case:
    label: str
    kind: str  # the label without the operation: what the counts of 5xx are grouped by
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass(frozen=True)
class Operation:
    api: str
    operation_id: str
    method: str
    path: str  # the spec's template, under the API's base path
    parameters: tuple[dict[str, Any], ...]
    body_schema: dict[str, Any] | None
    example: Any


def operations(documents: dict[str, dict[str, Any]]) -> list[Operation]:
    """Every operation of every API, with its parameters, JSON body schema and example body."""
    found = []
    for api in specs.APIS:
        for path, item in documents[api]["paths"].items():
            for method in METHODS:
                if method not in item:
                    continue
                operation = item[method]
                media: dict[str, Any] = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
                examples: dict[str, Any] = (media or {}).get("examples") or {}
                first: dict[str, Any] = next(iter(examples.values()), {})
                example = (media or {}).get("example", first.get("value"))
                found.append(
                    Operation(
                        api,
                        operation["operationId"],
                        method.upper(),
                        path,
                        tuple(item.get("parameters", []) + operation.get("parameters", [])),
                        media.get("schema") if media else None,
                        example if isinstance(example, dict) else {},
                    )
                )
    return found


def field_for(schema: dict[str, Any], types: tuple[str, ...]) -> str:
    """The body property a hostile value goes into: the first plain one (no format, enum or pattern) of
    the first fitting type; else the first property; else `a`."""
    properties: dict[str, Any] = schema.get("properties", {})
    # arrays of objects first: their items are validated one by one (the expensive case)
    ordered = sorted(properties.items(), key=lambda item: item[1].get("items", {}).get("type") != "object")
    for wanted in types:
        for name, sub in ordered:
            plain = not any(k in sub for k in ("format", "enum", "pattern", "readOnly"))
            if sub.get("type") == wanted and plain:
                return name
    return next(iter(properties), "a")


def with_value(example: dict[str, Any], field: str, text: str) -> bytes:
    """The example body with `field` set to the raw JSON `text` (which json.dumps could not write)."""
    body = copy.deepcopy(example)
    body[field] = PLACEHOLDER
    return json.dumps(body).replace(json.dumps(PLACEHOLDER), text).encode()


def path_of(operation: Operation, ids: dict[str, str], value: str | None = None) -> str:
    """The operation's path with every path parameter set to `value`, or to its example or a stored id."""
    path = operation.path
    for parameter in operation.parameters:
        if parameter.get("in") != "path":
            continue
        name = parameter["name"]
        segment = collection_of(operation.path, name)
        known = parameter.get("example") or ids.get(STORE_NAMES.get(segment, segment), "1")
        path = path.replace(f"{{{name}}}", quote(str(value if value is not None else known), safe=""))
    return specs.facts(operation.api).base_path + path


def body_cases(operation: Operation, ids: dict[str, str], creds: dict[str, str], huge: bool) -> Iterator[Case]:
    """The hostile bodies of one operation: each value as the whole body and in a fitting field."""
    if operation.body_schema is None:
        return
    url = path_of(operation, ids)
    values = [HUGE] if huge else [(name, text, types) for name, (text, types) in VALUES.items()]
    for who, headers in (("with credentials", creds), ("no credentials", {})):
        for name, text, types in values:
            field = field_for(operation.body_schema, types)
            shapes = {"as the body": text.encode(), f"in {field}": with_value(operation.example, field, text)}
            for shape, body in shapes.items():
                kind = f"{name} {'as the body' if shape == 'as the body' else 'in a field'}, {who}"
                label = f"{operation.method} {operation.path} {name} {shape}, {who}"
                yield Case(label, kind, operation.method, url, {**headers, **JSON_TYPE}, body)


def number_cases(operation: Operation, ids: dict[str, str], creds: dict[str, str]) -> Iterator[Case]:
    """5,000-digit path ids; and for GETs, `Prefer: code=` and `?__code=` of 5,000 digits."""
    body = json.dumps(operation.example).encode() if operation.body_schema is not None else None
    extra = JSON_TYPE if body is not None else {}
    for who, headers in (("with credentials", creds), ("no credentials", {})):
        if any(p.get("in") == "path" for p in operation.parameters):
            url = path_of(operation, ids, DIGITS)
            kind = f"5000-digit path ids, {who}"
            yield Case(
                f"{operation.method} {operation.path} {kind}", kind, operation.method, url, {**headers, **extra}, body
            )
        if operation.method == "GET":
            url = path_of(operation, ids)
            kind = f"Prefer: code=<5000 digits>, {who}"
            yield Case(f"GET {operation.path} {kind}", kind, "GET", url, {**headers, "Prefer": f"code={DIGITS}"})
            kind = f"?__code=<5000 digits>, {who}"
            yield Case(f"GET {operation.path}{kind}", kind, "GET", f"{url}?__code={DIGITS}", headers)


ADMIN_CASES = (
    Case("GET /__mock/requests?limit=<5000 digits>", "/__mock/requests?limit=<5000 digits>", "GET",
         f"/__mock/requests?limit={DIGITS}", {}),
)  # fmt: skip


def first_ids(exported: dict[str, dict[str, list[dict[str, Any]]]], api: str) -> dict[str, str]:
    """collection -> id of its first stored record, for path parameters that have no example."""
    found = {}
    for name, records in exported.get(api, {}).items():
        key = next((r.get("id", r.get("session_id")) for r in records), None)
        if key is not None:
            found[name] = str(key)
    return found


def plan(app: Any, client: Any) -> list[tuple[str, list[Case]]]:
    """(group, its cases) in sending order: bodies, numbers, admin, then the huge arrays."""
    from mocks import context_of

    context = context_of(app)
    exported = context.store.export()
    ops = operations(context.specs)
    creds = {api: auth_headers(client, api) for api in specs.APIS}
    ids = {api: first_ids(exported, api) for api in specs.APIS}
    groups: list[tuple[str, list[Case]]] = []
    for op in ops:
        cases = [*body_cases(op, ids[op.api], creds[op.api], huge=False)]
        cases += number_cases(op, ids[op.api], creds[op.api])
        if cases:
            groups.append((f"{op.api}.{op.operation_id}", cases))
    groups.append(("admin", list(ADMIN_CASES)))
    for op in ops:
        cases = list(body_cases(op, ids[op.api], creds[op.api], huge=True))
        if cases:
            groups.append((f"{op.api}.{op.operation_id} huge", cases))
    return groups


def _sample(case: Case, status: int, size: int, text: str) -> str:
    body = (case.body or b"")[:80].decode("utf-8", "replace")
    more = f"... ({len(case.body or b''):,} bytes)" if case.body and len(case.body) > 80 else ""
    return f"{case.label}: {status}, {size:,} bytes: {text[:200]!r} [sent {case.method} {case.url[:100]} {body}{more}]"


@dataclass
class Findings:
    """What the answers to the cases showed, judged by the stage's hard properties."""

    cases: int = 0
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failing_kinds: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # one example of each kind of case that got a 5xx
    too_big: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    unhealthy: list[str] = field(default_factory=list)
    slowest: list[tuple[float, str]] = field(default_factory=list)
    largest: tuple[int, str] = (0, "")

    def answer(self, case: Case, status: int, content: bytes, seconds: float) -> None:
        self.sent += 1
        self.statuses[status] += 1
        size = len(content)
        self.slowest = sorted([*self.slowest, (round(seconds, 2), case.label)], reverse=True)[:SAMPLES]
        if status >= 400:  # refusals: what the mock says about the request, bounded whatever it was sent
            self.largest = max(self.largest, (size, case.label))
        text = content[:300].decode("utf-8", "replace")
        if status >= 500:
            self.failing_kinds[case.kind] += 1
            if self.failing_kinds[case.kind] == 1:
                self.server_errors.append(_sample(case, status, size, text))
        if status >= 400 and size >= LIMIT_BYTES and len(self.too_big) < SAMPLES:
            self.too_big.append(_sample(case, status, size, text))
        if 200 <= status < 300 and len(self.accepted) < SAMPLES * 4:
            self.accepted.append(f"{case.label}: {status}")

    def health(self, after: str, status: int) -> None:
        if status != 200 and len(self.unhealthy) < SAMPLES:
            self.unhealthy.append(f"after {after}: /healthz {status}")

    def checks(self) -> dict[str, bool]:
        return {
            "no_5xx_response": not any(s >= 500 for s in self.statuses),
            "every_refusal_small": self.largest[0] < LIMIT_BYTES,
            "health_answers_throughout": not self.unhealthy,
            "every_case_sent": self.sent == self.cases,
        }

    def as_dict(self) -> dict[str, Any]:
        checks = self.checks()
        return {
            "cases": self.cases,
            "sent": self.sent,
            "limit_bytes": LIMIT_BYTES,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_errors": sum(v for k, v in self.statuses.items() if k >= 500),
            "server_errors_by_kind": dict(self.failing_kinds.most_common()),
            "server_error_samples": self.server_errors,
            "largest_refusal": {"bytes": self.largest[0], "case": self.largest[1]},
            "too_big_samples": self.too_big,
            "slowest": [{"seconds": s, "case": label} for s, label in self.slowest],
            "accepted_samples": self.accepted,
            "unhealthy": self.unhealthy,
            "checks": checks,
            "ok": all(checks.values()),
        }


def attack(app: Any, budget_seconds: float) -> dict[str, Any]:
    """Send every case to `app` (in-process) within `budget_seconds`; the verdict and what it found."""
    from starlette.testclient import TestClient

    findings = Findings()
    started = time.monotonic()
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        groups = plan(app, client)
        findings.cases = sum(len(cases) for _, cases in groups)
        for group, cases in groups:
            for case in cases:
                if time.monotonic() - started > budget_seconds:
                    break
                t0 = time.monotonic()
                response = client.request(case.method, case.url, headers=case.headers, content=case.body)
                findings.answer(case, response.status_code, response.content, time.monotonic() - t0)
            findings.health(group, client.get("/healthz").status_code)
    seconds = round(time.monotonic() - started, 1)
    return {**findings.as_dict(), "seconds": seconds, "budget_seconds": budget_seconds}


def table(result: dict[str, Any]) -> str:
    statuses = {int(k): v for k, v in result["statuses"].items()}
    ok2 = sum(v for k, v in statuses.items() if 200 <= k < 300)
    ok4 = sum(v for k, v in statuses.items() if 400 <= k < 500)
    slowest = result["slowest"][0]["seconds"] if result["slowest"] else 0
    return "\n".join(
        [
            f"| cases | sent in {result['budget_seconds']:g} s | 2xx | 4xx | 5xx | largest refusal "
            f"(limit {result['limit_bytes']:,}) | slowest, s | /healthz after each operation |",
            "|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {result['cases']:,} | {result['sent']:,} | {ok2} | {ok4} | {result['server_errors']} | "
            f"{result['largest_refusal']['bytes']:,} | {slowest:.1f} | "
            f"{'yes' if not result['unhealthy'] else 'NO'} |",
        ]
    )


def notes(result: dict[str, Any]) -> list[str]:
    """The kinds of case that got a 5xx (how many operations each), one example of each, the too-big
    answers, the slowest cases and what was accepted."""
    lines = [f"  5xx: {kind} ({n})" for kind, n in result["server_errors_by_kind"].items()]
    lines += [f"  5xx example: {sample}" for sample in result["server_error_samples"][:SAMPLES]]
    lines += [f"  too big: {sample}" for sample in result["too_big_samples"]]
    lines += [f"  slow: {s['seconds']:.1f} s {s['case']}" for s in result["slowest"] if s["seconds"] >= 1]
    lines += [f"  accepted: {line}" for line in result["accepted_samples"][:SAMPLES]]
    lines += [f"  {line}" for line in result["unhealthy"]]
    if result["sent"] < result["cases"]:
        lines.append(f"  budget of {result['budget_seconds']:g} s used up: {result['cases'] - result['sent']} not sent")
    return lines
