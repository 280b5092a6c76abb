"""Reports of a contract run: a terminal summary, JUnit XML for CI and a readable Markdown page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from contracts.runner import Outcome


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
