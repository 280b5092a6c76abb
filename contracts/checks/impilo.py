"""Impilo's documented rules as Schemathesis checks."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import jsonschema
import schemathesis
from schemathesis import Case, CheckContext, Response

from contracts.checks.common import _is_negative, fail, follow_up, json_of, ok, operation_id

LINES = ("orderItems", "orderKits", "returnItems", "returnDevices", "returnPackedKits")  # outbound, or two-way


def _order_rule_broken(body: dict[str, Any]) -> str | None:
    parties = [name for name in ("patient", "site") if name in body]
    if len(parties) != 1:
        return f"{' and '.join(parties) or 'neither patient nor site'}"
    if not any(isinstance(body.get(lines), list) and body[lines] for lines in LINES):
        return "no orderItems, orderKits or return lines"
    return None


@schemathesis.check
class impilo_create_order_follows_its_business_rules:  # noqa: N801  (see above)
    """createOrder refuses an order for both or neither of patient and site, or without lines, and refuses a
    well-formed order with 400 only for a reason its `x-business-rules` document.

    Besides judging every createOrder the run sends, the first accepted order is varied once per run into
    the three broken shapes (with references that exist), each of which must get a 4xx.
    """

    def __init__(self) -> None:
        self.probed = False

    def after_response(self, ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if operation_id(case) != "createOrder" or not isinstance(case.body, dict):
            return None
        if response.status_code == 400 and not _is_negative(case) and not _order_rule_broken(case.body):
            self._documented_refusal(case, response)
        if not ok(response):
            return None
        broken = _order_rule_broken(case.body)
        if broken:
            fail(f"createOrder answered {response.status_code} to an order with {broken}; expected a 4xx")
        if not self.probed:
            self.probed = True
            self._probe(case, response, case.body)
        return None

    def _probe(self, case: Case, response: Response, order: dict[str, Any]) -> None:
        variants = {
            "neither patient nor site": {k: v for k, v in order.items() if k not in ("patient", "site")},
            "no lines": {k: v for k, v in order.items() if k not in LINES},
        }
        missing = "site" if "patient" in order else "patient"
        other = self._some_id(case, response, "listSites" if missing == "site" else "listPatients")
        if other is not None:
            variants["both patient and site"] = {**order, missing: {"id": other}}
        accepted = []
        for name, body in variants.items():
            got = follow_up(case, response, "createOrder", body=body)
            if got.status_code < 400 or got.status_code >= 500:
                accepted.append(f"{name}: {got.status_code}")
        if accepted:
            fail("createOrder probes with broken orders were not refused with a 4xx: " + "; ".join(accepted))

    @staticmethod
    def _documented_refusal(case: Case, response: Response) -> None:
        """A well-formed order (the rules hold) may still be refused with 400, but only for a documented
        reason: one of the messages createOrder's `x-business-rules` lists (non-orderable item, inventory,
        loaner kits, ...), not for what the schema allows."""
        messages = [r.get("message") for r in case.operation.definition.raw.get("x-business-rules") or []]
        said = str((json_of(response) or {}).get("message", ""))
        if not any(isinstance(m, str) and said.startswith(m) for m in messages):
            fail(f"createOrder refused a well-formed order with 400 {said!r}; expected 2xx or one of the documented "
                 f"messages of x-business-rules")  # fmt: skip

    @staticmethod
    def _some_id(case: Case, response: Response, list_operation: str) -> Any:
        got = follow_up(case, response, list_operation, query={"page": 1, "size": 1})
        content = (json_of(got) or {}).get("content") if ok(got) else None
        return content[0].get("id") if isinstance(content, list) and content else None


PATIENT_OWNED = frozenset({"id", "site", "archived", "enrolled"})  # Impilo's: the id, the site link, two defaults


@schemathesis.check
def impilo_created_patient_holds_only_what_it_was_sent(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """createPatient answers what it was sent plus what Impilo owns (`id`, the `site` it names, the defaults
    `archived` and `enrolled`): a field nobody sent (an email, a birth date) reads as a bug in the client's form."""
    if operation_id(case) != "createPatient" or not ok(response) or not isinstance(case.body, dict):
        return None
    body = json_of(response)
    shown = {k for k, v in body.items() if v is not None} if isinstance(body, dict) else set()  # null: not set
    invented = sorted(shown - set(case.body) - PATIENT_OWNED)
    if invented:
        fail(f"createPatient answered fields it was not sent: {', '.join(invented)}; expected only the fields sent "
             f"plus {', '.join(sorted(PATIENT_OWNED))}")  # fmt: skip
    return None


