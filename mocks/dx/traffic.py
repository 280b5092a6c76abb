"""Which requests are vendor API traffic (journaled, delayable, forceable): anything under an API's base path
except its Swagger UI and served spec."""

from __future__ import annotations

from mocks.apis import Api, api_for_path

_DOCS_SUFFIXES = ("/openapi.json", "/openapi.yaml", "/swagger.json", "/swagger.yaml")


def vendor_api(path: str) -> Api | None:
    """The API a request path calls, or None for the mock's own routes and each API's docs."""
    api = api_for_path(path)
    if api is None:
        return None
    rest = path[len(api.base_path) :]
    if rest == "/ui" or rest.startswith("/ui/") or rest in _DOCS_SUFFIXES:
        return None
    return api
