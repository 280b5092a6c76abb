"""Stateful mock servers for the Impilo, Heidi Health and Legit.Health APIs, on one Connexion 3 app."""

from __future__ import annotations

import warnings

# Connexion imports starlette.testclient, which warns that httpx should become httpx2: a note for
# Connexion, not for people running the mock. Silenced for the mock's own start-up only.
warnings.filterwarnings("ignore", message=".*httpx2.*", module="connexion")

from mocks.app import context_of, create_app  # noqa: E402
from mocks.config import MockConfig  # noqa: E402

__all__ = ["MockConfig", "context_of", "create_app"]
