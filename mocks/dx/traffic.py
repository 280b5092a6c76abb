"""Which requests are vendor API traffic (journaled, delayable, forceable): anything under an API's base path
except its Swagger UI and served spec."""

from __future__ import annotations

from collections.abc import Iterable

from mocks.vendor import Vendor, owner_of

_DOCS_SUFFIXES = ("/openapi.json", "/openapi.yaml", "/swagger.json", "/swagger.yaml")


def vendor_api(path: str, vendors: Iterable[Vendor]) -> Vendor | None:
    """The vendor a request path calls, or None for the mock's own routes and each API's docs."""
    api = owner_of(path, vendors)
    if api is None:
        return None
    rest = path[len(api.base_path) :]
    if rest == "/ui" or rest.startswith("/ui/") or rest in _DOCS_SUFFIXES:
        return None
    return api
