"""The mock's own routes, outside the vendor specs: index, `/apis.json`, `/healthz` and `/__mock/*`.

Admin API (documented in README):
- `GET  /__mock`                    this list
- `POST /__mock/reset`              back to the seed state
- `GET  /__mock/state`              every stored resource, as JSON (secret fields masked)
- `GET  /__mock/outbox[?api=]`      emails/SMS the mock "sent";  `DELETE` empties it
- `GET  /__mock/webhooks/attempts`  every webhook delivery attempt (status, error, time)
- `GET  /__mock/requests[?api=&method=&path=&status=&limit=]`  the request journal; `DELETE` empties it
- `GET  /__mock/summary`            seed, record counts per collection (for the landing page), and
                                    `fastPath`: requests the compiled plans served, and those handed on to
                                    Connexion's chain by reason (mocks/http/fast_path.py)
- `GET  /__mock/fixtures`           the state as a state fixture document; `POST` loads one (mocks/dx/fixtures.py)
- `GET  /__mock/drift`              with `UPSTREAM_<API>` set: the validating proxy's findings (mocks/proxy/);
                                    `DELETE` empties them
- API-specific routes contributed by each API's handlers (`admin_routes()`), e.g. advancing an order.
Those that change state (POST, DELETE) take no body or a JSON one, and refuse a foreign `Origin`.
With ADMIN_TOKEN set (required beyond loopback), every route but `/`, `/apis.json`, `/healthz` and the
page's static files needs `Authorization: Bearer <ADMIN_TOKEN>` (mocks/http/guard.py), and the landing
page and start-up banner name the credential variables instead of their values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

import connexion
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from mocks.config import MockConfig
from mocks.context import MockContext
from mocks.dx.routes import landing_page
from mocks.dx.safejson import JSONResponse, redacted
from mocks.http.guard import admin_only, public_route, reach
from mocks.vendor import Vendor

Endpoint = Callable[[Request], Awaitable[Response]]


def apis_index(request: Request, vendors: Sequence[Vendor]) -> list[dict[str, str]]:
    root = str(request.base_url).rstrip("/")
    return [
        {
            "slug": api.slug,
            "title": api.title,
            "baseUrl": f"{root}{api.base_path}",
            "specUrl": f"{root}{api.base_path}/openapi.json",
            "docsUrl": f"{root}{api.base_path}/ui/",
        }
        for api in vendors
    ]


def credentials_table(vendors: Sequence[Vendor], config: MockConfig) -> dict[str, str]:
    """Slug -> how to send that API's credentials, one line each (landing page, start-up banner); with an
    admin token (a shared mock), secrets as their variables (`$IMPILO_API_KEY`): the page is public."""
    table = {}
    for vendor in vendors:
        values = dict(config.credentials_for(vendor.name))
        if config.admin_token:
            values.update({s.field: f"${s.env}" for s in vendor.settings if s.secret})
        table[vendor.slug] = vendor.hint(values)
    return table


def mount(
    app: connexion.AsyncApp,
    context: MockContext,
    extra_routes: Iterable[tuple[str, list[str], Endpoint]] = (),
    on_reset: Iterable[Callable[[], None]] = (),
) -> None:
    """Add the mock's own routes to `app`, and `extra_routes`; `on_reset` run after each reset."""
    routes: list[tuple[str, list[str], Endpoint]] = []

    def route(path: str, *methods: str) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            routes.append((path, list(methods), endpoint))
            return endpoint

        return register

    @route("/", "GET")
    async def index(request: Request) -> Response:
        config, (where, exposed) = context.config, reach(context.config.listen, bool(context.config.admin_token))
        vendors = context.vendors
        page = landing_page(
            apis_index(request, vendors), credentials_table(vendors, config), config.seed, where, exposed
        )
        return HTMLResponse(page)

    @route("/apis.json", "GET")
    async def apis_json(request: Request) -> Response:
        return JSONResponse(apis_index(request, context.vendors))

    @route("/healthz", "GET")
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "seed": context.config.seed})

    @route("/__mock", "GET")
    async def admin_index(request: Request) -> Response:
        return JSONResponse({"routes": [{"path": p, "methods": m} for p, m, _ in routes]})

    @route("/__mock/reset", "POST")
    async def reset(request: Request) -> Response:
        context.reset()
        for hook in on_reset:
            hook()
        return JSONResponse({"reset": True, "seed": context.config.seed})

    @route("/__mock/state", "GET")
    async def state(request: Request) -> Response:
        return JSONResponse(redacted(context.store.export()))  # secrets (e.g. the webhook secret) as "***"

    @route("/__mock/outbox", "GET", "DELETE")
    async def outbox(request: Request) -> Response:
        if request.method == "DELETE":
            context.outbox.clear()
            return Response(status_code=204)
        return JSONResponse(context.outbox.list(request.query_params.get("api")))

    routes.extend(extra_routes)
    for service in context.services.values():
        for path, methods, endpoint in getattr(service, "admin_routes", list)():
            routes.append((path, methods, endpoint))

    # Calls that change state take JSON or nothing, from an allowed Origin (CSRF); with ADMIN_TOKEN, all but
    # the public routes need it: mocks/http/guard.py.
    for path, methods, endpoint in routes:
        token = None if public_route(path) else context.config.admin_token
        checked = admin_only(endpoint, context.config.cors_origin_regex, token)
        app.add_url_rule(path, endpoint.__name__ + path, checked, methods=methods)
