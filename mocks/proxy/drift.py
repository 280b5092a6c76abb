"""The drift summary behind `GET /__mock/drift`: what the proxied exchanges broke, counted per operation and
rule, and the verdict a CI step exits with (0 no drift, 1 drift, 2 the upstream could not be checked)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from mocks.proxy.verdict import Finding

CLEAN, DRIFT, CANNOT_CHECK = 0, 1, 2
# A request that breaks the spec is the caller's to fix, not the vendor's drift (unless the vendor accepted
# it: `accepted-invalid-request`); listed apart, in `requestViolations`.
CALLER_RULE = "request"


class DriftLog:
    """Counts per API, operation and rule with the latest detail; per process (each of `WORKERS=n` keeps
    its own, so a CI run reads one worker's)."""

    def __init__(self, upstreams: Mapping[str, str], mocked: Mapping[str, frozenset[str]]) -> None:
        self.upstreams, self.mocked = dict(upstreams), {api: sorted(ops) for api, ops in mocked.items()}
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._served = {"upstream": 0, "mock": 0, "unreachable": 0}
            self._drift: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
            self._requests: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
            self._unreachable: str | None = None

    def served(self, by: str) -> None:
        with self._lock:
            self._served[by] += 1

    def unreachable(self, cause: str) -> None:
        with self._lock:
            self._served["unreachable"] += 1
            self._unreachable = cause

    def add(self, api: str, operation_id: str, findings: Sequence[Finding]) -> None:
        """Count findings: the caller's (`request`) apart from the upstream's, which alone are drift."""
        with self._lock:
            for finding in findings:
                kept = self._requests if finding.rule == CALLER_RULE else self._drift
                rules = kept.setdefault(api, {}).setdefault(operation_id, {})
                seen = rules.setdefault(finding.rule, {"count": 0, "last": ""})
                seen["count"] += 1
                seen["last"] = finding.detail

    def exit_code(self) -> int:
        with self._lock:
            if self._served["unreachable"] or not self._served["upstream"]:
                return CANNOT_CHECK
            return DRIFT if self._drift else CLEAN

    def report(self) -> dict[str, Any]:
        """As `GET /__mock/drift` shows it."""
        code = self.exit_code()
        with self._lock:
            findings = _total(self._drift)
            verdict = {CLEAN: "no drift", DRIFT: "drift", CANNOT_CHECK: "cannot check"}[code]
            if code == CANNOT_CHECK:
                verdict += f": {self._unreachable}" if self._unreachable else ": no request reached an upstream yet"
            return {
                "verdict": verdict,
                "exitCode": code,
                "upstreams": self.upstreams,
                "mocked": self.mocked,
                "servedBy": dict(self._served),
                "findings": findings,
                "drift": _copy(self._drift),
                "requestViolations": _copy(self._requests),
            }


Counts = dict[str, dict[str, dict[str, dict[str, Any]]]]


def _total(counts: Counts) -> int:
    return sum(r["count"] for ops in counts.values() for rules in ops.values() for r in rules.values())


def _copy(counts: Counts) -> Counts:
    return {api: {op: {rule: dict(seen) for rule, seen in rules.items()} for op, rules in ops.items()}
            for api, ops in counts.items()}  # fmt: skip
