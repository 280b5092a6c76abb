"""Impilo's documented rules as Schemathesis checks."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response

from contracts.checks.common import fail, follow_up, json_of, ok, operation_id


def _order_rule_broken(body: dict[str, Any]) -> str | None:
    parties = [name for name in ("patient", "site") if name in body]
    if len(parties) != 1:
        return f"{' and '.join(parties) or 'neither patient nor site'}"
    if not any(isinstance(body.get(lines), list) and body[lines] for lines in ("orderItems", "orderKits")):
        return "no orderItems or orderKits"
    return None


@schemathesis.check
class impilo_order_needs_exactly_one_of_patient_or_site_and_some_lines:  # noqa: N801  (see above)
    """createOrder refuses an order for both or neither of patient and site, or without lines.

    Besides judging every createOrder the run sends, the first accepted order is varied once per run into
    the three broken shapes (with references that exist), each of which must get a 4xx.
    """

    def __init__(self) -> None:
        self.probed = False

    def after_response(self, ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if operation_id(case) != "createOrder" or not ok(response) or not isinstance(case.body, dict):
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
            "no orderItems or orderKits": {k: v for k, v in order.items() if k not in ("orderItems", "orderKits")},
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
    def _some_id(case: Case, response: Response, list_operation: str) -> Any:
        got = follow_up(case, response, list_operation, query={"page": 1, "size": 1})
        content = (json_of(got) or {}).get("content") if ok(got) else None
        return content[0].get("id") if isinstance(content, list) and content else None


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
