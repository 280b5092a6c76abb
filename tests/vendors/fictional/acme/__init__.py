"""Acme, a fictional vendor: widgets behind an API key. Its row is all the mock needs to serve it."""

from __future__ import annotations

from mocks.dx.journal import hidden
from mocks.vendor import Vendor
from tests.vendors.fictional.acme import auth, errors
from tests.vendors.fictional.acme.handlers import Handlers

__all__ = ["VENDOR"]

VENDOR = Vendor(
    name="acme",
    handlers=Handlers,
    checks=auth.checks,
    render=errors.render,
    statuses=errors.STATUSES,
    settings=auth.SETTINGS,
    hint=auth.hint,
    masked_headers={"x-acme-key": hidden},
)
