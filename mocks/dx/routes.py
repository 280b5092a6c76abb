"""The mock's developer routes: the journal (`/__mock/requests`), a state summary for the landing page
(`/__mock/summary`: record counts, and what the fast path served and handed on to Connexion's chain, by
reason), state fixtures (`/__mock/fixtures`), the landing page itself (`/`) and its static files
(`/__mock/static/<name>`)."""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mocks.context import MockContext
from mocks.dx import fixtures
from mocks.dx.journal import FILTERS, Journal
from mocks.dx.safejson import JSONResponse

Endpoint = Callable[[Request], Awaitable[Response]]
Route = tuple[str, list[str], Endpoint]
MAX_LIMIT_DIGITS = 18
STATIC_TYPES = {"app.js": "text/javascript", "browser.js": "text/javascript", "style.css": "text/css",
                "index.html": "text/html"}  # fmt: skip


def static_text(name: str) -> str:
    return (resources.files("mocks.dx") / "static" / name).read_text(encoding="utf-8")


def landing_page(
    apis: list[dict[str, str]], credentials: dict[str, str], seed: int, reach: str = "", exposed: bool = False
) -> str:
    """The landing page, with the API cards rendered on the server (it reads well without JavaScript), and
    `reach`: where the mock listens and who can reach it (shown as a warning when `exposed`)."""
    cards = "".join(
        "<article class='api'>"
        f"<h3>{html.escape(a['title'])}</h3>"
        f"<dl><dt>Base URL</dt><dd><code class='copy'>{html.escape(a['baseUrl'])}</code></dd>"
        f"<dt>Credentials</dt><dd><code class='copy'>{html.escape(credentials[a['slug']])}</code></dd></dl>"
        f"<p class='links'><a href='{html.escape(a['docsUrl'])}'>Swagger UI</a>"
        f"<a href='{html.escape(a['specUrl'])}'>openapi.json</a></p></article>"
        for a in apis
    )
    kind = "reach exposed" if exposed else "reach"
    where = f"<p class='{kind}' id='reach'>{html.escape(reach)}</p>" if reach else ""
    page = static_text("index.html").replace("{{SEED}}", str(seed)).replace("{{REACH}}", where)
    return page.replace("{{APIS}}", cards)


def _bad(message: str) -> Response:
    return JSONResponse({"message": message}, status_code=400)


def routes(context: MockContext, journal: Journal) -> list[Route]:
    """Routes to add to the app (through `admin.mount`, so `/__mock` lists them)."""

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            journal.clear()
            return Response(status_code=204)
        params = request.query_params
        unknown = sorted(set(params) - {*FILTERS, "limit"})
        if unknown:
            return _bad(f"unknown filter {', '.join(unknown)}; use {', '.join(FILTERS)} or limit")
        limit = params.get("limit", "")
        if limit and not (limit.isascii() and limit.isdigit()):
            return _bad(f"limit={limit[:40]!r} is not a whole number; use e.g. limit=20")
        # More digits than any journal holds entries: all of them (and never `int()` of thousands of digits).
        count = None if not limit else int(limit) if len(limit) <= MAX_LIMIT_DIGITS else 10**MAX_LIMIT_DIGITS
        return JSONResponse(journal.list(dict(params), count))

    async def summary(request: Request) -> Response:
        counts: dict[str, Any] = {
            api: {name: len(records) for name, records in group.items()}
            for api, group in context.store.export().items()
        }
        return JSONResponse({"seed": context.config.seed, "collections": counts, "fastPath": context.dispatch.report()})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_TYPES:
            return JSONResponse({"message": f"no static file {name!r}"}, status_code=404)
        return Response(static_text(name), media_type=STATIC_TYPES[name], headers={"Cache-Control": "no-cache"})

    async def fixture_document(request: Request) -> Response:
        """`GET`: the state as a fixture document; `POST`: load one (JSON), all or nothing."""
        if request.method == "GET":
            return JSONResponse(fixtures.export(context))
        try:
            document = json.loads(await request.body() or b"null")
        except ValueError as exc:
            refused = fixtures.FixtureError([fixtures.Problem("<request body>", expected=f"JSON ({exc})")])
            return JSONResponse(fixtures.problem_body(refused), status_code=400)
        try:
            loaded = fixtures.load(context, document)
        except fixtures.FixtureError as exc:
            return JSONResponse(fixtures.problem_body(exc), status_code=422)
        return JSONResponse({"loaded": loaded})

    return [
        ("/__mock/requests", ["GET", "DELETE"], requests),
        ("/__mock/fixtures", ["GET", "POST"], fixture_document),
        ("/__mock/summary", ["GET"], summary),
        ("/__mock/static/{name}", ["GET"], static),
    ]
