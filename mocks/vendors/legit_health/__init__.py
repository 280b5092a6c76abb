"""Stateful mock of the Legit.Health deep-link API (patients, conditions, episodes of care, encounters)."""

from __future__ import annotations

from mocks.vendors.legit_health.handlers import Handlers

__all__ = ["Handlers"]
