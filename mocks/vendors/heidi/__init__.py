"""Stateful mock of the Heidi Health open API (JWT exchange, patient profiles, sessions)."""

from __future__ import annotations

from mocks.vendors.heidi.handlers import Handlers

__all__ = ["Handlers"]