UNKNOWN_ID = 2**53  # no Impilo record has it: ids are assigned from small counters
REFERENCES: dict[str, tuple[tuple[str | int, ...], ...]] = {  # operation -> where its body names another record
    "createPatient": (("site",),),
    "updatePatient": (("site",),),
    "patchPatient": (("site",),),
    "createOrder": (
        ("patient",),
        ("site",),
        ("orderItems", 0, "item"),
        ("orderKits", 0, "kit"),
        ("returnItems", 0, "item"),
        ("returnDevices", 0),
        ("returnPackedKits", 0),
    ),
}


def _with_unknown(body: Any, where: tuple[str | int, ...]) -> Any:
    """`body` with the reference at `where` pointing at `UNKNOWN_ID`, or None when the body has none there."""
    if not where:
        return {**body, "id": UNKNOWN_ID} if isinstance(body, dict) and "id" in body else None
    head, rest = where[0], where[1:]
    if isinstance(head, int):
        inner = _with_unknown(body[head], rest) if isinstance(body, list) and len(body) > head else None
        return None if inner is None else [*body[:head], inner, *body[head + 1 :]]
    inner = _with_unknown(body.get(head), rest) if isinstance(body, dict) else None
    return None if inner is None else {**body, head: inner}


@schemathesis.check
class impilo_unknown_reference_is_404:  # noqa: N801  (Schemathesis names a class check by its class name)
    """An id in a body that names no record (a patient's site; an order's patient, site, item or kit) is
    answered 404 on every operation that takes one (specs/impilo.yaml, info choice 13).

    The first accepted request of each such operation is resent once per reference it holds, with that
    reference changed to an id no record has; each must get a 404.
    """

    def __init__(self) -> None:
        self.probed: set[str] = set()

    def after_response(self, ctx: CheckContext, response: Response, case: Case) -> bool | None:
        operation = operation_id(case)
        if operation not in REFERENCES or operation in self.probed or not ok(response):
            return None
        probes = {where: _with_unknown(case.body, where) for where in REFERENCES[operation]}
        probes = {where: body for where, body in probes.items() if body is not None}
        if not probes:
            return None
        self.probed.add(operation)
        wrong = []
        for where, body in probes.items():
            got = follow_up(case, response, operation, body=body, path_parameters=dict(case.path_parameters or {}))
            if got.status_code != 404:
                wrong.append(f"{'.'.join(map(str, where))}.id={UNKNOWN_ID}: {got.status_code}")
        if wrong:
            fail(f"{operation} with an unknown reference was not answered 404: " + "; ".join(wrong))
        return None


