"""Heidi's linked accounts: the API user of a JWT linked to (or unlinked from) a Heidi account."""

from __future__ import annotations

from typing import Any

from mocks.vendors.heidi import rules
from mocks.vendors.heidi.records import Records, linked_account, now_naive

Body = dict[str, Any]
Reply = tuple[Body, int]


class AccountHandlers:
    records: Records

    def _link_of(self, user: Any) -> dict[str, Any] | None:
        return next(iter(self.records.accounts.where(lambda a: a["ehr_user_id"] == user)), None)

    async def link_heidi_account(self, body: Body, user: Any = None, token_info: Any = None, **_: Any) -> Reply:
        with self.records.lock:
            rules.link_account(self.records, body["kinde_user_id"], user)
            claims, now = dict(token_info or {}), now_naive()
            account = self.records.accounts.add(
                lambda key: linked_account(str(key), body["kinde_user_id"], claims, now)
            )
        return {"account": account}, 200

    async def unlink_heidi_account(self, user: Any = None, **_: Any) -> Reply:
        with self.records.lock:
            account = self._link_of(user)
            if account is not None:
                self.records.accounts.delete(account["_id"])
        return {"is_success": True}, 200

    async def get_linked_account_access(self, user: Any = None, **_: Any) -> Reply:
        account = self._link_of(user)
        return {"is_valid": True, "is_linked": account is not None, "account": account}, 200
