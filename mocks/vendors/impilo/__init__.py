"""Impilo v3: patients, sites, items, kits, devices, orders and webhooks."""

from __future__ import annotations

from mocks.dx.journal import hidden
from mocks.vendor import Vendor
from mocks.vendors.impilo import auth, errors
from mocks.vendors.impilo.handlers import Handlers

__all__ = ["VENDOR", "Handlers"]

VENDOR = Vendor(
    name="impilo",
    handlers=Handlers,
    checks=auth.checks,
    render=errors.render,
    settings=auth.SETTINGS,
    hint=auth.hint,
    masked_headers={"impilo-api-key": hidden},
)
