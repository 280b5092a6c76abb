"""Stored Impilo records hold references by id; views expand them the way the vendor's responses do."""

from __future__ import annotations

from typing import Any

from mocks.state.store import Collection, Record


class Views:
    def __init__(self, collections: dict[str, Collection]) -> None:
        self.c = collections

    def site(self, site_id: int | None) -> Record | None:
        return None if site_id is None else self.c["sites"].get(site_id)

    def patient(self, record: Record) -> Record:
        view = dict(record)  # a copy in C, then the reference out: same keys, same order
        view.pop("siteId", None)
        site = self.site(record.get("siteId"))
        if site is not None:
            view["site"] = site
        return view

    def item(self, item_id: int) -> Record:
        return self.c["items"].get(item_id) or {"id": item_id}

    def kit(self, record: Record) -> Record:
        return {
            **record,
            "kitItems": [{"item": self.item(k["itemId"]), "count": k["count"]} for k in record["kitItems"]],
        }

    def kit_by_id(self, kit_id: int) -> Record:
        record = self.c["kits"].get(kit_id)
        return self.kit(record) if record else {"id": kit_id}

    def device(self, record: Record) -> Record:
        view = {k: v for k, v in record.items() if k not in ("itemId", "patientId", "siteId")}
        view["item"] = self.item(record["itemId"])
        patient = self.c["patients"].get(record["patientId"]) if record.get("patientId") is not None else None
        if patient is not None:
            view["currentPatient"] = self.patient(patient)
        site = self.site(record.get("siteId"))
        if site is not None:
            view["site"] = site
        return view

    def order(self, record: Record) -> Record:
        view: dict[str, Any] = {k: v for k, v in record.items() if k not in ("patientId", "siteId", "deviceIds")}
        patient = self.c["patients"].get(record["patientId"]) if record.get("patientId") is not None else None
        if patient is not None:
            view["patient"] = self.patient(patient)
        site = self.site(record.get("siteId"))
        if site is not None:
            view["site"] = site
        view["orderItems"] = [{"item": self.item(i["itemId"]), "count": i["count"]} for i in record["orderItems"]]
        view["orderKits"] = [{"kit": self.kit_by_id(k["kitId"]), "count": k["count"]} for k in record["orderKits"]]
        devices = [self.c["devices"].get(d) for d in record.get("deviceIds", [])]
        view["devices"] = [self.device(d) for d in devices if d is not None]
        return view
