"""The mock's own routes, outside the vendor specs: index, `/apis.json`, `/healthz` and `/__mock/*`.

Admin API (documented in README):
- `GET  /__mock`                    this list
- `POST /__mock/reset`              back to the seed state
- `GET  /__mock/state`              every stored resource, as JSON
- `GET  /__mock/outbox[?api=]`      emails/SMS the mock "sent";  `DELETE` empties it
- `GET  /__mock/webhooks/attempts`  every webhook delivery attempt (status, error, time)
- API-specific routes contributed by each API's handlers (`admin_routes()`), e.g. advancing an order.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

import connexion
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from mocks.apis import APIS
from mocks.config import Credentials
from mocks.context import MockContext

Endpoint = Callable[[Request], Awaitable[Response]]


def apis_index(request: Request) -> list[dict[str, str]]:
    root = str(request.base_url).rstrip("/")
    return [
        {
            "slug": api.slug,
            "title": api.title,
            "baseUrl": f"{root}{api.base_path}",
            "specUrl": f"{root}{api.base_path}/openapi.json",
            "docsUrl": f"{root}{api.base_path}/ui/",
        }
        for api in APIS
    ]


def credentials_table(c: Credentials) -> dict[str, str]:
    return {
        "impilo": f"Impilo-API-Key: {c.impilo_api_key}",
        "heidi": f"Heidi-Api-Key: {c.heidi_api_key} (GET /jwt, then Authorization: Bearer <token>)",
        "legit-health": f"Authorization: Bearer {c.legit_health_token}",
    }


def _index_html(request: Request, context: MockContext) -> str:
    creds = credentials_table(context.config.credentials)
    rows = "".join(
        f"<tr><td>{html.escape(a['title'])}</td><td><code>{html.escape(a['baseUrl'])}</code></td>"
        f"<td><code>{html.escape(creds[a['slug']])}</code></td>"
        f"<td><a href='{a['docsUrl']}'>Swagger UI</a> · <a href='{a['specUrl']}'>openapi.json</a></td></tr>"
        for a in apis_index(request)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Healthcare API mocks</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}td,th{padding:.4rem .8rem;text-align:left}"
        "table{border-collapse:collapse}tr:nth-child(even){background:#f4f4f4}</style></head><body>"
        "<h1>Healthcare API mocks</h1><p>Stateful mocks of three vendor APIs, seeded with synthetic data "
        f"(seed {context.config.seed}).</p><table><tr><th>API</th><th>Base URL</th><th>Credentials</th>"
        f"<th>Docs</th></tr>{rows}</table><p>Admin: <a href='/__mock'>/__mock</a> · "
        "<a href='/apis.json'>/apis.json</a> · <a href='/healthz'>/healthz</a></p></body></html>"
    )


def mount(app: connexion.AsyncApp, context: MockContext) -> None:
    """Add the mock's own routes to `app`."""
    routes: list[tuple[str, list[str], Endpoint]] = []

    def route(path: str, *methods: str) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            routes.append((path, list(methods), endpoint))
            return endpoint

        return register

    @route("/", "GET")
    async def index(request: Request) -> Response:
        return HTMLResponse(_index_html(request, context))

    @route("/apis.json", "GET")
    async def apis_json(request: Request) -> Response:
        return JSONResponse(apis_index(request))

    @route("/healthz", "GET")
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "seed": context.config.seed})

    @route("/__mock", "GET")
    async def admin_index(request: Request) -> Response:
        return JSONResponse({"routes": [{"path": p, "methods": m} for p, m, _ in routes]})

    @route("/__mock/reset", "POST")
    async def reset(request: Request) -> Response:
        context.reset()
        return JSONResponse({"reset": True, "seed": context.config.seed})

    @route("/__mock/state", "GET")
    async def state(request: Request) -> Response:
        return JSONResponse(context.store.export())

    @route("/__mock/outbox", "GET", "DELETE")
    async def outbox(request: Request) -> Response:
        if request.method == "DELETE":
            context.outbox.clear()
            return Response(status_code=204)
        return JSONResponse(context.outbox.list(request.query_params.get("api")))

    for service in context.services.values():
        for path, methods, endpoint in getattr(service, "admin_routes", list)():
            routes.append((path, methods, endpoint))

    for path, methods, endpoint in routes:
        app.add_url_rule(path, endpoint.__name__ + path, endpoint, methods=methods)


def json_body_or_empty(payload: Any) -> dict[str, Any]:
    return payload if isinstance(payload, dict) else {}
