"""Stateful mock servers for the Impilo, Heidi Health and Legit.Health APIs, on one Connexion 3 app."""

from __future__ import annotations

from mocks.app import create_app
from mocks.config import MockConfig

__all__ = ["MockConfig", "create_app"]
