"""`POST /__mock/reset` is atomic against requests in flight: what a request writes after a reset never brings
back what the reset removed. The interleavings are made deterministic at the ASGI level: a request's body is
held back (a `receive` that waits) until the reset has answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from mocks.app import create_app
from tests.support.examples import ORDER_LINES
from tests.support.helpers import IMPILO_KEY, base, on_each_store

IMPILO = base("impilo")


class HeldBody:
    """A request body that is sent only when `release` is set; `asked` is set once the app waits for it."""

    def __init__(self, body: bytes) -> None:
        self.body, self.asked, self.release = body, asyncio.Event(), asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.asked.set()
        await self.release.wait()
        yield self.body


async def orders(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    listed = await http.get(f"{IMPILO}/order", params={"size": 250}, headers=IMPILO_KEY)
    return listed.json()["content"]  # type: ignore[no-any-return]


async def status_change_whose_body_arrives_after_a_reset(**app_options: Any) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=create_app(seed=0, **app_options))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        seeded = await orders(http)
        created = await http.post(f"{IMPILO}/order", json={"patient": {"id": 1234}, **ORDER_LINES}, headers=IMPILO_KEY)
        body = HeldBody(b'{"status": "cancelled"}')
        moving = asyncio.create_task(
            http.post(
                f"/__mock/impilo/orders/{created.json()['id']}/status",
                content=body,  # type: ignore[arg-type]
                headers={"Content-Type": "application/json"},
            )
        )
        await body.asked.wait()  # the route is waiting for its body
        reset = await http.post("/__mock/reset")
        body.release.set()
        moved = await moving
        return {
            "created": created.status_code,
            "reset": reset.status_code,
            "moved": moved.status_code,
            "orders_equal_the_seeds": await orders(http) == seeded,
        }


@on_each_store
def test_order_status_route_brings_no_order_back_when_a_reset_comes_before_its_body(store: dict[str, Any]) -> None:
    outcome = asyncio.run(status_change_whose_body_arrives_after_a_reset(**store))
    assert outcome == {"created": 201, "reset": 200, "moved": 404, "orders_equal_the_seeds": True}
