"""Schemathesis-driven contract and fuzz tests for the three vendor APIs, in-process or by URL."""

from __future__ import annotations

from contracts.runner import Failure, Outcome, run

__all__ = ["Failure", "Outcome", "run"]
