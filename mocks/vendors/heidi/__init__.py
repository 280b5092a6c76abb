"""Stateful mock of the Heidi Health open API (JWT exchange, patient profiles, sessions)."""

from __future__ import annotations

from mocks.dx.journal import hidden
from mocks.vendor import Vendor
from mocks.vendors.heidi import auth, errors
from mocks.vendors.heidi.handlers import Handlers

__all__ = ["VENDOR", "Handlers"]

VENDOR = Vendor(
    name="heidi",
    handlers=Handlers,
    checks=auth.checks,
    render=errors.render,
    statuses=errors.STATUSES,
    settings=auth.SETTINGS,
    hint=auth.hint,
    masked_headers={"heidi-api-key": hidden},
)
