"""Credential checks, plugged into Connexion's own security middleware through its `security_map`.

Connexion instantiates security handlers without arguments, so each API gets handler subclasses made in
the app factory that close over that app's credential checks (a vendor row's `checks`, given its
credentials). A missing credential is Connexion's 401 ("No authorization token provided"); a wrong one is a
`MockError` 401 in the vendor's shape.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Any

from connexion.security import ApiKeySecurityHandler, BearerSecurityHandler

__all__ = ["same", "security_map"]

Check = Callable[..., dict[str, Any]]
BASES: dict[str, type] = {"apiKey": ApiKeySecurityHandler, "bearer": BearerSecurityHandler}


def _handler(base: type, check: Check) -> type:
    """A subclass of a Connexion handler whose info function is `check` (instead of an x-*InfoFunc)."""

    def _resolve_func(self: object, security_scheme: dict[str, Any]) -> Check:
        return check

    return type(f"Mock{base.__name__}", (base,), {"_resolve_func": _resolve_func})


def same(given: str, expected: str) -> bool:
    """Whether a credential sent equals the expected one, in constant time."""
    return hmac.compare_digest(given.encode(), expected.encode())


def security_map(checks: Mapping[str, Check]) -> dict[str, type]:
    """Connexion `security_map` for one API, from its checks by scheme kind (`apiKey`, `bearer`)."""
    return {kind: _handler(BASES[kind], check) for kind, check in checks.items()}