def _json_schema(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable: true` also admits null."""
    if isinstance(schema, list):
        return [_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _json_schema(v) for k, v in schema.items() if k != "nullable"}
    return {"anyOf": [out, {"type": "null"}]} if schema.get("nullable") is True else out


def _callback_schemas(case: Case) -> dict[str, Any]:
    """Webhook type -> the delivery body schema createWebhook's `callbacks` declare for it."""
    operation = case.operation.schema.raw_schema["paths"]["/webhook"]["post"]
    found = {}
    for callback in (operation.get("callbacks") or {}).values():
        for item in callback.values():
            schema = item["post"]["requestBody"]["content"]["application/json"]["schema"]
            for kind in schema.get("properties", {}).get("type", {}).get("enum", []):
                found[kind] = schema
    return found


@schemathesis.check
def impilo_webhook_payloads_are_declared(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every delivery the webhook logs show has a body that createWebhook's `callbacks` declare for its
    type: valid against that schema, and with no payload field the schema does not name (a client generated
    from the spec would drop it)."""
    body = json_of(response)
    if operation_id(case) != "listWebhookLogs" or not ok(response) or not isinstance(body, dict):
        return None
    declared, problems = _callback_schemas(case), []
    for log in body.get("content") or []:
        if not isinstance(log, dict):
            continue
        kind = str(log.get("webhookType"))
        try:
            delivered = json.loads(log.get("payload") or "null")
        except (TypeError, ValueError):
            continue  # not JSON: the vendor's own sample is not either ("{'id':1234}")
        schema = declared.get(kind)
        if schema is None:
            problems.append(f"{kind}: no callback declares this type")
            continue
        errors = list(jsonschema.Draft4Validator(_json_schema(schema)).iter_errors(delivered))
        named = set((schema["properties"].get("payload") or {}).get("properties") or {})
        payload = delivered.get("payload") if isinstance(delivered, dict) else None
        extra = sorted(set(payload) - named) if named and isinstance(payload, dict) else []
        problems += [f"{kind}: {errors[0].message}"] if errors else []
        problems += [f"{kind}: payload fields not declared: {', '.join(extra)}"] if extra else []
    if problems:
        fail("webhook deliveries that their callbacks do not declare: " + "; ".join(sorted(set(problems))[:5]))
    return None


@schemathesis.check
class impilo_loaner_kits_follow_their_rules:  # noqa: N801  (Schemathesis names a class check by its class name)
    """A loaner kit (one a kit read shows `loaner: true`) is refused to a site (`no_loaner_kit_to_site`) and
    in a count over one (`qty_over_one_loaner_kit`), as the create-order reference documents.

    Once per run, after the first accepted createOrder, both orders are sent with a loaner kit, a site and a
    patient that exist; a server whose kits show no loaner is not probed.
    """

    def __init__(self) -> None:
        self.probed = False

    def after_response(self, ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if operation_id(case) != "createOrder" or not ok(response) or self.probed:
            return None
        self.probed = True
        kits = follow_up(case, response, "listKits", query={"page": 1, "size": 250})
        loaner = next((k.get("id") for k in (json_of(kits) or {}).get("content") or []
                       if isinstance(k, dict) and k.get("loaner") is True), None) if ok(kits) else None  # fmt: skip
        site = impilo_create_order_follows_its_business_rules._some_id(case, response, "listSites")
        patient = impilo_create_order_follows_its_business_rules._some_id(case, response, "listPatients")
        if loaner is None or site is None or patient is None:
            return None
        probes = {
            "no_loaner_kit_to_site": {"site": {"id": site}, "orderKits": [{"kit": {"id": loaner}, "count": 1}]},
            "qty_over_one_loaner_kit": {"patient": {"id": patient}, "orderKits": [{"kit": {"id": loaner}, "count": 2}]},
        }
        wrong = []
        for message, body in probes.items():
            got = follow_up(case, response, "createOrder", body=body)
            said = (json_of(got) or {}).get("message") if got.status_code == 400 else None
            if said != message:
                wrong.append(f"{message}: answered {got.status_code} {said!r}")
        if wrong:
            fail(f"createOrder did not apply the loaner-kit rules to kit {loaner}: " + "; ".join(wrong))
        return None


@schemathesis.check
def impilo_patient_is_found_by_its_external_identifier(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """A patient created with an `externalIdentifier` is found by GET /patient/identifier/{identifier}, whatever
    the identifier holds (a base64 digest has `/`, sent as `%2F`; specs/impilo.yaml, the Identifier parameter)."""
    body = json_of(response)
    identifier = body.get("externalIdentifier") if isinstance(body, dict) else None  # as stored
    if operation_id(case) != "createPatient" or not ok(response) or not isinstance(identifier, str) or not identifier:
        return None
    if "\n" in identifier:  # the one character the spec's Identifier parameter says a path cannot carry
        return None
    # A follow-up's path parameters go out as given: encoded here, as a client encodes a path segment.
    encoded = quote(identifier, safe="")
    got = follow_up(case, response, "getPatientByExternalIdentifier", path_parameters={"identifier": encoded})
    found = json_of(got) if ok(got) else None
    if not isinstance(found, dict) or not isinstance(body, dict) or found.get("id") != body.get("id"):
        fail(f"patient {body.get('id') if isinstance(body, dict) else '?'} created with externalIdentifier "
             f"{identifier!r} was not found by getPatientByExternalIdentifier: {got.status_code}")  # fmt: skip
    return None


def _is_reading_record(case: Case) -> bool:
    name = operation_id(case)
    return name.startswith("record") and name.endswith("Reading")


@schemathesis.check
class impilo_device_is_associated_only_when_available_at_a_site:  # noqa: N801  (see above)
    """associateDevice needs a device `availableAtSite` (vendor precondition): a device it has just given to
    a patient is `withPatient`, so sending the same association again must get a 4xx.

    Probed once per run, on the first accepted association; the device is then disassociated again.
    """

    def __init__(self) -> None:
        self.probed = False

    def after_response(self, ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if operation_id(case) != "associateDevice" or not ok(response) or not isinstance(case.body, dict):
            return None
        status = (json_of(response) or {}).get("currentStatus")
        if status is not None and status != "withPatient":
            fail(f"associateDevice answered {response.status_code} with currentStatus {status!r}; expected withPatient")
        if not self.probed:
            self.probed = True
            again = follow_up(case, response, "associateDevice", body=case.body)
            follow_up(case, response, "disassociateDevice", body=case.body)
            if not 400 <= again.status_code < 500:
                fail(f"associating a device already with a patient answered {again.status_code}; expected a 4xx")
        return None


@schemathesis.check
class impilo_reading_from_a_device_with_disabled_readings_is_refused:  # noqa: N801  (see above)
    """A device's readings, once disabled, "will not be processed or saved" (vendor): after the first reading
    a run records from a device, that device's readings are disabled, the same reading is sent again and
    must get a 4xx; then its readings are enabled again. Probed once per run."""

    def __init__(self) -> None:
        self.probed = False

    def after_response(self, ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if self.probed or not _is_reading_record(case) or not ok(response) or not isinstance(case.body, dict):
            return None
        device_id = case.body.get("deviceId")
        if not isinstance(device_id, int):
            return None
        self.probed = True
        disabled = follow_up(case, response, "disableDeviceReadings", body={"deviceId": device_id})
        if not ok(disabled):
            return None  # nothing to judge: the device could not be disabled
        again = follow_up(case, response, operation_id(case), body=case.body)
        follow_up(case, response, "enableDeviceReadings", body={"deviceId": device_id})
        if not 400 <= again.status_code < 500:
            fail(
                f"a reading from device {device_id} with disabled readings answered {again.status_code}; expected a 4xx"
            )
        return None


@schemathesis.check
class impilo_packed_kit_is_linked_only_when_packed_at_a_site:  # noqa: N801  (see above)
    """linkKitToPatient needs a packed kit `PACKED_AT_SITE` (vendor precondition): a kit it has just linked is
    `WITH_PATIENT`, so linking it again must get a 4xx. Probed once per run, on the first accepted link; the
    kit is then unlinked again."""

    def __init__(self) -> None:
        self.probed = False

    def after_response(self, ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if self.probed or operation_id(case) != "linkKitToPatient" or not ok(response):
            return None
        if not isinstance(case.body, dict):
            return None
        self.probed = True
        again = follow_up(case, response, "linkKitToPatient", body=case.body)
        follow_up(case, response, "unlinkKitFromPatient", body=case.body)
        if not 400 <= again.status_code < 500:
            fail(f"linking a packed kit already with a patient answered {again.status_code}; expected a 4xx")
        return None
