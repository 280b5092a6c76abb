"""Impilo operation handlers: one async method per operationId, over the app's store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mocks.context import MockContext
from mocks.dx import safejson
from mocks.http.errors import bad_request, conflict, not_found
from mocks.state.clock import now_iso
from mocks.state.store import Collection, Record
from mocks.vendors.impilo import seed as seeding
from mocks.vendors.impilo.paging import matches, page_of, page_of_collection
from mocks.vendors.impilo.views import Views
from mocks.vendors.impilo.webhook_api import WebhookApi
from mocks.webhooks.emit import WebhookEmitter

API = "impilo"
PATIENT_FIELDS = ("externalIdentifier", "firstName", "lastName", "dateOfBirth", "email", "phoneNumber",
                  "archived", "address", "enrolled", "sex")  # fmt: skip
SITE_FIELDS = ("name", "active", "phoneNumber", "address")
PATIENT_SORT: dict[str, Callable[[Record], Any]] = {
    "firstName": lambda p: (p.get("firstName") or "").lower(),
    "lastName": lambda p: (p.get("lastName") or "").lower(),
    "patientId": lambda p: p["id"],
}


def _contains(field: str) -> Callable[[Record, Any], bool]:
    return lambda record, value: value.lower() in str(record.get(field) or "").lower()


def _equals(field: str) -> Callable[[Record, Any], bool]:
    return lambda record, value: record.get(field) == value


def _address(field: str) -> Callable[[Record, Any], bool]:
    return lambda record, value: str((record.get("address") or {}).get(field) or "").lower() == value.lower()


def _born(after: bool) -> Callable[[Record, Any], bool]:
    def test(record: Record, value: Any) -> bool:
        born, limit = record.get("dateOfBirth"), str(value)
        return born is not None and (born >= limit if after else born <= limit)

    return test


def _full_name(record: Record, value: str) -> bool:
    return value.lower() in f"{record.get('firstName', '')} {record.get('lastName', '')}".lower()


class Handlers(WebhookApi):
    def __init__(self, context: MockContext) -> None:
        self.context = context
        store = context.store
        self.c: dict[str, Collection] = {
            "patients": store.collection(API, "patients", unique=("externalIdentifier",)),
            "sites": store.collection(API, "sites"),
            "items": store.collection(API, "items", start=1000),
            "kits": store.collection(API, "kits", start=1000),
            "devices": store.collection(API, "devices"),
            "orders": store.collection(API, "orders"),
            "webhooks": store.collection(API, "webhooks"),
            "webhook_logs": store.collection(API, "webhook_logs"),
            "webhook_attempts": store.collection(API, "webhook_attempts"),
            "webhook_secret": store.collection(API, "webhook_secret"),
        }
        self.views = Views(self.c)
        self.webhooks = WebhookEmitter(
            self.c["webhooks"], self.c["webhook_logs"], self.c["webhook_attempts"],
            secret=lambda: (self.c["webhook_secret"].get(1) or {}).get("secret"),
            schedule=context.config.webhook_retry_schedule, timeout=context.config.webhook_timeout_seconds,
            hosts=context.config.webhook_hosts, events=store.collection(API, "webhook_events"),
            own_ports=context.config.own_ports,
        )  # fmt: skip

    def seed(self) -> None:
        seeding.seed(self.context, self.c)

    # --- patients -------------------------------------------------------------------------------------
    def _patient_record(self, patient_id: int, body: dict[str, Any], base: Record | None) -> Record:
        given = {k: v for k, v in body.items() if k in PATIENT_FIELDS}
        if base is None:  # create or PUT: a full representation, completed with this patient's fake data
            if "externalIdentifier" not in given and given.get("email") and given.get("phoneNumber"):
                given["externalIdentifier"] = seeding.external_identifier(given["email"], given["phoneNumber"])
            record = self.context.faker.fill(self.context.schema(API, "Patient"), f"{API}.patient.{patient_id}", given)
            record.pop("externalIdentifier", None) if "externalIdentifier" not in given else None
            record.update(id=patient_id, siteId=None)
        else:
            record = {**base, **given}
        duplicate = record.get("externalIdentifier") and self.c["patients"].find_unique(
            "externalIdentifier", record["externalIdentifier"]
        )
        if duplicate and duplicate["id"] != patient_id:
            raise conflict(f"A patient with externalIdentifier {record['externalIdentifier']!r} already exists")
        # Only once the write is known to succeed: a rejected patient must not leave a new site behind.
        if "site" in body:
            record["siteId"] = self._site_for_patient(body["site"])
        return record

    def _site_for_patient(self, site: dict[str, Any] | None) -> int | None:
        """A site given by id must exist; one given without id is matched by name or created."""
        if not site:
            return None
        if "id" in site:
            if self.c["sites"].get(site["id"]) is None:  # 409: the patient itself exists, its reference does not
                raise conflict(f"Site {site['id']} does not exist; create it first (POST /site)")
            return int(site["id"])
        named = self.c["sites"].where(lambda s: site.get("name") is not None and s.get("name") == site.get("name"))
        if named:
            return int(named[0]["id"])
        return int(self._new_site(site)["id"])

    def _patient_or_404(self, patient_id: int) -> Record:
        record = self.c["patients"].get(patient_id)
        if record is None:
            raise not_found(f"Patient {patient_id} not found")
        return record

    def _save_patient(self, record: Record, event: str) -> dict[str, Any]:
        self.c["patients"].put(record["id"], record)
        view = self.views.patient(record)
        self.webhooks.emit(event, lambda: {**view, "updatedAt": now_iso()})
        return view

    async def create_patient(self, body: dict[str, Any], **_: Any) -> tuple[Any, int]:
        with self.context.store.lock:
            patient_id = self.c["patients"].new_id()
            record = self._patient_record(int(patient_id), body, None)
            return self._save_patient(record, "patient.created"), 201

    async def list_patients(
        self,
        page: int = 1,
        size: int = 15,
        sort: str | None = None,
        sort_descending: bool = False,
        id_: list[int] | None = None,
        **q: Any,
    ) -> tuple[Any, int]:
        checks = {
            "id": (lambda r, v: r["id"] in v, set(id_) if id_ else None),
            "siteId": (_equals("siteId"), q.get("site_id")),
            "externalIdentifier": (_equals("externalIdentifier"), q.get("external_identifier")),
            "email": (lambda r, v: str(r.get("email") or "").lower() == v.lower(), q.get("email")),
            "name": (_full_name, q.get("name")),
            "archived": (_equals("archived"), q.get("archived")),
            "enrolled": (_equals("enrolled"), q.get("enrolled")),
            "dobMin": (_born(after=True), q.get("date_of_birth_min")),
            "dobMax": (_born(after=False), q.get("date_of_birth_max")),
            "postalCode": (_address("zipCode"), q.get("postal_code")),
            "country": (_address("country"), q.get("country")),
        }  # fmt: skip
        if checks["id"][1] is not None and len(checks["id"][1]) == 1:
            one = self.c["patients"].get(next(iter(checks["id"][1])))
            found = [one] if one is not None and matches(one, checks) else []
        elif q.get("external_identifier") is not None:
            one = self.c["patients"].find_unique("externalIdentifier", q["external_identifier"])
            found = [one] if one is not None and matches(one, checks) else []
        elif not sort and not sort_descending and all(value is None for _, value in checks.values()):
            return page_of_collection(self.c["patients"], page, size, self.views.patient), 200
        else:
            found = self.c["patients"].where(lambda r: matches(r, checks))
        if sort or sort_descending:
            found.sort(key=PATIENT_SORT[sort or "patientId"], reverse=bool(sort_descending))
        return page_of(found, page, size, self.views.patient), 200

    async def get_patient(self, patient_id: int, **_: Any) -> tuple[Any, int]:
        return self.views.patient(self._patient_or_404(patient_id)), 200

    async def update_patient(self, patient_id: int, body: dict[str, Any], **_: Any) -> tuple[Any, int]:
        with self.context.store.lock:
            self._patient_or_404(patient_id)
            return self._save_patient(self._patient_record(patient_id, body, None), "patient.updated"), 200

    async def patch_patient(self, patient_id: int, body: dict[str, Any], **_: Any) -> tuple[Any, int]:
        with self.context.store.lock:
            base = self._patient_or_404(patient_id)
            return self._save_patient(self._patient_record(patient_id, body, base), "patient.updated"), 200

    async def get_patient_by_external_identifier(self, identifier: str, **_: Any) -> tuple[Any, int]:
        record = self.c["patients"].find_unique("externalIdentifier", identifier)
        if record is None:
            raise not_found(f"No patient with externalIdentifier {identifier!r}")
        return self.views.patient(record), 200

    # --- sites ----------------------------------------------------------------------------------------
    def _new_site(self, body: dict[str, Any]) -> Record:
        given = {k: v for k, v in body.items() if k in SITE_FIELDS}
        schema = self.context.schema(API, "Site")
        return self.c["sites"].add(
            lambda key: {**self.context.faker.fill(schema, f"{API}.site.{key}", given), "id": key}
        )

    def _site_or_404(self, site_id: int) -> Record:
        record = self.c["sites"].get(site_id)
        if record is None:
            raise not_found(f"Site {site_id} not found")
        return record

    async def create_site(self, body: dict[str, Any], **_: Any) -> tuple[Any, int]:
        return self._new_site(body), 201

    async def list_sites(
        self,
        page: int = 1,
        size: int = 15,
        sort_descending: bool = False,
        name: str | None = None,
        active: bool | None = None,
        **_: Any,
    ) -> tuple[Any, int]:
        found = self.c["sites"].where(
            lambda r: matches(r, {"name": (_contains("name"), name), "active": (_equals("active"), active)})
        )
        found.sort(key=lambda r: r["id"], reverse=bool(sort_descending))
        return page_of(found, page, size), 200

    async def get_site(self, site_id: int, **_: Any) -> tuple[Any, int]:
        return self._site_or_404(site_id), 200

    async def update_site(self, site_id: int, body: dict[str, Any], **_: Any) -> tuple[Any, int]:
        with self.context.store.lock:
            self._site_or_404(site_id)
            given = {k: v for k, v in body.items() if k in SITE_FIELDS}
            record = {**self.context.faker.fill(self.context.schema(API, "Site"), f"{API}.site.{site_id}", given),
                      "id": site_id}  # fmt: skip
            return self.c["sites"].put(site_id, record), 200

    # --- catalogue and devices --------------------------------------------------------------------------
    async def list_items(
        self, page: int = 1, size: int = 15, orderable: bool | None = None, **_: Any
    ) -> tuple[Any, int]:
        found = self.c["items"].where(lambda r: matches(r, {"orderable": (_equals("orderable"), orderable)}))
        return page_of(found, page, size), 200

    async def get_item(self, item_id: int, **_: Any) -> tuple[Any, int]:
        record = self.c["items"].get(item_id)
        if record is None:
            raise not_found(f"Item {item_id} not found")
        return record, 200

    async def list_kits(
        self,
        page: int = 1,
        size: int = 15,
        item_id: int | None = None,
        archived: bool | None = None,
        **_: Any,
    ) -> tuple[Any, int]:
        checks = {"item": (lambda r, v: any(k["itemId"] == v for k in r["kitItems"]), item_id),
                  "archived": (_equals("archived"), archived)}  # fmt: skip
        return page_of(self.c["kits"].where(lambda r: matches(r, checks)), page, size, self.views.kit), 200

    async def get_kit(self, kit_id: int, **_: Any) -> tuple[Any, int]:
        record = self.c["kits"].get(kit_id)
        if record is None:
            raise not_found(f"Kit {kit_id} not found")
        return self.views.kit(record), 200

    async def get_device(self, device_id: int, **_: Any) -> tuple[Any, int]:
        record = self.c["devices"].get(device_id)
        if record is None:
            raise not_found(f"Device {device_id} not found")
        return self.views.device(record), 200

    # --- orders ---------------------------------------------------------------------------------------
    def _check_order_references(self, body: dict[str, Any]) -> None:
        if "patient" in body:
            self._patient_or_404(body["patient"]["id"])
        if "site" in body:
            self._site_or_404(body["site"]["id"])
        for line in body.get("orderItems", []):
            item = self.c["items"].get(line["item"]["id"])
            if item is None:
                raise not_found(f"Item {line['item']['id']} not found")
            if not item.get("orderable", True):
                raise bad_request("Order contains Items that are marked as non-orderable. Order cannot be placed.")
        for line in body.get("orderKits", []):
            kit = self.c["kits"].get(line["kit"]["id"])
            if kit is None:
                raise not_found(f"Kit {line['kit']['id']} not found")

    async def create_order(self, body: dict[str, Any], **_: Any) -> tuple[Any, int]:
        with self.context.store.lock:
            self._check_order_references(body)
            created = now_iso()
            record = self.c["orders"].add(lambda key: {
                "id": key,
                "externalOrderIds": list(body.get("externalOrderIds", [])),
                "patientId": body["patient"]["id"] if "patient" in body else None,
                "siteId": body["site"]["id"] if "site" in body else None,
                "currentStatus": "pending",
                "orderItems": [{"itemId": i["item"]["id"], "count": i["count"]} for i in body.get("orderItems", [])],
                "orderKits": [{"kitId": k["kit"]["id"], "count": k["count"]} for k in body.get("orderKits", [])],
                "orderEvents": [{"name": "pending", "eventTimestamp": created}],
                "orderNotes": [], "trackingNumbers": [], "deviceIds": [], "packedKits": [],
                "shippingOption": body.get("shippingOption", "standard"), "emailLabel": body.get("emailLabel", False),
            })  # fmt: skip
            self._emit_order_status(record, created)
            return self.views.order(record), 201

    def _emit_order_status(self, record: Record, at: str) -> None:
        self.webhooks.emit(
            "order.status", {"id": record["id"], "eventType": record["currentStatus"], "eventTimestamp": at}
        )
        self.webhooks.emit("order.statusFull", lambda: self.views.order(record))

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
    ) -> tuple[Any, int]:
        checks = {"id": (lambda r, v: r["id"] in v, set(id_) if id_ else None),
                  "patient": (_equals("patientId"), patient_id), "site": (_equals("siteId"), site_id),
                  "status": (_equals("currentStatus"), current_status)}  # fmt: skip
        found = self.c["orders"].where(lambda r: matches(r, checks))
        found.sort(key=lambda r: r["id"], reverse=bool(sort_descending))
        return page_of(found, page, size, self.views.order), 200

    async def get_order(self, order_id: int, **_: Any) -> tuple[Any, int]:
        record = self.c["orders"].get(order_id)
        if record is None:
            raise not_found(f"Order {order_id} not found")
        return self.views.order(record), 200

    # --- mock-only controls ---------------------------------------------------------------------------
    def admin_routes(self) -> list[tuple[str, list[str], Callable[[Request], Any]]]:
        statuses = self.context.schema(API, "OrderStatus")["enum"]

        async def order_status(request: Request) -> Response:
            """Move an order to a new status: records an orderEvent and fires `order.status` webhooks.

            The body is read first and the order only then, under the store's lock, with no await until the
            write: an order read before a reset (or another worker's write) is never written back."""
            try:
                status = (await request.json())["status"]
            except (ValueError, KeyError, TypeError, RecursionError):
                status = None
            with self.context.store.lock:
                order = self.c["orders"].get(int(request.path_params["order_id"]))
                if order is None:
                    return JSONResponse({"message": "order not found"}, status_code=404)
                if status not in statuses:
                    return JSONResponse({"message": f'body must be {{"status": one of {statuses}}}'}, status_code=400)
                at = now_iso()
                order = {
                    **order,
                    "currentStatus": status,
                    "orderEvents": [*order["orderEvents"], {"name": status, "eventTimestamp": at}],
                }
                self.c["orders"].put(order["id"], order)
                self._emit_order_status(order, at)
                return JSONResponse(self.views.order(order))

        async def attempts(request: Request) -> Response:
            return safejson.JSONResponse(self.c["webhook_attempts"].export())

        return [
            ("/__mock/impilo/orders/{order_id:int}/status", ["POST"], order_status),
            ("/__mock/webhooks/attempts", ["GET"], attempts),
        ]
