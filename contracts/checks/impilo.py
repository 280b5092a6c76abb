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
    invented = sorted(set(body) - set(case.body) - PATIENT_OWNED) if isinstance(body, dict) else []
    if invented:
        fail(f"createPatient answered fields it was not sent: {', '.join(invented)}; expected only the fields sent "
             f"plus {', '.join(sorted(PATIENT_OWNED))}")  # fmt: skip
    return None
