"""Read back everything a mock holds after fuzzing: every page of every list operation of each API, and
the mock's own JSON routes (`/__mock/state`, `/__mock/requests`, ...), each 200 and strict JSON.

One accepted-but-unservable record makes every list page holding it answer 500 for everyone, and one
unservable journal entry does the same to `/__mock/requests` (and the landing page built on it); reading a
record by its id alone misses both. "Strict JSON" is RFC 8259 as I-JSON (RFC 7493) narrows it: UTF-8, no
`NaN`/`Infinity`, no lone surrogate (`"\\ud800"`), which browsers and most parsers outside Python refuse or
mangle. The client is anything httpx-like (a `TestClient` on an app, an `httpx.Client` on a URL).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

import specs
from contracts.runner import client_headers

PAGE_SIZE = 250  # Impilo's largest page: the fewest requests that still read every record
HEIDI_PAGE_SIZE = 200  # Heidi's largest `page_size` of the linked user's sessions
MAX_PAGES = 10_000  # a paged list that never says `last` must not loop forever
CHUNK = 100  # Legit.Health's `externalIds[]` takes at most 100 ids
SAMPLES = 5
HEIDI_USER = {"email": "soak@example.com", "third_party_internal_id": "soak"}
# The mock's own JSON routes, read even if `GET /__mock` (which lists the rest) fails; `/` is HTML.
ADMIN_JSON = ("/__mock/state", "/__mock/requests", "/__mock/webhooks/attempts", "/__mock/outbox",
              "/__mock/summary", "/__mock", "/apis.json", "/healthz")  # fmt: skip
ADMIN_HTML = ("/",)


@dataclass(frozen=True)
class Paging:
    """How a paged list is walked: `page` (1-based) with the page size parameter set to `per_page`, until
    the total the answer's field `total` gives is covered."""

    size_parameter: str
    per_page: int
    total: str


IMPILO_PAGES = Paging("size", PAGE_SIZE, "total")
HEIDI_PAGES = Paging("page_size", HEIDI_PAGE_SIZE, "total_count")


@dataclass(frozen=True)
class Listing:
    """One list operation of an API. `path` is under the API's base path; a `{}` in it takes, in turn,
    each distinct value of field `field` of the records of store collection `each` (a list read per
    parent record: only parents that hold such records). `paged` walks the 1-based `page` and the page
    size until the total is read (`each` then only says how many pages to expect). With `query`, the
    values of `field` of every record of `each` go into that repeated query parameter, `CHUNK` at a time
    (Legit.Health lists patients by their external ids)."""

    operation: str
    path: str
    paged: Paging | None = None
    each: str | None = None
    query: str | None = None
    field: str = "id"


# Impilo's readings: one paged list per reading type, each type its own store collection.
IMPILO_READINGS = (
    ("listBloodPressureReadings", "/blood-pressure-reading", "bloodPressure"),
    ("listBloodGlucoseReadings", "/blood-glucose-reading", "bloodGlucose"),
    ("listWeightReadings", "/weight-reading", "weight"),
    ("listBloodOxygenReadings", "/blood-oxygen-reading", "bloodOxygen"),
    ("listTemperatureReadings", "/temperature-reading", "temperature"),
    ("listHeartRateReadings", "/heart-rate-reading", "heartRate"),
    ("listHeartRateVariabilityReadings", "/heart-rate-variability-reading", "heartRateVariability"),
    ("listPeakFlowReadings", "/peak-flow-reading", "peakFlow"),
    ("listSleepMatActivityReadings", "/sleep-mat-activity-reading", "sleepMatActivity"),
    ("listSleepMatDurationReadings", "/sleep-mat-duration-reading", "sleepMatDuration"),
)

LISTS: dict[str, tuple[Listing, ...]] = {
    "impilo": (
        *(
            Listing(operation, path, paged=IMPILO_PAGES, each=collection)
            for operation, path, collection in (
                ("listPatients", "/patient", "patients"),
                ("listSites", "/site", "sites"),
                ("listItems", "/item", "items"),
                ("listKits", "/kit", "kits"),
                ("listOrders", "/order", "orders"),
                ("listWebhooks", "/webhook", "webhooks"),
                ("listWebhookLogs", "/webhook/logs", "webhook_logs"),
            )
        ),
        *(
            Listing(operation, path, paged=IMPILO_PAGES, each=f"readings_{kind}")
            for operation, path, kind in IMPILO_READINGS
        ),
        Listing(
            "getPatientAlertConfiguration",
            "/patient/{}/alert-configuration",
            each="alert_configurations",
            field="patientId",
        ),
    ),
    "heidi": (
        Listing("listPatientProfiles", "/patient-profiles"),
        Listing("listLinkedUserSessions", "/sessions/linked-user", paged=HEIDI_PAGES, each="sessions"),
        Listing("listContextDocuments", "/sessions/{}/context-documents", each="context_documents", field="session_id"),
    ),
    "legit_health": (
        Listing("getPatients", "/patients", each="patients", query="externalIds[]", field="externalId"),
        Listing("getPractitioners", "/practitioners", each="practitioners", query="externalIds[]", field="externalId"),
        Listing("getPractitionerSpecialties", "/practitioner-specialties"),
        Listing("getEpisodesOfCare", "/conditions/{}/episodes-of-care", each="conditions"),
        Listing("getEncounters", "/episodes-of-care/{}/encounters", each="episodesOfCare"),
    ),
}


