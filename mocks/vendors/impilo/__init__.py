"""Impilo v3: patients, sites, items, kits, devices, orders and webhooks."""

from __future__ import annotations

from mocks.vendors.impilo.handlers import Handlers

__all__ = ["Handlers"]
