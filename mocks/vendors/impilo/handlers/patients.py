"""Impilo's patients and sites."""

from __future__ import annotations

from typing import Any

from mocks.context import MockContext
from mocks.state.store import Record
from mocks.vendors.impilo import rules
from mocks.vendors.impilo.records import (
    PATIENT_FIELDS,
    PATIENT_FILTERS,
    PATIENT_SORT,
    SITE_FIELDS,
    Records,
    address,
    born,
    contains,
    equals,
    full_name,
    matches,
    page_of,
    page_of_collection,
    page_where,
)
from mocks.webhooks.emit import WebhookEmitter

Reply = tuple[Any, int]


class PatientHandlers:
    context: MockContext
    records: Records
    webhooks: WebhookEmitter

    # --- patients -------------------------------------------------------------------------------------
    def _patient_record(self, patient_id: int, body: dict[str, Any], base: Record | None) -> Record:
        given = {k: v for k, v in body.items() if k in PATIENT_FIELDS}
        # create or PUT (no base): what the client sent, plus what Impilo owns (id, defaults, site); the rest null
        unset = dict.fromkeys(PATIENT_FIELDS)
        record = (
            {"id": patient_id, **unset, **rules.NEW_PATIENT, **given, "siteId": None}
            if base is None
            else {**base, **given}
        )
        rules.check_unique_external_identifier(self.records, record)
        # Only once the write is known to succeed: a rejected patient must not leave a new site behind.
        if "site" in body:
            record["siteId"] = rules.site_for_patient(self.records, body["site"], self._new_site)
        return record

    def _save_patient(self, record: Record, event: str) -> dict[str, Any]:
        self.records.patients.put(record["id"], record)
        view = self.records.patient_view(record)
        self.webhooks.emit(event, view)  # the Patient as its reads show it (spec: the callbacks' payload)
        return view

    async def create_patient(self, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            patient_id = self.records.patients.new_id()
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
    ) -> Reply:
        patients, view = self.records.patients, self.records.patient_view
        checks = {
            "id": (lambda r, v: r["id"] in v, set(id_) if id_ else None),
            "siteId": (equals("siteId"), q.get("site_id")),
            "externalIdentifier": (equals("externalIdentifier"), q.get("external_identifier")),
            "email": (lambda r, v: str(r.get("email") or "").lower() == v.lower(), q.get("email")),
            "name": (full_name, q.get("name")),
            "archived": (equals("archived"), q.get("archived")),
            "enrolled": (equals("enrolled"), q.get("enrolled")),
            "dobMin": (born(after=True), q.get("date_of_birth_min")),
            "dobMax": (born(after=False), q.get("date_of_birth_max")),
            "postalCode": (address("zipCode"), q.get("postal_code")),
            "country": (address("country"), q.get("country")),
        }  # fmt: skip
        if checks["id"][1] is not None and len(checks["id"][1]) == 1:
            one = patients.get(next(iter(checks["id"][1])))
            found = [one] if one is not None and matches(one, checks) else []
        elif q.get("external_identifier") is not None:
            one = patients.find_unique("externalIdentifier", q["external_identifier"])
            found = [one] if one is not None and matches(one, checks) else []
        elif not sort and not sort_descending and all(value is None for _, value in checks.values()):
            return page_of_collection(patients, page, size, view), 200
        elif (
            not sort
            and not sort_descending
            and all(checks[name][1] is None for name in checks if name not in PATIENT_FILTERS)
        ):
            # equality filters only: a database store answers from its index (Collection.page_where)
            equal = {name: checks[name][1] for name in PATIENT_FILTERS if checks[name][1] is not None}
            return page_where(patients, equal, page, size, view), 200
        else:
            found = patients.where(lambda r: matches(r, checks))
        if sort or sort_descending:
            found.sort(key=PATIENT_SORT[sort or "patientId"], reverse=bool(sort_descending))
        return page_of(found, page, size, view), 200

    async def get_patient(self, patient_id: int, **_: Any) -> Reply:
        return self.records.patient_view(self.records.patient(patient_id)), 200

    async def update_patient(self, patient_id: int, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            self.records.patient(patient_id)
            return self._save_patient(self._patient_record(patient_id, body, None), "patient.updated"), 200

    async def patch_patient(self, patient_id: int, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            base = self.records.patient(patient_id)
            return self._save_patient(self._patient_record(patient_id, body, base), "patient.updated"), 200

    async def get_patient_by_external_identifier(self, identifier: str, **_: Any) -> Reply:
        return self.records.patient_view(self.records.patient_by_external_identifier(identifier)), 200

    # --- sites ----------------------------------------------------------------------------------------
    def _new_site(self, body: dict[str, Any]) -> Record:
        """A site as the client described it, with the id Impilo assigns; what was not sent is null."""
        given = {k: v for k, v in body.items() if k in SITE_FIELDS}
        return self.records.sites.add(lambda key: {"id": key, **dict.fromkeys(SITE_FIELDS), **given})

    async def create_site(self, body: dict[str, Any], **_: Any) -> Reply:
        return self._new_site(body), 201

    async def list_sites(
        self,
        page: int = 1,
        size: int = 15,
        sort_descending: bool = False,
        name: str | None = None,
        active: bool | None = None,
        **_: Any,
    ) -> Reply:
        found = self.records.sites.where(
            lambda r: matches(r, {"name": (contains("name"), name), "active": (equals("active"), active)})
        )
        found.sort(key=lambda r: r["id"], reverse=bool(sort_descending))
        return page_of(found, page, size), 200

    async def get_site(self, site_id: int, **_: Any) -> Reply:
        return self.records.site(site_id), 200

    async def update_site(self, site_id: int, body: dict[str, Any], **_: Any) -> Reply:
        with self.records.lock:
            self.records.site(site_id)
            record = {
                "id": site_id,
                **dict.fromkeys(SITE_FIELDS),
                **{k: v for k, v in body.items() if k in SITE_FIELDS},
            }
            return self.records.sites.put(site_id, record), 200