def list_operations(document: dict[str, Any]) -> set[str]:
    """operationIds of a spec's list operations: a GET whose 200 JSON answer is an array, or an object
    holding the list in an array property `content` (Impilo's pages) or `data` (Heidi's envelope)."""
    found = set()
    for item in document["paths"].values():
        operation = item.get("get")
        if not operation:
            continue
        schema = operation["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema")
        schema = schema or {}
        properties = schema.get("properties", {})
        holder: dict[str, Any] = next((properties[k] for k in ("content", "data") if k in properties), {})
        if schema.get("type") == "array" or holder.get("type") == "array":
            found.add(operation["operationId"])
    return found


class NotStrictJSONError(ValueError):
    pass


def _refuse(constant: str) -> Any:
    raise NotStrictJSONError(f"{constant} is not JSON")


def _strings(value: Any) -> Iterator[str]:
    """Every string in a parsed JSON value, keys included, without recursion (values may be deep)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def strict_json(raw: bytes) -> Any:
    """The parsed value of `raw`, or NotStrictJSONError / ValueError / RecursionError saying why it is not
    strict JSON: not UTF-8, `NaN`/`Infinity`, a lone surrogate, or not JSON at all."""
    value = json.loads(raw.decode("utf-8"), parse_constant=_refuse)
    for text in _strings(value):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise NotStrictJSONError(f"lone surrogate in {text[:40]!r}") from exc
    return value


def judge(response: httpx.Response, expect_json: bool = True) -> str | None:
    """None when the answer is a 200 with a strict JSON body (or any 200 when `expect_json` is off),
    else the reason."""
    if response.status_code != 200:
        return f"{response.status_code} {response.text[:200]}"
    if not expect_json:
        return None
    try:
        strict_json(response.content)
    except (ValueError, RecursionError) as exc:
        return f"200 but not strict JSON: {exc!r:.200}"
    return None


@dataclass
class Tally:
    """Statuses, failures and the first few failures' reasons of a series of reads."""

    statuses: Counter[int] = field(default_factory=Counter)
    failed: int = 0
    not_ok: list[str] = field(default_factory=list)

    def add(self, label: str, response: httpx.Response, expect_json: bool = True) -> bool:
        """Count one answer; whether it read back."""
        self.statuses[response.status_code] += 1
        return self.judged(label, judge(response, expect_json))

    def judged(self, label: str, problem: str | None) -> bool:
        if problem is not None:
            self.failed += 1
            if len(self.not_ok) < SAMPLES:
                self.not_ok.append(f"GET {label}: {problem}")
        return problem is None

    def get(self, client: httpx.Client, label: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """GET `url` and judge the answer; a request that cannot even be sent (a stored id holding a lone
        surrogate cannot go into a URL) is a failure too. The response when it read back."""
        try:
            response = client.get(url, **kwargs)
        except (UnicodeError, httpx.HTTPError) as exc:
            self.statuses[0] += 1
            self.judged(label, f"cannot be sent: {exc!r:.200}")
            return None
        return response if self.add(label, response) else None

    def as_dict(self) -> dict[str, Any]:
        statuses = {str(k or "not sent"): v for k, v in sorted(self.statuses.items())}
        return {"requests": sum(statuses.values()), "statuses": statuses, "failed": self.failed,
                "not_ok": self.not_ok, "ok": self.failed == 0}  # fmt: skip


def auth_headers(client: httpx.Client, api: str) -> dict[str, str]:
    """The API's credentials (its schemathesis.toml project's headers); a JWT obtained by exchange
    (`info.x-mock.auth`, Heidi's) is fetched with them (empty if that fails, and every read then fails for
    it, which is reported)."""
    facts = specs.facts(api)
    if facts.auth != "jwt-exchange":
        return client_headers(api)
    response = client.get(f"{facts.base_path}/jwt", params=HEIDI_USER, headers=client_headers(api))
    return {"Authorization": f"Bearer {response.json()['token']}"} if response.status_code == 200 else {}


def _page_count(records: int, per_page: int) -> int:
    return max(1, -(-records // per_page))


def _field_values(records: list[dict[str, Any]], field: str) -> list[str]:
    """The distinct values of `field`, in store order (a parent holding many records is read once)."""
    return list(dict.fromkeys(str(r[field]) for r in records if r.get(field) not in (None, "")))


def _requests(listing: Listing, records: Callable[[str], list[dict[str, Any]]]) -> Iterator[tuple[str, Any]]:
    """(path, query) of each read of an unpaged listing."""
    if listing.query and listing.each:
        values = _field_values(records(listing.each), listing.field)
        for start in range(0, len(values), CHUNK):
            yield listing.path, {listing.query: values[start : start + CHUNK]}
    elif listing.each:
        for key in _field_values(records(listing.each), listing.field):
            yield listing.path.format(quote(key, safe="", errors="surrogatepass")), None
    else:
        yield listing.path, None


def read_lists(client: httpx.Client, api: str, records: Callable[[str], list[dict[str, Any]]]) -> dict[str, Any]:
    """GET every page of every list operation of `api`; `records(collection)` gives the stored records
    whose ids or fields the per-record listings need (from the store, in-process)."""
    base, headers = specs.facts(api).base_path, auth_headers(client, api)
    tally, reads = Tally(), Counter[str]()
    for listing in LISTS.get(api, ()):
        paging = listing.paged
        if paging is not None:
            stored = len(records(listing.each)) if listing.each else 0
            pages, page = _page_count(stored, paging.per_page), 1
            while page <= min(pages, MAX_PAGES):
                params = {"page": page, paging.size_parameter: paging.per_page}
                label = f"{listing.path}?page={page}&{paging.size_parameter}={paging.per_page}"
                response = tally.get(client, label, base + listing.path, params=params, headers=headers)
                reads[listing.operation] += 1
                if response is not None:
                    pages = max(pages, _page_count(int(response.json().get(paging.total, 0)), paging.per_page))
                page += 1
            continue
        for path, query in _requests(listing, records):
            shown = "".join(f"?{name}=<{len(values)} values>" for name, values in (query or {}).items())
            tally.get(client, path + shown, base + path, params=query, headers=headers)
            reads[listing.operation] += 1
    return {**tally.as_dict(), "reads": dict(reads)}


def admin_paths(client: httpx.Client) -> list[str]:
    """ADMIN_JSON, and every other GET route without parameters that `GET /__mock` lists."""
    paths = list(ADMIN_JSON)
    response = client.get("/__mock")
    if response.status_code == 200:
        for route in response.json().get("routes", []):
            path = str(route.get("path", ""))
            if "GET" in route.get("methods", []) and "{" not in path and path not in (*paths, *ADMIN_HTML):
                paths.append(path)
    return paths


def read_admin(client: httpx.Client) -> dict[str, Any]:
    """GET each of the mock's own routes: JSON ones must be 200 and strict JSON, `/` a 200."""
    tally, routes = Tally(), {}
    for path, expect_json in [(p, True) for p in admin_paths(client)] + [(p, False) for p in ADMIN_HTML]:
        response = client.get(path)
        routes[path] = {"status": response.status_code, "ok": tally.add(path, response, expect_json)}
    return {**tally.as_dict(), "routes": routes}


def _records_of(group: dict[str, list[dict[str, Any]]]) -> Callable[[str], list[dict[str, Any]]]:
    return lambda name: list(group.get(name, []))


def read_back(app: Any, apis: tuple[str, ...] = tuple(LISTS)) -> dict[str, Any]:
    """Every list page of `apis` and every admin route of an in-process app, judged: each 200 and strict
    JSON. The ids the per-record listings need come from the app's store."""
    from starlette.testclient import TestClient

    from mocks import context_of

    exported = context_of(app).store.export()
    lists: dict[str, Any] = {}
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        for api in apis:
            lists[api] = read_lists(client, api, _records_of(exported.get(api, {})))
        admin = read_admin(client)
    routes = admin["routes"]
    checks = {
        "every_list_page_reads_back": all(r["ok"] for r in lists.values()),
        "state_reads_back": routes["/__mock/state"]["ok"],
        "journal_reads_back": routes["/__mock/requests"]["ok"],
        "every_admin_route_reads_back": admin["ok"],
    }
    return {"lists": lists, "admin": admin, "checks": checks, "ok": all(checks.values())}


def table(results: dict[str, dict[str, Any]]) -> str:
    rows = [
        "| fuzzed app | list reads (failed) | /__mock/state | /__mock/requests | other admin routes |",
        "|---|---:|---|---|---|",
    ]
    for label, r in results.items():
        reads = sum(x["requests"] for x in r["lists"].values())
        failed = sum(x["failed"] for x in r["lists"].values())
        routes = r["admin"]["routes"]
        state, journal = (routes[p] for p in ("/__mock/state", "/__mock/requests"))
        others = [p for p, v in routes.items() if p not in ("/__mock/state", "/__mock/requests") and not v["ok"]]
        rows.append(
            f"| {label} | {reads:,} ({failed}) | {state['status']}{'' if state['ok'] else ' NOT OK'} | "
            f"{journal['status']}{'' if journal['ok'] else ' NOT OK'} | {', '.join(others) or 'ok'} |"
        )
    return "\n".join(rows)


def notes(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for label, r in results.items():
        for api, lists in r["lists"].items():
            lines += [f"  {label}: {api}: {line}" for line in lists["not_ok"]]
        lines += [f"  {label}: {line}" for line in r["admin"]["not_ok"]]
    return lines
