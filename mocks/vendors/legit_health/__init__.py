"""Stateful mock of the Legit.Health deep-link API (patients, conditions, episodes of care, encounters)."""

from __future__ import annotations

from mocks.vendor import Vendor
from mocks.vendors.legit_health import auth, errors
from mocks.vendors.legit_health.handlers import Handlers

__all__ = ["VENDOR", "Handlers"]

VENDOR = Vendor(
    name="legit_health",
    handlers=Handlers,
    checks=auth.checks,
    render=errors.render,
    settings=auth.SETTINGS,
    hint=auth.hint,
)
