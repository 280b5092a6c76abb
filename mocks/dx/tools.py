"""`install(app, context)`: the developer tools of one mock app, made by the app factory (no module state)."""

from __future__ import annotations

from dataclasses import dataclass

import connexion
from connexion.middleware import MiddlewarePosition

from mocks.context import MockContext
from mocks.dx.forced import ForcedResponseMiddleware, operations_of
from mocks.dx.journal import Journal, JournalMiddleware
from mocks.dx.routes import Route, routes
from mocks.dx.scenario import ScenarioMiddleware, Simulator
from mocks.state.fakedata import SchemaFaker

__all__ = ["DevTools", "install"]


@dataclass
class DevTools:
    journal: Journal
    routes: list[Route]


def install(app: connexion.AsyncApp, context: MockContext, journal: Journal) -> DevTools:
    """Add the journal, scenario and forced-response middleware to `app`; return the routes to mount.

    Call after CORS is added: the journal then sits inside CORS and outside Connexion's exception
    handling, so it sees every response as sent, errors included.
    """
    config = context.config
    vendors = context.vendors
    simulator = Simulator(config, [vendor.name for vendor in vendors])
    app.add_middleware(
        JournalMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        journal=journal,
        access_log=config.access_log,
        body_limit=config.max_body_bytes,
        vendors=vendors,
    )
    app.add_middleware(
        ScenarioMiddleware, position=MiddlewarePosition.BEFORE_ROUTING, simulator=simulator, vendors=vendors
    )
    app.add_middleware(
        ForcedResponseMiddleware,
        position=MiddlewarePosition.BEFORE_VALIDATION,
        operations=operations_of(context.specs),
        simulator=simulator,
        faker=SchemaFaker(config.seed),
        vendors=vendors,
    )
    return DevTools(journal=journal, routes=routes(context, journal))
