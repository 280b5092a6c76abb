"""Impilo's catalogue (items, kits) and devices."""

from __future__ import annotations

from typing import Any

from mocks.vendors.impilo.records import Records, equals, matches, page_of

Reply = tuple[Any, int]


class CatalogueHandlers:
    records: Records

    async def list_items(self, page: int = 1, size: int = 15, orderable: bool | None = None, **_: Any) -> Reply:
        found = self.records.items.where(lambda r: matches(r, {"orderable": (equals("orderable"), orderable)}))
        return page_of(found, page, size), 200

    async def get_item(self, item_id: int, **_: Any) -> Reply:
        return self.records.item(item_id), 200

    async def list_kits(
        self,
        page: int = 1,
        size: int = 15,
        item_id: int | None = None,
        archived: bool | None = None,
        **_: Any,
    ) -> Reply:
        checks = {"item": (lambda r, v: any(k["itemId"] == v for k in r["kitItems"]), item_id),
                  "archived": (equals("archived"), archived)}  # fmt: skip
        found = self.records.kits.where(lambda r: matches(r, checks))
        return page_of(found, page, size, self.records.kit_view), 200

    async def get_kit(self, kit_id: int, **_: Any) -> Reply:
        return self.records.kit_view(self.records.kit(kit_id)), 200

    async def get_device(self, device_id: int, **_: Any) -> Reply:
        return self.records.device_view(self.records.device(device_id)), 200
