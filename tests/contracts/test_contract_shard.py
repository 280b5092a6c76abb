"""Sharded contract runs: every operation in exactly one shard, linked operations together, and the
shards' reports merged into one (`python -m contracts merge`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import specs
from contracts.__main__ import main
from contracts.auth import ConfigurationError
from contracts.report import RUN_FILE, write_json
from contracts.runner import Failure, Outcome, load_config, run
from contracts.shard import link_groups, parse_shard, shard_operations
from mocks import create_app
from tests.support.helpers import base
from tests.support.live import LiveServer

APIS = list(specs.APIS)
METHODS = {"get", "put", "post", "patch", "delete"}


def operation_labels(api: str) -> set[str]:
    """How the reports name each operation of `api`: `GET /patient/{patientId}`."""
    paths = specs.load(api)["paths"]
    return {f"{method.upper()} {path}" for path, item in paths.items() for method in item if method in METHODS}


def all_operations() -> list[tuple[str, str]]:
    return [(api, op) for api in APIS for group in link_groups(api) for op in group]


def shards(count: int, apis: list[str] = APIS) -> list[dict[str, list[str]]]:
    return [shard_operations(apis, index, count) for index in range(1, count + 1)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_shards_cover_every_operation_exactly_once(count: int) -> None:
    placed = Counter((api, op) for shard in shards(count) for api, ops in shard.items() for op in ops)
    assert set(placed) == set(all_operations()) and set(placed.values()) == {1}


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_shards_keep_the_operations_a_link_joins_in_one_shard(count: int) -> None:
    home = {(api, op): i for i, shard in enumerate(shards(count)) for api, ops in shard.items() for op in ops}
    for api in APIS:
        for group in link_groups(api):
            assert len({home[(api, op)] for op in group}) == 1, (api, group)


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_shards_are_balanced_within_the_largest_linked_group(count: int) -> None:
    sizes = [sum(map(len, shard.values())) for shard in shards(count)]
    largest = max(len(group) for api in APIS for group in link_groups(api))
    assert max(sizes) - min(sizes) <= largest, sizes


def test_shards_do_not_depend_on_the_order_apis_are_given_in() -> None:
    assert shards(3) == [dict(sorted(s.items(), key=lambda kv: APIS.index(kv[0]))) for s in shards(3, APIS[::-1])]


def test_link_groups_join_operations_linked_by_operation_ref() -> None:
    document: dict[str, Any] = {"paths": {
        "/a": {"post": {"operationId": "createA", "responses": {"201": {"links": {
            "GetA": {"operationRef": "#/paths/~1a~1{id}/get"}}}}}},
        "/a/{id}": {"get": {"operationId": "getA", "responses": {}}},
        "/b": {"get": {"operationId": "listB", "responses": {}}},
    }}  # fmt: skip
    assert link_groups("any", document) == [("createA", "getA"), ("listB",)]


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0", ""])
def test_parse_shard_refuses_what_is_not_i_of_n(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"is not like 1/3"):
        parse_shard(text)


def test_shard_runs_merge_into_one_report_with_every_operation(tmp_path: Path) -> None:
    phases = {"coverage": {"enabled": False}, "stateful": {"max-steps": 3}}
    config = load_config(overrides={"generation": {"max-examples": 3}, "phases": phases})
    app, count = create_app(seed=0), 3
    for index in range(1, count + 1):
        outcomes = [run(api, app=app, config=config, operation_ids=ops)
                    for api, ops in shard_operations(APIS, index, count).items()]  # fmt: skip
        write_json(outcomes, "the mock", (index, count), tmp_path / f"shard-{index}" / RUN_FILE)
    merged = tmp_path / "merged"
    assert main(["merge", *(str(tmp_path / f"shard-{i}") for i in range(1, count + 1)), "--reports", str(merged)]) == 0
    suites = ET.parse(merged / "contract-junit.xml").getroot()
    tested = {suite.get("name"): {case.get("name") for case in suite} for suite in suites}
    assert tested == {api: operation_labels(api) for api in APIS}
    markdown = (merged / "contract.md").read_text()
    assert markdown.startswith("# Contract report: the mock (3 shards)")
    for api in APIS:
        assert f"| {api} | pass | {len(operation_labels(api))} |" in markdown


def test_merge_keeps_every_shards_failures_and_fails(tmp_path: Path) -> None:
    broken = Failure("GET /x", "status_code_conformance", "Undocumented status", "got 418", "curl -X GET /x")
    write_json([Outcome("impilo", {"GET /x"}, 4, [broken])], "the mock", (1, 2), tmp_path / "1" / RUN_FILE)
    write_json([Outcome("impilo", {"GET /y"}, 5), Outcome("heidi", {"GET /z"}, 2)], "the mock", (2, 2),
               tmp_path / "2" / RUN_FILE)  # fmt: skip
    assert main(["merge", str(tmp_path / "1"), str(tmp_path / "2"), "--reports", str(tmp_path / "m")]) == 1
    junit = (tmp_path / "m" / "contract-junit.xml").read_text()
    assert 'name="impilo" tests="2" failures="1"' in junit and 'name="heidi" tests="1" failures="0"' in junit
    assert "Undocumented status" in (tmp_path / "m" / "contract.md").read_text()


@pytest.mark.parametrize(
    ("given", "cause"),
    [
        pytest.param([(1, 3), (3, 3)], "got 1/3, 3/3", id="missing-shard"),
        pytest.param([(1, 2), (1, 2), (2, 2)], "got 1/2, 1/2, 2/2", id="repeated-shard"),
        pytest.param([(1, 2), None], "got 1/2", id="unsharded-run-among-shards"),
    ],
)
def test_merge_exits_2_with_one_line_when_shards_are_missing_or_repeated(
    tmp_path: Path, given: list[tuple[int, int] | None], cause: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = [tmp_path / str(n) for n in range(len(given))]
    for folder, shard in zip(folders, given, strict=True):
        write_json([Outcome("impilo", {"GET /x"}, 1)], "the mock", shard, folder / RUN_FILE)
    assert main(["merge", *map(str, folders), "--reports", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and cause in err[0]


def test_merge_exits_2_naming_the_folder_without_a_run_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["merge", str(tmp_path / "nothing"), "--reports", str(tmp_path / "m")]) == 2
    assert f"{tmp_path / 'nothing' / RUN_FILE}" in capsys.readouterr().err


def test_contract_cli_runs_each_shard_against_a_server_and_merges_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("READ_ONLY", "1")
    monkeypatch.chdir(tmp_path)  # the shards report to reports/shard-<i>/ by default
    with LiveServer(seed=0) as server:
        url = f"{server.url}{base('legit_health')}"
        codes = [main(["--api", "legit_health", "--url", url, "--shard", f"{i}/2"]) for i in (1, 2)]
    assert codes == [0, 0]
    firsts = [ET.parse(tmp_path / "reports" / f"shard-{i}" / "contract-junit.xml").getroot() for i in (1, 2)]
    halves = [{case.get("name") for suite in root for case in suite} for root in firsts]
    assert halves[0] and halves[1] and not halves[0] & halves[1]
    assert main(["merge", "reports/shard-1", "reports/shard-2"]) == 0
    merged = ET.parse(tmp_path / "reports" / "contract-junit.xml").getroot()
    assert {case.get("name") for suite in merged for case in suite} == halves[0] | halves[1]
    paths = specs.load("legit_health")["paths"]  # what READ_ONLY runs: GETs without side effects
    safe = {f"GET {path}" for path, item in paths.items() if "get" in item and not item["get"].get("x-side-effects")}
    assert halves[0] | halves[1] == safe


def test_contract_cli_exits_2_with_one_line_when_the_shard_is_not_i_of_n(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--api", "impilo", "--shard", "4/3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "SHARD='4/3' is not like 1/3" in err[0]
