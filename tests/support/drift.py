"""Deliberately broken variants of the mock, one vendor rule or contract clause broken in each.

Each builder returns a fresh ASGI app: `create_app(seed=0, validate_responses=False)` with one handler method
of one API replaced (`with_handler`, `with_result`) or wrapped in a small ASGI middleware that alters one
request or response. tests/contracts/test_contract_checks.py runs the contract suite on each and asserts the right
check reports it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.runner import load_config, run
from mocks import create_app
from mocks.app import context_of
from mocks.http.errors import MockError
from tests.support.helpers import base

Handler = Callable[..., Awaitable[Any]]
Reply = tuple[Any, ...]


def mock() -> Any:
    """The unbroken mock, without its own response validation (so drifted responses get out)."""
    return create_app(seed=0, validate_responses=False)


def handlers_of(app: Any, api: str) -> Any:
    """The handler object serving `api` in `app` (operations resolve on the first request, so a method
    replaced before then is the one served)."""
    return context_of(app).services[api]


def with_handler(api: str, method: str, make: Callable[[Any, Handler], Handler]) -> Any:
    """A mock whose `api` handler `method` is replaced by `make(handlers, original)`."""
    app = mock()
    handlers = handlers_of(app, api)
    original = getattr(handlers, method)
    setattr(handlers, method, functools.wraps(original)(make(handlers, original)))
    return app


def with_result(api: str, method: str, change: Callable[[Any, int], Reply]) -> Any:
    """A mock whose `api` handler `method` answers `change(body, status)` of what it would have answered."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def changed(*args: Any, **kwargs: Any) -> Reply:
            body, status = await original(*args, **kwargs)
            return change(body, status)

        return changed

    return with_handler(api, method, make)


def on_path(api: str, method: str, path: str, wrap: Callable[[ASGIApp], ASGIApp]) -> ASGIApp:
    """The mock, with requests to `method base_path+path` going through `wrap(mock)` instead."""
    app = mock()
    wrapped, full_path = wrap(app), base(api) + path

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        hit = scope["type"] == "http" and scope["method"] == method and scope["path"] == full_path
        await (wrapped if hit else app)(scope, receive, send)

    return route


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


# --- generic contract clauses -----------------------------------------------------------------------------------


def site_without_id() -> Any:
    """getSite leaves out the required `id`."""
    return with_result(
        "impilo", "get_site", lambda body, status: ({k: v for k, v in body.items() if k != "id"}, status)
    )


def kit_page_total_as_text() -> Any:
    """listKits sends `total` as a string."""
    return with_result("impilo", "list_kits", lambda body, status: ({**body, "total": str(body["total"])}, status))


def site_created_with_200() -> Any:
    """createSite answers 200, which the spec does not list (201 is documented)."""
    return with_result("impilo", "create_site", lambda body, status: (body, 200))


def site_name_filter_crashes() -> Any:
    """listSites fails with an unhandled error whenever a `name` filter is given."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def crashing(*args: Any, **kwargs: Any) -> Reply:
            if kwargs.get("name"):
                raise KeyError("name")
            return tuple(await original(*args, **kwargs))

        return crashing

    return with_handler("impilo", "list_sites", make)


def patients_as_text() -> ASGIApp:
    """getPatients labels its JSON `text/plain`."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def relabelled(scope: Scope, receive: Receive, send: Send) -> None:
            async def send_as_text(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = [(k, v) for k, v in message["headers"] if k.lower() != b"content-type"]
                    message = {**message, "headers": [*headers, (b"content-type", b"text/plain")]}
                await send(message)

            await app(scope, receive, send_as_text)

        return relabelled

    return on_path("legit_health", "GET", "/patients", wrap)


def impilo_key_not_checked() -> ASGIApp:
    """Impilo answers without a valid API key: every request arrives carrying the right one."""
    key = (b"impilo-api-key", b"mock-impilo-api-key")

    def wrap(app: ASGIApp) -> ASGIApp:
        async def keyed(scope: Scope, receive: Receive, send: Send) -> None:
            headers = [(name, value) for name, value in scope["headers"] if name.lower() != key[0]]
            await app({**scope, "headers": [*headers, key]}, receive, send)

        return keyed

    return on_path("impilo", "GET", "/item", wrap)


def site_created_under_another_id() -> Any:
    """createSite answers an id that no site has."""
    return with_result("impilo", "create_site", lambda body, status: ({**body, "id": body["id"] + 10_000}, status))


def patch_clears_contact_details() -> Any:
    """patchPatient also clears `email` and `phoneNumber` when they were not given (PUT semantics)."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def clearing(patient_id: int, body: dict[str, Any], **kwargs: Any) -> Reply:
            cleared = {name: None for name in ("email", "phoneNumber") if name not in body}
            return tuple(await original(patient_id=patient_id, body={**cleared, **body}, **kwargs))

        return clearing

    return with_handler("impilo", "patch_patient", make)


def site_update_keeps_old_name() -> Any:
    """updateSite (PUT) stores every field but `name`."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def keeping(site_id: int, body: dict[str, Any], **kwargs: Any) -> Reply:
            current = handlers.records.sites.get(site_id) or {}
            return tuple(await original(site_id=site_id, body={**body, "name": current.get("name")}, **kwargs))

        return keeping

    return with_handler("impilo", "update_site", make)


def site_list_ignores_its_query() -> ASGIApp:
    """listSites drops its query string, so invalid `page`, `size` or filters are accepted."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def unfiltered(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, "query_string": b""}, receive, send)

        return unfiltered

    return on_path("impilo", "GET", "/site", wrap)


def item_not_found_in_another_shape() -> Any:
    """getItem answers a missing item with `{"message": ...}` instead of Impilo's error body."""

    def make(handlers: Any, original: Handler) -> Handler:
        async def plain(*args: Any, **kwargs: Any) -> Reply:
            try:
                return tuple(await original(*args, **kwargs))
            except MockError as error:
                return {"message": error.message}, 404

        return plain

    return with_handler("impilo", "get_item", make)


def item_page_total_off_by_one() -> Any:
    """listItems reports one item more than it pages through."""
    return with_result("impilo", "list_items", lambda body, status: ({**body, "total": body["total"] + 1}, status))


# --- running the contract suite on a drifted mock ------------------------------------------------------------

FAST = {"generation": {"max-examples": 10}}


def assert_reported(
    broken: Callable[[], Any],
    api: str,
    operation_ids: list[str],
    check: str,
    parameters: Callable[[Any], dict[str, Any]] | None = None,
) -> None:
    """Run the contract suite on `broken()` for `operation_ids` and assert that `check` reports it.

    `parameters` names seeded records for path parameters whose spec examples the mock does not hold.
    """
    app = broken()
    config = load_config(overrides={**FAST, "parameters": parameters(app) if parameters else {}})
    outcome = run(api, app=app, operation_ids=operation_ids, config=config)
    reported = sorted({f.check for f in outcome.failures})
    assert check in reported, f"expected {check} among {reported}; errors: {outcome.errors}"
    assert outcome.operations, "the run tested no operation"
