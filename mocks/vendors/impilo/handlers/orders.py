"""Impilo's orders and the returns two-way orders open, and the mock-only controls that move them along."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mocks.context import MockContext
from mocks.state.clock import now_iso
from mocks.state.store import Record
from mocks.vendors.impilo import rules
from mocks.vendors.impilo.records import API, Records, equals, matches, page_of
from mocks.webhooks.emit import WebhookEmitter

Reply = tuple[Any, int]


class OrderHandlers:
    context: MockContext
    records: Records
    webhooks: WebhookEmitter

    async def create_order(self, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            rules.check_order_shape(body)
            rules.check_order_references(self.records, body)
            rules.check_loaner_kits(self.records, body)
            rules.check_inventory(self.records, body)
            created = now_iso()
            record = self.records.orders.add(lambda key: {
                "id": key,
                "externalOrderIds": list(body.get("externalOrderIds", [])),
                "patientId": body["patient"]["id"] if "patient" in body else None,
                "siteId": body["site"]["id"] if "site" in body else None,
                "currentStatus": "pending",
                "orderItems": [{"itemId": i["item"]["id"], "count": i.get("count", 1)}
                               for i in body.get("orderItems", [])],
                "orderKits": [{"kitId": k["kit"]["id"], "count": k.get("count", 1)} for k in body.get("orderKits", [])],
                "orderEvents": [{"name": "pending", "eventTimestamp": created}],
                "orderNotes": [], "trackingNumbers": [], "deviceIds": [], "packedKits": [],
                "shippingOption": body.get("shippingOption", "standard"), "emailLabel": body.get("emailLabel", False),
                **({"orderNotes": [{"note": n["note"], "createdAt": created} for n in body["orderNotes"]]}
                   if body.get("orderNotes") else {}),
            })  # fmt: skip
            if any(body.get(name) for name in rules.RETURNS):
                record = self._open_return(record, body, created)
            self._emit_order_status(record, created)
            return self.records.order_view(record), 201

    def _open_return(self, order: Record, body: dict[str, Any], at: str) -> Record:
        """A two-way order's return (RMA): what is expected back, related to the order, `pending` (spec:
        createOrder); fires `return.statusFull`. Returns the order, now pointing at it."""
        returned = self.records.returns.add(lambda key: {
            "id": key, "patientId": order["patientId"], "siteId": order["siteId"], "currentStatus": "pending",
            "relatedOrderId": order["id"],
            "returnItems": [{"itemId": i["item"]["id"], "count": i.get("count", 1)}
                            for i in body.get("returnItems", [])],
            "deviceIds": [d["id"] for d in body.get("returnDevices", [])], "returnKits": [],
            "returnEvents": [{"name": "pending", "eventTimestamp": at}], "trackingNumbers": [],
        })  # fmt: skip
        order = {**order, "returnId": returned["id"], "returnItems": returned["returnItems"],
                 "returnDevices": returned["deviceIds"],
                 "returnPackedKits": [k["id"] for k in body.get("returnPackedKits", [])]}  # fmt: skip
        self.records.orders.put(order["id"], order)
        self.webhooks.emit("return.statusFull", lambda: self.records.return_view(returned))
        return order

    def _emit_order_status(self, record: Record, at: str) -> None:
        self.webhooks.emit(
            "order.status", {"id": record["id"], "eventType": record["currentStatus"], "eventTimestamp": at}
        )
        self.webhooks.emit("order.statusFull", lambda: self.records.order_view(record))

    async def list_orders(
        self,
        page: int = 1,
        size: int = 15,
        sort_descending: bool = False,
        id_: list[int] | None = None,
        patient_id: int | None = None,
        site_id: int | None = None,
        current_status: str | None = None,
        **_: Any,
    ) -> Reply:
        checks = {"id": (lambda r, v: r["id"] in v, set(id_) if id_ else None),
                  "patient": (equals("patientId"), patient_id), "site": (equals("siteId"), site_id),
                  "status": (equals("currentStatus"), current_status)}  # fmt: skip
        found = self.records.orders.where(lambda r: matches(r, checks))
        found.sort(key=lambda r: r["id"], reverse=bool(sort_descending))
        return page_of(found, page, size, self.records.order_view), 200

    async def get_order(self, order_id: int, **_: Any) -> Reply:
        return self.records.order_view(self.records.order(order_id)), 200

    async def _advance_order(self, request: Request) -> Response:
        """`POST /__mock/impilo/orders/{id}/status`: move an order to a new status, recording an orderEvent
        and firing `order.status` webhooks. `trackingNumbers` (`[{carrier, value}]`) in the body are added to
        the order's; an order moved to `shipped` without any gets one, as a carrier would give it.

        The body is read first and the order only then, under the store's lock, with no await until the
        write: an order read before a reset (or another worker's write) is never written back."""
        statuses = self.context.schema(API, "OrderStatus")["enum"]
        try:
            body = await request.json()
            status, tracking = body["status"], body.get("trackingNumbers", [])
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            status, tracking = None, []
        with self.records.lock:
            order = self.records.orders.get(int(request.path_params["order_id"]))
            if order is None:
                return JSONResponse({"message": "order not found"}, status_code=404)
            if status not in statuses or not _tracking_numbers(tracking):
                return JSONResponse(
                    {"message": f'body must be {{"status": one of {statuses}, optional "trackingNumbers": '
                     '[{"carrier": "...", "value": "..."}]}'},
                    status_code=400,
                )  # fmt: skip
            at = now_iso()
            numbers = [*(order.get("trackingNumbers") or []), *tracking]
            if status == "shipped" and not numbers:
                fake = self.context.faker.reseed(f"impilo.order.{order['id']}.tracking")
                numbers = [{"carrier": fake.random_element(["UPS", "FedEx", "USPS"]),
                            "value": fake.bothify("1Z###########").upper()}]  # fmt: skip
            order = {
                **order,
                "currentStatus": status,
                "orderEvents": [*order["orderEvents"], {"name": status, "eventTimestamp": at}],
                "trackingNumbers": numbers,
            }
            self.records.orders.put(order["id"], order)
            self._emit_order_status(order, at)
            return JSONResponse(self.records.order_view(order))

    async def _advance_return(self, request: Request) -> Response:
        """`POST /__mock/impilo/returns/{id}/status` with `{"status": "..."}`: move a return (RMA) to a new
        status (any non-empty name: the vendor's list was not captured), recording a return event and firing
        `return.statusFull`. Read and written under the store's lock, like `_advance_order`."""
        try:
            status = (await request.json())["status"]
        except (ValueError, KeyError, TypeError, RecursionError):
            status = None
        with self.records.lock:
            returned = self.records.returns.get(int(request.path_params["return_id"]))
            if returned is None:
                return JSONResponse({"message": "return not found"}, status_code=404)
            if not isinstance(status, str) or not status:
                return JSONResponse({"message": 'body must be {"status": "<new status>"}'}, status_code=400)
            at = now_iso()
            events = [*returned["returnEvents"], {"name": status, "eventTimestamp": at}]
            returned = {**returned, "currentStatus": status, "returnEvents": events}
            self.records.returns.put(returned["id"], returned)
            view = self.records.return_view(returned)
            self.webhooks.emit("return.statusFull", view)
            return JSONResponse(view)


def _tracking_numbers(given: Any) -> bool:
    """Whether `given` is a list of `{carrier, value}` texts (the Order's `trackingNumbers` items)."""
    return isinstance(given, list) and all(
        isinstance(n, dict) and set(n) <= {"carrier", "value"} and all(isinstance(v, str) for v in n.values())
        for n in given
    )
