"""The judgement of the soak's newer stages, without the soak: read-back (`bench.readback`), hostile bodies
(`bench.hostile`), slow clients (`bench.slowclients`), odd formats (`bench.formats`) and the stage
selection of `bench.soak`. Answers come from fake transports and sockets, never from long runs."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from schemathesis.specs.openapi import formats as registry

import specs
from bench import formats, hostile, readback, slowclients, soak
from bench.hostile import Case, Findings

Handler = Callable[[httpx.Request], httpx.Response]


def fake_client(handler: Handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://mock")


def impilo_pages(total: int, failing_page: int | None = None) -> Handler:
    """Impilo list pages of `total` records at PAGE_SIZE each; `failing_page` answers 500."""

    def answer(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["size"])
        if page == failing_page:
            return httpx.Response(500, json={"message": "boom"})
        content = [{"id": n} for n in range((page - 1) * size, min(page * size, total))]
        return httpx.Response(200, json={"content": content, "total": total, "last": page * size >= total})

    return answer


def no_records(name: str) -> list[dict[str, Any]]:
    return []


def paged_operations(api: str) -> list[str]:
    return [listing.operation for listing in readback.LISTS[api] if listing.paged]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"a": NaN}', id="nan"),
        pytest.param(b"[Infinity]", id="infinity"),
        pytest.param(b'{"a": "\\ud800x"}', id="lone-surrogate-escape"),
        pytest.param(b'{"\\udfff": 1}', id="lone-surrogate-in-a-key"),
        pytest.param(b'{"a": "\xff"}', id="not-utf-8"),
    ],
)
def test_strict_json_refuses_a_body_when_python_alone_would_parse_it(raw: bytes) -> None:
    with pytest.raises(ValueError):
        readback.strict_json(raw)


def test_strict_json_parses_a_body_when_surrogates_are_paired_and_numbers_finite() -> None:
    assert readback.strict_json(b'{"a": "\\ud83d\\ude00", "b": [1.5e300]}') == {"a": "\U0001f600", "b": [1.5e300]}


@pytest.mark.parametrize("api", list(readback.LISTS), ids=lambda api: api.replace("_", "-"))
def test_readback_table_names_every_list_operation_when_compared_with_the_spec(api: str) -> None:
    assert {listing.operation for listing in readback.LISTS[api]} == readback.list_operations(specs.load(api))


def test_read_lists_reads_every_impilo_page_when_the_total_spans_three() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return impilo_pages(2 * readback.PAGE_SIZE + 1)(request)

    with fake_client(answer) as client:
        result = readback.read_lists(client, "impilo", no_records)
    assert result["ok"] is True
    assert result["reads"] == dict.fromkeys(paged_operations("impilo"), 3)
    assert {"listPatients", "listWeightReadings", "listSleepMatDurationReadings"} <= set(result["reads"])


def test_read_lists_reads_the_pages_after_a_failing_one_when_the_store_holds_them() -> None:
    with fake_client(impilo_pages(3 * readback.PAGE_SIZE, failing_page=1)) as client:
        result = readback.read_lists(client, "impilo", lambda name: [{}] * (3 * readback.PAGE_SIZE))
    paged = len(paged_operations("impilo"))
    assert result["ok"] is False
    assert result["statuses"] == {"200": 2 * paged, "500": paged}
    assert result["not_ok"][0].startswith("GET /patient?page=1&size=250: 500")


def test_read_lists_walks_heidi_pages_by_page_size_when_the_total_count_spans_three() -> None:
    asked: list[tuple[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/jwt"):
            return httpx.Response(200, json={"token": "t"})
        if request.url.path.endswith("/sessions/linked-user"):
            asked.append((request.url.params["page"], request.url.params["page_size"]))
            return httpx.Response(200, json={"data": [], "total_count": 2 * readback.HEIDI_PAGE_SIZE + 1})
        return httpx.Response(200, json={"data": []})

    with fake_client(answer) as client:
        result = readback.read_lists(client, "heidi", no_records)
    assert result["ok"] is True
    assert asked == [(str(page), str(readback.HEIDI_PAGE_SIZE)) for page in (1, 2, 3)]


def test_read_lists_reads_each_parent_once_when_it_holds_several_records() -> None:
    paths: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/alert-configuration"):
            paths.append(request.url.path)
            return httpx.Response(200, json=[])
        return impilo_pages(0)(request)

    configurations = [{"patientId": 1, "alertConfigurationType": t} for t in ("bloodPressure", "weight")]
    stored = {"alert_configurations": [*configurations, {"patientId": 2, "alertConfigurationType": "weight"}]}
    with fake_client(answer) as client:
        result = readback.read_lists(client, "impilo", lambda name: stored.get(name, []))
    assert result["ok"] is True
    assert [path.rsplit("/", 2)[-2] for path in paths] == ["1", "2"]
    assert result["reads"]["getPatientAlertConfiguration"] == 2


def test_read_lists_sends_external_ids_in_chunks_when_legit_health_lists_patients() -> None:
    queries: list[list[str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/patients"):
            queries.append(request.url.params.get_list("externalIds[]"))
        return httpx.Response(200, json=[])

    patients = [{"externalId": f"ext-{n}"} for n in range(2 * readback.CHUNK + 5)]
    with fake_client(answer) as client:
        result = readback.read_lists(client, "legit_health", lambda name: patients if name == "patients" else [])
    assert result["ok"] is True
    assert [len(q) for q in queries] == [readback.CHUNK, readback.CHUNK, 5]


def test_read_lists_counts_a_failure_when_a_stored_value_cannot_go_into_a_url() -> None:
    with fake_client(lambda request: httpx.Response(200, json=[])) as client:
        result = readback.read_lists(client, "legit_health", lambda name: [{"externalId": "\ud800x"}])
    assert result["ok"] is False
    assert "cannot be sent" in result["not_ok"][0]


def test_read_admin_flags_the_journal_when_it_answers_nan_and_the_landing_page_when_500() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/__mock/requests":
            return httpx.Response(200, content=b'[{"body": NaN}]', headers={"Content-Type": "application/json"})
        if request.url.path == "/":
            return httpx.Response(500, text="oops")
        if request.url.path == "/__mock":
            return httpx.Response(200, json={"routes": [{"path": "/__mock/extra", "methods": ["GET"]}]})
        return httpx.Response(200, json={})

    with fake_client(answer) as client:
        result = readback.read_admin(client)
    assert {path for path, route in result["routes"].items() if not route["ok"]} == {"/__mock/requests", "/"}
    assert "/__mock/extra" in result["routes"]


def test_field_for_picks_an_array_of_objects_when_an_array_is_wanted() -> None:
    schema = {
        "properties": {
            "ids": {"type": "array", "items": {"type": "string"}},
            "items": {"type": "array", "items": {"type": "object"}},
            "email": {"type": "string", "format": "email"},
            "name": {"type": "string"},
        }
    }
    assert hostile.field_for(schema, ("array",)) == "items"
    assert hostile.field_for(schema, ("string",)) == "name"
    assert hostile.field_for(schema, ("number",)) == "ids"
    assert hostile.field_for({}, ("string",)) == "a"


def test_with_value_writes_json_text_when_json_dumps_could_not() -> None:
    assert hostile.with_value({"a": 1}, "b", "NaN") == b'{"a": 1, "b": NaN}'
    assert hostile.with_value({}, "a", '"\\ud800x"') == b'{"a": "\\ud800x"}'


@pytest.mark.parametrize(
    ("name", "error"),
    [
        pytest.param("arrays-1000-deep", RecursionError, id="deep-arrays"),
        pytest.param("objects-5000-deep", RecursionError, id="deep-objects"),
        pytest.param("integer-5000-digits", ValueError, id="long-integer"),
    ],
)
def test_hostile_values_break_python_json_when_parsed_with_defaults(name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        json.loads(hostile.VALUES[name][0])


def test_hostile_huge_array_is_about_600_kb_when_written_out() -> None:
    assert 590_000 <= len(hostile.HUGE[1]) <= 610_000


def test_body_cases_cover_every_json_body_operation_with_and_without_credentials() -> None:
    operations = [op for op in hostile.operations({a: specs.load(a) for a in readback.LISTS}) if op.body_schema]
    assert len(operations) >= 20
    for op in operations:
        cases = list(hostile.body_cases(op, {}, {"X-Key": "k"}, huge=False))
        assert {c.headers.get("X-Key") for c in cases} == {"k", None}
        assert len(cases) == 2 * 2 * len(hostile.VALUES)


def test_number_cases_put_5000_digits_in_path_ids_and_forced_codes_when_the_operation_is_a_get() -> None:
    operations = hostile.operations({api: specs.load(api) for api in readback.LISTS})
    [get_patient] = [op for op in operations if (op.api, op.operation_id) == ("impilo", "getPatient")]
    cases = list(hostile.number_cases(get_patient, {"patients": "7"}, {}))
    assert {c.kind.split(",")[0] for c in cases} == {
        "5000-digit path ids",
        "Prefer: code=<5000 digits>",
        "?__code=<5000 digits>",
    }
    assert all(hostile.DIGITS in c.url or hostile.DIGITS in c.headers.get("Prefer", "") for c in cases)


def case(kind: str = "nan as the body") -> Case:
    return Case(f"POST /x {kind}", kind, "POST", "/x", {}, b"NaN")


@pytest.mark.parametrize(
    ("status", "content", "failed"),
    [
        pytest.param(400, b"{}", set(), id="small-4xx-holds"),
        pytest.param(500, b"{}", {"no_5xx_response"}, id="5xx-fails"),
        pytest.param(400, b"x" * hostile.LIMIT_BYTES, {"every_refusal_small"}, id="huge-refusal-fails"),
        pytest.param(200, b"x" * hostile.LIMIT_BYTES, set(), id="huge-accepted-read-holds"),
    ],
)
def test_findings_fail_the_property_when_an_answer_breaks_it(status: int, content: bytes, failed: set[str]) -> None:
    findings = Findings(cases=1)
    findings.answer(case(), status, content, 0.01)
    findings.health("POST /x", 200)
    assert {name for name, ok in findings.checks().items() if not ok} == failed


def test_findings_fail_health_and_completeness_when_healthz_fails_and_cases_are_left() -> None:
    findings = Findings(cases=2)
    findings.answer(case(), 400, b"{}", 0.01)
    findings.health("POST /x", 500)
    assert {name for name, ok in findings.checks().items() if not ok} == {
        "health_answers_throughout",
        "every_case_sent",
    }
    assert findings.as_dict()["unhealthy"] == ["after POST /x: /healthz 500"]


def test_stalled_request_declares_a_body_and_sends_one_byte_when_built() -> None:
    raw = slowclients.stalled_request("POST", "/p", {"K": "v"}, "h:1")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert body == b"{"
    assert b"Content-Length: 100" in head and b"\r\nK: v" in head


@pytest.mark.parametrize(
    ("first", "status"),
    [
        pytest.param(b"HTTP/1.1 408 Request Timeout\r\n", "408", id="status"),
        pytest.param(b"HTTP", "answered", id="cut"),
    ],
)
def test_status_of_reads_the_status_code_when_the_server_answers(first: bytes, status: str) -> None:
    assert slowclients.status_of(first) == status


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def test_stalled_clients_are_told_apart_when_the_server_closes_answers_or_waits(listener: socket.socket) -> None:
    stalled = slowclients.Stalled()
    address = listener.getsockname()
    accepted = []
    for _ in range(3):
        stalled.open(address, b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        accepted.append(listener.accept()[0])
    accepted[0].close()
    accepted[1].sendall(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    for _ in range(20):
        if sum(stalled.ended.values()) == 2:
            break
        stalled.watch(0.1)
    try:
        assert dict(stalled.ended) == {"closed": 1, "408": 1}
        assert stalled.still_open == 1
    finally:
        stalled.close()
        stalled.selector.close()
        for sock in accepted:
            sock.close()


def test_odd_formats_are_registered_only_inside_the_block_when_used() -> None:
    assert "email" not in registry.STRING_FORMATS
    with formats.odd_formats() as strategies:
        assert set(strategies) <= set(registry.STRING_FORMATS)
    assert not set(formats.ODD) & set(registry.STRING_FORMATS)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("email", "@", id="bare-at"),
        pytest.param("email", "a b@x", id="space"),
        pytest.param("email", "ü@x.de", id="non-ascii-local-part"),
        pytest.param("uri", "http://127.0.0.1:1/%zz", id="bad-escape"),
        pytest.param("uri", "http://[::1", id="unclosed-ipv6"),
    ],
)
def test_odd_formats_include_the_values_issue_12_found_when_listed(name: str, value: str) -> None:
    assert value in formats.ODD[name]


def test_stages_of_orders_the_stages_and_names_an_unknown_one_when_parsed() -> None:
    assert soak.stages_of("readback, fuzz") == ("fuzz", "readback")
    with pytest.raises(ValueError, match="unknown stage slo"):
        soak.stages_of("slo")


def test_parse_takes_quick_values_when_not_given_on_the_command_line() -> None:
    args = soak.parse(["--quick", "--cases", "7", "--only", "hostile"])
    assert (args.cases, args.hostile_seconds, args.stages) == (7, soak.QUICK["hostile_seconds"], ("hostile",))
    assert soak.parse([]).hostile_seconds > soak.QUICK["hostile_seconds"]


def test_read_back_holds_every_check_when_the_mock_is_freshly_seeded() -> None:
    from mocks import create_app

    result = readback.read_back(create_app(seed=0))
    assert result["checks"] == dict.fromkeys(result["checks"], True)
    assert all(result["lists"][api]["requests"] > 0 for api in readback.LISTS)
    assert {"/__mock/state", "/__mock/requests", "/"} <= set(result["admin"]["routes"])


@pytest.mark.parametrize(
    ("variable", "read"),
    [pytest.param("JOURNAL_SIZE", True, id="read"), pytest.param("NOT_A_MOCK_VARIABLE", False, id="ignored")],
)
def test_mock_reads_tells_a_variable_the_mock_uses_when_it_changes_the_config(variable: str, read: bool) -> None:
    assert slowclients.mock_reads(variable, "7") is read


def test_verdict_says_no_timeout_when_every_stalled_client_is_left_open() -> None:
    assert slowclients.verdict(3, 3, known=False) == "no timeout (the mock does not read BODY_TIMEOUT): all 3 left open"
    assert slowclients.verdict(0, 3, known=True) == "every stalled client answered or closed in time"
