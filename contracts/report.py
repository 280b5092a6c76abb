"""Reports of a contract run: a terminal summary, JUnit XML for CI, a readable Markdown page, and the run as JSON
(`contract.json`), from which the shards of a sharded run are merged into one report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path
from typing import Any

from contracts.runner import Failure, Outcome


def summary(outcome: Outcome) -> str:
    status = "PASS" if outcome.ok else "FAIL"
    lines = [f"{outcome.api}: {status} - {len(outcome.operations)} operations, {outcome.cases} cases, "
             f"{len(outcome.failures)} failures"]  # fmt: skip
    for failure in outcome.failures:
        lines.append(f"  x {failure.operation} [{failure.check}] {failure.title}")
        for text in failure.message.strip().splitlines():
            lines.append(f"      {text}")
        if failure.curl:
            lines.append(f"      reproduce: {failure.curl}")
    lines += [f"  ! {error}" for error in outcome.errors]
    return "\n".join(lines)


def write_junit(outcomes: list[Outcome], path: Path) -> Path:
    suites = ET.Element("testsuites", name="contract")
    for outcome in outcomes:
        failed = {f.operation for f in outcome.failures}
        suite = ET.SubElement(suites, "testsuite", name=outcome.api, tests=str(len(outcome.operations)),
                              failures=str(len(failed)), errors=str(len(outcome.errors)))  # fmt: skip
        for operation in sorted(outcome.operations | failed):
            case = ET.SubElement(suite, "testcase", classname=outcome.api, name=operation)
            for failure in (f for f in outcome.failures if f.operation == operation):
                node = ET.SubElement(case, "failure", type=failure.check, message=failure.title)
                node.text = f"{failure.message}\n\nReproduce:\n{failure.curl}"
        for error in outcome.errors:
            ET.SubElement(ET.SubElement(suite, "testcase", classname=outcome.api, name="run"), "error", message=error)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
    return path


def write_markdown(outcomes: list[Outcome], target: str, path: Path) -> Path:
    lines = [
        f"# Contract report: {target}",
        "",
        "| API | Result | Operations | Cases | Failures |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.api} | {'pass' if o.ok else 'FAIL'} | {len(o.operations)} | {o.cases} | {len(o.failures)} |"
        )
    for o in outcomes:
        if not o.failures and not o.errors:
            continue
        lines += ["", f"## {o.api}"]
        for f in o.failures:
            lines += ["", f"### {f.operation}: `{f.check}`", "", f"**{f.title}**", "", "```", f.message.strip(), "```"]
            if f.curl:
                lines += ["", "Reproduce:", "", "```bash", f.curl, "```"]
        lines += [f"- error: {e}" for e in o.errors]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


# --- shards: each run also writes its outcomes as JSON; `python -m contracts merge` joins them -------------

RUN_FILE = "contract.json"


def write_json(outcomes: list[Outcome], target: str, shard: tuple[int, int] | None, path: Path) -> Path:
    """What `merge_runs` reads back: the run's target, its shard (i, n) or None, and every outcome."""
    data = {
        "target": target,
        "shard": list(shard) if shard else None,
        "outcomes": [{**asdict(o), "operations": sorted(o.operations)} for o in outcomes],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def _outcome(data: dict[str, Any]) -> Outcome:
    failures = [Failure(**failure) for failure in data.pop("failures")]
    return Outcome(**{**data, "operations": set(data["operations"]), "failures": failures})


def merge_runs(paths: list[Path]) -> tuple[str, list[Outcome]]:
    """The target and the outcomes (one per API) of the runs written to `paths` (`write_json`); ValueError,
    with the cause, when a file is missing or unreadable, or when sharded runs miss or repeat a shard."""
    runs = []
    for path in paths:
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: {exc.__class__.__name__}: {exc}") from exc
    shards = sorted(tuple(run["shard"]) for run in runs if run["shard"])
    if shards:
        count = shards[0][1]
        expected = [(i, count) for i in range(1, count + 1)]
        if shards != expected or len(shards) != len(runs):
            given = ", ".join(f"{i}/{n}" for i, n in shards) or "none"
            raise ValueError(f"the runs are not shards 1/{count} to {count}/{count} once each: got {given}")
    merged: dict[str, Outcome] = {}
    for run in runs:
        for outcome in map(_outcome, run["outcomes"]):
            into = merged.setdefault(outcome.api, Outcome(outcome.api))
            into.operations |= outcome.operations
            into.cases += outcome.cases
            into.failures += outcome.failures
            into.errors += outcome.errors
            into.unauthorized += outcome.unauthorized
            into.responses += outcome.responses
            into.successes += outcome.successes
    targets = sorted({run["target"] for run in runs})
    target = " + ".join(targets) + (f" ({len(shards)} shards)" if shards else "")
    return target, [merged[api] for api in sorted(merged)]
