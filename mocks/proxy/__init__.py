"""The validating proxy: `UPSTREAM_<API>=<base URL>` sends that API's requests to the real vendor (or its
sandbox), judges each exchange against our spec, and reports drift without changing the vendor's answer.

`install(app, context)` adds it (nothing at all is added when no upstream is set, so the mock's own request
path is unchanged); `proxy_of(app)` returns it. Parts: `operations` (which operation a request calls),
`verdict` (the rules one exchange can break), `drift` (`GET /__mock/drift`, the CI verdict), `record`
(`RECORD=dir`), `upstream` (the middleware), `__main__` (`python -m mocks.proxy`: the CI command).
"""

from __future__ import annotations

import logging
from typing import Any

import connexion
from connexion.middleware import MiddlewarePosition
from starlette.requests import Request
from starlette.responses import Response

from mocks.context import MockContext
from mocks.dx.journal import masks_of
from mocks.dx.routes import Route
from mocks.dx.safejson import JSONResponse
from mocks.proxy.operations import OperationIndex
from mocks.proxy.record import Recorder, collection_fields, merge_examples
from mocks.proxy.upstream import Proxy, ProxyMiddleware

__all__ = ["Proxy", "install", "load_examples", "proxy_of"]
_ATTRIBUTE = "mock_proxy"
LOGGER = logging.getLogger("mocks.proxy")


def load_examples(context: MockContext) -> None:
    """`EXAMPLES=<examples.json>` (written by `RECORD`): its named examples join the specs the app serves, before
    they are added to it; each one whose operation, status or JSON media type the spec lacks is logged."""
    if context.config.examples_file:
        skipped = merge_examples(context.specs, context.config.examples_file)
        if skipped:
            LOGGER.warning("EXAMPLES: not in the specs, left out: %s", ", ".join(skipped))


def install(app: connexion.AsyncApp, context: MockContext) -> list[Route]:
    """Add the proxy middleware when `context.config` names an upstream (after the journal, so the journal
    sits outside it and lists proxied exchanges); return its admin routes (`/__mock/drift`)."""
    config = context.config
    if not config.upstreams:
        return []
    vendors = context.vendors
    index = OperationIndex((api.name, api.base_path, context.specs[api.name]) for api in vendors)
    masks = masks_of(vendors)
    recorder = None
    if config.record_dir:
        recorder = Recorder(config.record_dir, masks, lambda: collection_fields(context.store.export()))
    proxy = Proxy(config=config, vendors=vendors, index=index, masks=masks, recorder=recorder)
    app.add_middleware(ProxyMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, proxy=proxy)
    setattr(app, _ATTRIBUTE, proxy)

    async def drift(request: Request) -> Response:
        if request.method == "DELETE":
            proxy.drift.clear()
            return Response(status_code=204)
        return JSONResponse(proxy.drift.report())

    return [("/__mock/drift", ["GET", "DELETE"], drift)]


def proxy_of(app: Any) -> Proxy | None:
    """The proxy of an app made by `create_app`, None when it proxies nothing."""
    return getattr(app, _ATTRIBUTE, None)
