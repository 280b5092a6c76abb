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


UNKNOWN_ID = 2**53  # no Impilo record has it: ids are assigned from small counters
REFERENCES: dict[str, tuple[tuple[str | int, ...], ...]] = {  # operation -> where its body names another record
    "createPatient": (("site",),),
    "updatePatient": (("site",),),
    "patchPatient": (("site",),),
    "createOrder": (("patient",), ("site",), ("orderItems", 0, "item"), ("orderKits", 0, "kit")),
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
