"""Impilo mock behaviour over HTTP: auth, state, filters, paging, order rules, webhooks, bad input."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from starlette.testclient import TestClient

import specs
from tests.support.examples import ORDER_LINES, PATIENT_MINIMAL, example
from tests.support.helpers import IMPILO_KEY, base, on_each_store, state, wait_until
from tests.support.live import LiveServer
from tests.support.receiver import running_receiver

B = base("impilo")
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "headers",
    [pytest.param({}, id="missing-key"), pytest.param({"Impilo-API-Key": "wrong"}, id="wrong-key")],
)
def test_impilo_rejects_requests_with_401_in_impilo_shape_when_key_is_missing_or_wrong(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.get(f"{B}/patient/1234", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401 and body["error"] == "Unauthorized" and body["message"]
    assert body["path"] == f"{B}/patient/1234"


@on_each_store
def test_impilo_patient_created_is_readable_listed_and_findable_by_external_identifier(client: TestClient) -> None:
    sent = {**PATIENT_MINIMAL, "externalIdentifier": "ext-emily-1", "dateOfBirth": "1991-02-03", "sex": "female"}
    created = client.post(f"{B}/patient", json=sent, headers=IMPILO_KEY)
    assert created.status_code == 201
    patient = created.json()
    assert {k: patient[k] for k in sent} == sent
    assert client.get(f"{B}/patient/{patient['id']}", headers=IMPILO_KEY).json() == patient
    by_ext = client.get(f"{B}/patient/identifier/ext-emily-1", headers=IMPILO_KEY)
    assert by_ext.status_code == 200 and by_ext.json()["id"] == patient["id"]
    listed = client.get(f"{B}/patient", params={"externalIdentifier": "ext-emily-1"}, headers=IMPILO_KEY).json()
    assert listed["total"] == 1 and listed["content"][0]["id"] == patient["id"]


@on_each_store
def test_impilo_created_patient_holds_what_was_sent_plus_what_impilo_owns(client: TestClient) -> None:
    created = client.post(f"{B}/patient", json={**PATIENT_MINIMAL, "site": {"id": 1234}}, headers=IMPILO_KEY)
    assert created.status_code == 201
    patient = created.json()
    site = client.get(f"{B}/site/1234", headers=IMPILO_KEY).json()
    unset = {k: None for k in ("externalIdentifier", "dateOfBirth", "email", "phoneNumber", "address", "sex")}
    assert patient == {"id": patient["id"], **unset, **PATIENT_MINIMAL, "archived": False, "enrolled": True,
                       "site": site}  # fmt: skip
    assert client.get(f"{B}/patient/{patient['id']}", headers=IMPILO_KEY).json() == patient


def test_impilo_created_site_holds_what_was_sent_plus_its_id(client: TestClient) -> None:
    sent = {"name": "Harbor Clinic"}
    created = client.post(f"{B}/site", json=sent, headers=IMPILO_KEY).json()
    assert created == {"id": created["id"], "active": None, "phoneNumber": None, "address": None, **sent}
    nested = client.post(f"{B}/patient", json={**PATIENT_MINIMAL, "site": {"name": "Dune Clinic"}}, headers=IMPILO_KEY)
    assert {k: v for k, v in nested.json()["site"].items() if v is not None} == {
        "id": nested.json()["site"]["id"],
        "name": "Dune Clinic",
    }


def test_impilo_seeded_patients_are_fully_populated(client: TestClient) -> None:
    patients = client.get(f"{B}/patient", params={"size": 250}, headers=IMPILO_KEY).json()["content"]
    fields = {"externalIdentifier", "firstName", "lastName", "dateOfBirth", "email", "phoneNumber", "address", "sex"}
    assert all(fields <= set(p) for p in patients)


@pytest.mark.parametrize("fast_path", [pytest.param(True, id="fast-path"), pytest.param(False, id="connexion-chain")])
def test_impilo_patient_is_found_by_an_external_identifier_holding_a_slash(make_client: Any, fast_path: bool) -> None:
    client = make_client(fast_path=fast_path)
    digest = "q+/x9/Yz=="  # base64 digests hold `/`, sent percent-encoded as %2F
    created = client.post(f"{B}/patient", json={**PATIENT_MINIMAL, "externalIdentifier": digest}, headers=IMPILO_KEY)
    found = client.get(f"{B}/patient/identifier/q%2B%2Fx9%2FYz%3D%3D", headers=IMPILO_KEY)
    assert found.status_code == 200 and found.json() == created.json()
    missing = client.get(f"{B}/patient/identifier/q%2Fnobody", headers=IMPILO_KEY)
    assert missing.status_code == 404 and missing.json()["message"] == "No patient with externalIdentifier 'q/nobody'"
    assert client.get("/__mock/summary").json()["fastPath"]["served"] == (3 if fast_path else 0)


def test_impilo_patient_with_a_line_feed_in_its_identifier_is_found_by_the_list_filter(client: TestClient) -> None:
    created = client.post(f"{B}/patient", json={**PATIENT_MINIMAL, "externalIdentifier": "a\nb"}, headers=IMPILO_KEY)
    listed = client.get(f"{B}/patient", params={"externalIdentifier": "a\nb"}, headers=IMPILO_KEY).json()
    assert listed["content"] == [created.json()]


@on_each_store
def test_impilo_put_replaces_and_patch_changes_only_given_fields(client: TestClient) -> None:
    before = client.get(f"{B}/patient/1234", headers=IMPILO_KEY).json()
    patched = client.patch(f"{B}/patient/1234", json={"lastName": "Kowalski"}, headers=IMPILO_KEY).json()
    assert patched == {**before, "lastName": "Kowalski"}
    put = client.put(f"{B}/patient/1234", json={"firstName": "Ann", "lastName": "Lee"}, headers=IMPILO_KEY).json()
    assert (put["firstName"], put["lastName"], put["id"]) == ("Ann", "Lee", 1234)
    assert "site" not in put and put.get("externalIdentifier") != before.get("externalIdentifier")
    assert client.get(f"{B}/patient/1234", headers=IMPILO_KEY).json() == put


def test_impilo_patient_is_404_in_impilo_shape_when_id_is_unknown(client: TestClient) -> None:
    response = client.get(f"{B}/patient/999999", headers=IMPILO_KEY)
    assert response.status_code == 404
    assert response.json()["message"] == "Patient 999999 not found"


@on_each_store
def test_impilo_list_paginates_with_exact_totals_and_first_last_flags(client: TestClient) -> None:
    first = client.get(f"{B}/patient", params={"size": 7}, headers=IMPILO_KEY).json()
    total, seen, page = first["total"], [], 1
    assert total >= 50 and first["first"] and not first["last"] and first["size"] == 7
    while True:
        body = client.get(f"{B}/patient", params={"size": 7, "page": page}, headers=IMPILO_KEY).json()
        seen += [p["id"] for p in body["content"]]
        if body["last"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == total
    assert client.get(f"{B}/patient", headers=IMPILO_KEY).json()["size"] == 15


@on_each_store  # equality filters are answered by the store (an index on PostgreSQL)
@pytest.mark.parametrize(
    ("params", "holds"),
    [
        pytest.param({"archived": "true"}, lambda p: p["archived"] is True, id="archived"),
        pytest.param({"enrolled": "false"}, lambda p: p["enrolled"] is False, id="not-enrolled"),
        pytest.param({"siteId": 1234}, lambda p: p.get("site", {}).get("id") == 1234, id="site"),
        pytest.param({"dateOfBirthMin": "1980-01-01"}, lambda p: p["dateOfBirth"] >= "1980-01-01", id="born-after"),
        pytest.param({"country": "usa"}, lambda p: p["address"]["country"] == "USA", id="country"),
        pytest.param({"id": [1, 2, 3]}, lambda p: p["id"] in (1, 2, 3), id="ids"),
    ],
)
def test_impilo_list_applies_each_documented_filter(client: TestClient, params: dict[str, Any], holds: Any) -> None:
    body = client.get(f"{B}/patient", params={**params, "size": 250}, headers=IMPILO_KEY).json()
    everyone = client.get(f"{B}/patient", params={"size": 250}, headers=IMPILO_KEY).json()["content"]
    assert body["content"] and all(holds(p) for p in body["content"])
    assert body["total"] == sum(1 for p in everyone if holds(p))


def test_impilo_list_sorts_by_last_name_descending(client: TestClient) -> None:
    params = {"sort": "lastName", "sortDescending": "true", "size": 250}
    names = [
        p["lastName"].lower() for p in client.get(f"{B}/patient", params=params, headers=IMPILO_KEY).json()["content"]
    ]
    assert names == sorted(names, reverse=True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"patient": {"id": 1234}, "site": {"id": 1234}, **ORDER_LINES}, "patient or site required", id="both"
        ),
        pytest.param(ORDER_LINES, "patient or site required", id="neither"),
        pytest.param({"site": {"id": 1234}}, "Order must contain at least one of", id="no-lines"),
        pytest.param({"site": {"id": 1234}, "orderItems": []}, "Order must contain at least one of", id="empty-lines"),
    ],
)
def test_impilo_order_is_rejected_with_the_documented_message_when_rules_are_broken(
    client: TestClient, body: dict[str, Any], message: str
) -> None:
    before = state(client, "impilo")["orders"]
    response = client.post(f"{B}/order", json=body, headers=IMPILO_KEY)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert state(client, "impilo")["orders"] == before


UNKNOWN = 424242
AT_UNKNOWN_SITE = {**PATIENT_MINIMAL, "site": {"id": UNKNOWN}}


@on_each_store
@pytest.mark.parametrize(
    ("method", "path", "body", "label"),
    [
        pytest.param("POST", "/patient", AT_UNKNOWN_SITE, "Site", id="create-patient-site"),
        pytest.param("PUT", "/patient/1234", AT_UNKNOWN_SITE, "Site", id="put-patient-site"),
        pytest.param("PATCH", "/patient/1234", {"site": {"id": UNKNOWN}}, "Site", id="patch-patient-site"),
        pytest.param("POST", "/order", {"patient": {"id": UNKNOWN}, **ORDER_LINES}, "Patient", id="order-patient"),
        pytest.param("POST", "/order", {"site": {"id": UNKNOWN}, **ORDER_LINES}, "Site", id="order-site"),
        pytest.param("POST", "/order", {"site": {"id": 1234}, "orderItems": [{"item": {"id": UNKNOWN}, "count": 1}]},
                     "Item", id="order-item"),
        pytest.param("POST", "/order", {"site": {"id": 1234}, "orderKits": [{"kit": {"id": UNKNOWN}, "count": 1}]},
                     "Kit", id="order-kit"),
        pytest.param("POST", "/order", {"site": {"id": 1234}, "returnItems": [{"item": {"id": UNKNOWN}}],
                      "emailLabel": True}, "Item", id="order-return-item"),
        pytest.param("POST", "/order", {"site": {"id": 1234}, "returnDevices": [{"id": UNKNOWN}], "emailLabel": True},
                     "Device", id="order-return-device"),
        pytest.param("POST", "/order", {"site": {"id": 1234}, "returnPackedKits": [{"id": UNKNOWN}],
                      "emailLabel": True}, "Packed kit", id="order-return-packed-kit"),
    ],
)  # fmt: skip
def test_impilo_unknown_reference_in_a_body_is_404_and_changes_nothing(
    client: TestClient, method: str, path: str, body: dict[str, Any], label: str
) -> None:
    before = state(client, "impilo")
    response = client.request(method, f"{B}{path}", json=body, headers=IMPILO_KEY)
    assert response.status_code == 404
    assert response.json()["status"] == 404 and response.json()["message"] == f"{label} {UNKNOWN} not found"
    assert state(client, "impilo") == before


PATIENT_ORDER = {"patient": {"id": 1234}}
LOANER = {"kit": {"id": 1005}, "count": 1}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({**PATIENT_ORDER, "returnItems": [{"item": {"id": 1000}}]},
                     "shippingOption is required when emailLabel is false and return items are included",
                     id="returns-without-shipping-option"),
        pytest.param({**PATIENT_ORDER, "orderItems": [{"item": {"id": 1007}, "count": 3}]}, "insufficient_inventory",
                     id="more-than-the-stock"),
        pytest.param({**PATIENT_ORDER, "orderKits": [{"kit": {"id": 1004}, "count": 3}]}, "insufficient_inventory",
                     id="kits-needing-more-than-the-stock"),
        pytest.param({**PATIENT_ORDER, "orderItems": [{"item": {"id": 1008}}]},
                     "Order contains Items that are marked as non-orderable. Order cannot be placed.",
                     id="non-orderable-item"),
        pytest.param({**PATIENT_ORDER, "orderKits": [LOANER, LOANER]}, "max_one_loaner_kit", id="two-loaner-kits"),
        pytest.param({**PATIENT_ORDER, "orderKits": [{**LOANER, "count": 2}]}, "qty_over_one_loaner_kit",
                     id="two-of-a-loaner-kit"),
        pytest.param({**PATIENT_ORDER, "orderKits": [LOANER], "returnItems": [{"item": {"id": 1000}}],
                      "emailLabel": True}, "no_returns_with_loaner_kit", id="loaner-kit-with-returns"),
        pytest.param({"site": {"id": 1234}, "orderKits": [LOANER]}, "no_loaner_kit_to_site", id="loaner-kit-to-a-site"),
    ],
)  # fmt: skip
def test_impilo_order_is_refused_with_each_documented_message(
    client: TestClient, body: dict[str, Any], message: str
) -> None:
    before = state(client, "impilo")
    response = client.post(f"{B}/order", json=body, headers=IMPILO_KEY)
    assert response.status_code == 400 and response.json()["message"] == message
    assert state(client, "impilo") == before


def test_impilo_loaner_kit_ships_alone_to_a_patient(client: TestClient) -> None:
    response = client.post(f"{B}/order", json={**PATIENT_ORDER, "orderKits": [LOANER]}, headers=IMPILO_KEY)
    assert response.status_code == 201 and response.json()["orderKits"][0]["kit"]["loaner"] is True


@on_each_store
def test_impilo_two_way_order_opens_a_return_and_shows_what_comes_back(client: TestClient) -> None:
    device = client.get(f"{B}/device/1", headers=IMPILO_KEY).json()
    sent = {**PATIENT_ORDER, **ORDER_LINES, "shippingOption": "standard", "orderNotes": [{"note": "Leave at door"}],
            "returnItems": [{"item": {"id": 1001}, "count": 2}], "returnDevices": [{"id": 1}]}  # fmt: skip
    response = client.post(f"{B}/order", json=sent, headers=IMPILO_KEY)
    assert response.status_code == 201
    order = response.json()
    assert [(r["item"]["id"], r["count"]) for r in order["returnItems"]] == [(1001, 2)]
    assert order["returnDevices"] == [device] and order["returnPackedKits"] == []
    assert order["orderNotes"][0]["note"] == "Leave at door" and order["orderNotes"][0]["createdAt"]
    (opened,) = [r for r in state(client, "impilo")["returns"] if r["relatedOrderId"] == order["id"]]
    assert (opened["currentStatus"], opened["patientId"], opened["deviceIds"]) == ("pending", 1234, [1])
    assert client.get(f"{B}/order/{order['id']}", headers=IMPILO_KEY).json() == order


def test_impilo_return_only_order_is_accepted_with_an_emailed_label(client: TestClient) -> None:
    sent = {**PATIENT_ORDER, "returnDevices": [{"id": 2}], "emailLabel": True}
    response = client.post(f"{B}/order", json=sent, headers=IMPILO_KEY)
    assert response.status_code == 201 and response.json()["emailLabel"] is True


@on_each_store
def test_impilo_created_order_is_fully_expanded_and_listed(client: TestClient) -> None:
    response = client.post(f"{B}/order", json={"patient": {"id": 1234}, **ORDER_LINES}, headers=IMPILO_KEY)
    assert response.status_code == 201
    order = response.json()
    assert order["patient"]["id"] == 1234 and order["patient"]["firstName"]
    assert order["currentStatus"] == "pending" and order["orderEvents"][0]["name"] == "pending"
    assert order["orderItems"][0]["item"]["name"] == "Blood Pressure Monitor"
    assert order["orderKits"][0]["kit"]["kitItems"][0]["item"]["id"] == 1000
    assert client.get(f"{B}/order/{order['id']}", headers=IMPILO_KEY).json() == order
    listed = client.get(f"{B}/order", params={"patientId": 1234, "size": 250}, headers=IMPILO_KEY).json()
    assert order["id"] in [o["id"] for o in listed["content"]]


def test_impilo_catalogue_and_devices_have_the_guides_fixed_ids(client: TestClient) -> None:
    for kind in ("item", "kit"):
        for ident in (1000, 1001, 1002, 1003):
            assert client.get(f"{B}/{kind}/{ident}", headers=IMPILO_KEY).json()["id"] == ident
    device = client.get(f"{B}/device/1", headers=IMPILO_KEY).json()
    assert device["item"]["id"] >= 1000 and device["deviceIdentifiers"]
    assert client.get(f"{B}/site/1234", headers=IMPILO_KEY).json()["id"] == 1234


@on_each_store
def test_impilo_webhook_subscription_lifecycle(client: TestClient) -> None:
    hook = client.post(
        f"{B}/webhook", json={"type": "patient.created", "url": "http://127.0.0.1:9/a"}, headers=IMPILO_KEY
    )
    assert hook.status_code == 200
    hook_id = hook.json()["id"]
    again = client.post(
        f"{B}/webhook", json={"type": "patient.created", "url": "http://127.0.0.1:9/a"}, headers=IMPILO_KEY
    )
    assert again.status_code == 409
    same = client.patch(f"{B}/webhook/{hook_id}", json={"url": "http://127.0.0.1:9/a"}, headers=IMPILO_KEY)
    assert same.status_code == 400
    moved = client.patch(f"{B}/webhook/{hook_id}", json={"url": "http://127.0.0.1:9/b"}, headers=IMPILO_KEY)
    assert moved.json()["url"] == "http://127.0.0.1:9/b"
    assert client.get(f"{B}/webhook", headers=IMPILO_KEY).json()["content"] == [moved.json()]
    assert client.delete(f"{B}/webhook/{hook_id}", headers=IMPILO_KEY).status_code == 204
    assert client.delete(f"{B}/webhook/{hook_id}", headers=IMPILO_KEY).status_code == 404


def test_impilo_webhook_secret_can_be_set_once(client: TestClient) -> None:
    assert client.post(f"{B}/webhook-secret", json={"secret": "s3cret"}, headers=IMPILO_KEY).json() == {
        "secret": "s3cret"
    }
    assert client.post(f"{B}/webhook-secret", json={"secret": "other"}, headers=IMPILO_KEY).status_code == 409


def test_impilo_webhook_secret_is_chosen_by_impilo_when_none_is_sent(make_client: Any) -> None:
    chosen = [make_client().post(f"{B}/webhook-secret", json={}, headers=IMPILO_KEY) for _ in range(2)]
    assert [c.status_code for c in chosen] == [200, 200]
    assert chosen[0].json()["secret"] and chosen[0].json() == chosen[1].json()  # one seed, one secret


def test_impilo_order_lines_need_only_an_id_and_count_one_by_default(client: TestClient) -> None:
    sent = {"site": {"id": 1234}, "orderItems": [{"item": {"id": 1000}}], "orderKits": [{"kit": {"id": 1001}}]}
    order = client.post(f"{B}/order", json=sent, headers=IMPILO_KEY)
    assert order.status_code == 201
    assert [line["count"] for line in (*order.json()["orderItems"], *order.json()["orderKits"])] == [1, 1]


def test_impilo_order_takes_more_lines_and_external_ids_than_any_invented_cap(client: TestClient) -> None:
    many = [{"item": {"id": 1000 + n % 4}, "count": 1} for n in range(150)]
    sent = {"site": {"id": 1234}, "orderItems": many, "externalOrderIds": [f"ext-{n}" for n in range(150)]}
    order = client.post(f"{B}/order", json=sent, headers=IMPILO_KEY)
    assert order.status_code == 201 and len(order.json()["orderItems"]) == 150


def test_impilo_webhook_is_delivered_to_a_real_receiver_with_envelope_and_secret() -> None:
    with running_receiver() as receiver, LiveServer(seed=0) as server, httpx.Client(base_url=server.url) as http:
        for event in ("patient.created", "patient.updated", "order.status"):
            http.post(f"{B}/webhook", json={"type": event, "url": receiver.url}, headers=IMPILO_KEY)
        http.post(f"{B}/webhook-secret", json={"secret": "hush"}, headers=IMPILO_KEY)
        patient = http.post(f"{B}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY).json()
        http.patch(f"{B}/patient/{patient['id']}", json={"lastName": "Stone"}, headers=IMPILO_KEY)
        order = http.post(f"{B}/order", json={"site": {"id": 1234}, **ORDER_LINES}, headers=IMPILO_KEY).json()
        deliveries = receiver.wait_for(3)
    by_type = {d["body"]["type"]: d for d in deliveries}
    assert set(by_type) == {"patient.created", "patient.updated", "order.status"}
    assert by_type["patient.created"]["body"]["payload"]["id"] == patient["id"]
    assert by_type["patient.updated"]["body"]["payload"]["lastName"] == "Stone"
    status_payload = by_type["order.status"]["body"]["payload"]
    assert status_payload == {
        "id": order["id"],
        "eventType": "pending",
        "eventTimestamp": status_payload["eventTimestamp"],
    }
    assert all(d["headers"]["Impilo-Webhook-Secret"] == "hush" for d in deliveries)
    assert len({d["body"]["id"] for d in deliveries}) == 3


def test_impilo_webhook_delivery_does_not_wait_for_the_receiver() -> None:
    with running_receiver() as receiver, LiveServer(seed=0) as server, httpx.Client(base_url=server.url) as http:
        receiver.release.clear()  # the receiver holds every delivery until released
        http.post(f"{B}/webhook", json={"type": "patient.created", "url": receiver.url}, headers=IMPILO_KEY)
        created = http.post(f"{B}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
        assert created.status_code == 201 and receiver.deliveries == []
        receiver.release.set()
        assert receiver.wait_for(1)[0]["body"]["payload"]["id"] == created.json()["id"]


def test_impilo_failed_webhook_deliveries_are_retried_and_logged() -> None:
    with running_receiver() as receiver, LiveServer(seed=0) as server, httpx.Client(base_url=server.url) as http:
        receiver.statuses = [500, 503]  # fails twice, then recovers
        http.post(f"{B}/webhook", json={"type": "patient.created", "url": receiver.url}, headers=IMPILO_KEY)
        http.post(f"{B}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
        deliveries = receiver.wait_for(3)
        logs = wait_until(lambda: [
            log for log in http.get(f"{B}/webhook/logs", headers=IMPILO_KEY).json()["content"]
            if log["lastResponseStatus"] == 200
        ])  # fmt: skip
        attempts = http.get("/__mock/webhooks/attempts").json()
    assert [d["answered"] for d in deliveries] == [500, 503, 200]
    assert logs[0]["retryAttempts"] == 2 and logs[0]["lastRetryTimestamp"] and logs[0]["webhookUrl"] == receiver.url
    assert [a["status"] for a in attempts] == [500, 503, 200]


def test_impilo_refused_webhook_is_retried_on_schedule_and_every_attempt_logged() -> None:
    with LiveServer(seed=0) as server, httpx.Client(base_url=server.url) as http:
        dead = f"http://127.0.0.1:{server.port + 1 if server.port < 65000 else 1}/nobody"
        http.post(f"{B}/webhook", json={"type": "patient.created", "url": dead}, headers=IMPILO_KEY)
        http.post(f"{B}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
        attempts = wait_until(lambda: len(http.get("/__mock/webhooks/attempts").json()) == 4 and
                              http.get("/__mock/webhooks/attempts").json())  # fmt: skip
        log = http.get(f"{B}/webhook/logs", headers=IMPILO_KEY).json()["content"][0]
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert all(a["status"] is None and "connection" in a["error"] for a in attempts)
    assert log["retryAttempts"] == 3 and log["lastResponseStatus"] == 0


def test_impilo_webhook_to_a_host_outside_the_allow_list_is_logged_not_sent(client: TestClient) -> None:
    client.post(
        f"{B}/webhook", json={"type": "patient.created", "url": "https://example.com/webhook"}, headers=IMPILO_KEY
    )
    client.post(f"{B}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
    attempts = wait_until(lambda: client.get("/__mock/webhooks/attempts").json())
    assert len(attempts) == 1 and "host not allowed" in attempts[0]["error"]


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        pytest.param(b"{not json", {"Content-Type": "application/json"}, 400, id="malformed-json"),
        pytest.param(b'{"firstName": "\xff"}', {"Content-Type": "application/json"}, 400, id="not-utf8"),
        pytest.param(b"firstName=Ann", {"Content-Type": "text/plain"}, 415, id="wrong-content-type"),
        pytest.param(b'{"firstName": "' + b"a" * 1_100_000 + b'"}', JSON, 413, id="too-large"),
        pytest.param(b'{"firstName": 5, "dateOfBirth": "1990-02-31", "email": "x"}', JSON, 400, id="schema-violations"),
    ],
)  # fmt: skip
def test_impilo_bad_input_gets_a_4xx_and_changes_nothing(
    client: TestClient, content: bytes, headers: dict[str, str], status: int
) -> None:
    before = state(client, "impilo")
    response = client.post(f"{B}/patient", content=content, headers={**IMPILO_KEY, **headers})
    assert response.status_code == status
    assert response.json()["status"] == status
    assert state(client, "impilo") == before


def test_impilo_validation_error_lists_every_violation(client: TestClient) -> None:
    body = {"firstName": 5, "dateOfBirth": "1990-02-31", "email": "x"}
    errors = client.post(f"{B}/patient", json=body, headers=IMPILO_KEY).json()["errors"]
    assert {e["field"] for e in errors} == {"body", "body.firstName", "body.dateOfBirth", "body.email"}


def test_impilo_undeclared_query_parameter_is_rejected(client: TestClient) -> None:
    response = client.get(f"{B}/patient", params={"color": "blue"}, headers=IMPILO_KEY)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "query.color", "message": "parameter is not defined for this operation"}
    ]


def test_impilo_seed_data_is_deterministic_per_seed(make_client: Any) -> None:
    def patients(seed: int) -> Any:
        return make_client(seed=seed).get(f"{B}/patient", params={"size": 250}, headers=IMPILO_KEY).json()

    assert patients(5) == patients(5)
    assert patients(5) != patients(6)


def test_impilo_seed_data_is_synthetic(client: TestClient) -> None:
    patients = client.get(f"{B}/patient", params={"size": 250}, headers=IMPILO_KEY).json()["content"]
    assert len(patients) >= 50
    assert all(p["email"].endswith(("@example.com", "@example.org")) for p in patients)
    assert all("-555-01" in p["phoneNumber"] for p in patients)


# --- every request example of the Impilo guides (shared/seeds 000-002), verbatim: tests/data/impilo/ ------
# The guides' webhook curl omits the API key; the key is required on every call (specs/impilo.yaml), so
# it is added here, as it is to every other example whose `<apiKey>` placeholder the user fills in.


@pytest.mark.parametrize(
    ("method", "path", "sent", "status", "expect"),
    [
        pytest.param("POST", "/patient", "create-patient-minimal.json", 201,
                     {"firstName": "Emily", "lastName": "Clark"}, id="create-patient-minimal"),
        pytest.param("POST", "/patient", "create-patient-full.json", 201,
                     {"externalIdentifier": "external-identifier-123", "dateOfBirth": "1987-09-13", "sex": "unknown"},
                     id="create-patient-full"),
        pytest.param("PUT", "/patient/0", "update-patient.json", 200,
                     {"id": 0, "externalIdentifier": "1234abcd", "archived": True, "sex": "other"},
                     id="update-patient"),
        pytest.param("POST", "/webhook", "register-webhook.json", 200, {"type": "patient.updated"},
                     id="register-webhook"),
        pytest.param("POST", "/order", "create-patient-order.json", 201, {"externalOrderIds": ["xyz_123_0",
                     "xyz_123_1", "xyz_123_2", "xyz_123_3"], "currentStatus": "pending"}, id="create-patient-order"),
        pytest.param("POST", "/order", "create-site-order.json", 201, {"currentStatus": "pending"},
                     id="create-site-order"),
        pytest.param("GET", "/order", None, 200, {"page": 1, "first": True}, id="list-orders"),
        pytest.param("GET", "/order/1", None, 200, {"id": 1}, id="fetch-order"),
    ],
)  # fmt: skip
def test_impilo_seed_example_works_verbatim_on_a_fresh_server(
    make_client: Any, method: str, path: str, sent: str | None, status: int, expect: dict[str, Any]
) -> None:
    body = example("impilo", sent) if sent else None
    headers = {**IMPILO_KEY, "Accept": "application/json", **({"Content-Type": "application/json"} if body else {})}
    response = make_client().request(method, f"{B}{path}", content=body, headers=headers)
    assert response.status_code == status, response.text
    got = response.json()
    assert {k: got[k] for k in expect} == expect
    if path == "/order" and method == "POST":
        assert len(got["orderItems"]) == 4 and len(got["orderKits"]) == 4 and got["orderEvents"]
        assert ("patient" in got) != ("site" in got)


def test_impilo_rejected_patient_write_leaves_no_new_site_behind(client: TestClient) -> None:
    existing = client.get(f"{B}/patient/1234", headers=IMPILO_KEY).json()["externalIdentifier"]
    sites_before = state(client, "impilo")["sites"]
    body = {**PATIENT_MINIMAL, "externalIdentifier": existing, "site": {"name": "Orphan Clinic"}}
    assert client.post(f"{B}/patient", json=body, headers=IMPILO_KEY).status_code == 409
    assert client.put(f"{B}/patient/2", json=body, headers=IMPILO_KEY).status_code == 409
    assert state(client, "impilo")["sites"] == sites_before


def _deliveries(client: TestClient, events: list[str], act: Any) -> list[dict[str, Any]]:
    """The bodies the mock sent for `events` while `act()` ran, as its webhook logs show them."""
    for event in events:
        client.post(f"{B}/webhook", json={"type": event, "url": f"http://127.0.0.1:9/{event}"}, headers=IMPILO_KEY)
    act()
    logs = client.get(f"{B}/webhook/logs", params={"size": 250}, headers=IMPILO_KEY).json()["content"]
    return [json.loads(log["payload"]) for log in logs]


def _callback_schema(event: str) -> dict[str, Any]:
    for callback in specs.load("impilo")["paths"]["/webhook"]["post"]["callbacks"].values():
        for item in callback.values():
            schema: dict[str, Any] = item["post"]["requestBody"]["content"]["application/json"]["schema"]
            if event in schema["properties"]["type"].get("enum", []):
                return schema
    raise AssertionError(f"no callback declares {event}")


def test_impilo_patient_webhooks_send_the_declared_patient_and_nothing_else(client: TestClient) -> None:
    def act() -> None:
        patient = client.post(f"{B}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY).json()
        client.patch(f"{B}/patient/{patient['id']}", json={"lastName": "Stone"}, headers=IMPILO_KEY)

    bodies = _deliveries(client, ["patient.created", "patient.updated"], act)
    assert [b["type"] for b in bodies] == ["patient.created", "patient.updated"]
    for body in bodies:
        schema = _callback_schema(body["type"])
        OAS30Validator(schema, format_checker=oas30_format_checker).validate(body)
        assert set(body["payload"]) <= set(schema["properties"]["payload"]["properties"])
    assert bodies[1]["payload"] == client.get(f"{B}/patient/{bodies[1]['payload']['id']}", headers=IMPILO_KEY).json()


def test_impilo_order_and_return_webhooks_send_their_declared_bodies_on_every_status_move(client: TestClient) -> None:
    events = ["order.status", "order.statusFull", "return.statusFull"]
    sent = {**PATIENT_ORDER, **ORDER_LINES, "returnItems": [{"item": {"id": 1001}}], "emailLabel": True}

    def act() -> None:
        order = client.post(f"{B}/order", json=sent, headers=IMPILO_KEY).json()
        client.post(f"/__mock/impilo/orders/{order['id']}/status", json={"status": "shipped"})
        (opened,) = [r for r in state(client, "impilo")["returns"] if r["relatedOrderId"] == order["id"]]
        assert client.post(f"/__mock/impilo/returns/{opened['id']}/status", json={"status": "received"}).is_success

    bodies = _deliveries(client, events, act)
    moves = [(b["type"], b["payload"].get("eventType") or b["payload"]["currentStatus"]) for b in bodies]
    assert sorted(moves) == sorted([("order.status", "pending"), ("order.statusFull", "pending"),
                                    ("return.statusFull", "pending"), ("order.status", "shipped"),
                                    ("order.statusFull", "shipped"), ("return.statusFull", "received")])  # fmt: skip
    for body in bodies:
        schema = _callback_schema(body["type"])
        OAS30Validator(schema, format_checker=oas30_format_checker).validate(body)
        assert set(body["payload"]) <= set(schema["properties"]["payload"]["properties"])


def test_impilo_return_status_control_refuses_what_it_cannot_apply(client: TestClient) -> None:
    assert client.post("/__mock/impilo/returns/999/status", json={"status": "received"}).status_code == 404
    sent = {**PATIENT_ORDER, "returnDevices": [{"id": 2}], "emailLabel": True}
    client.post(f"{B}/order", json=sent, headers=IMPILO_KEY)
    (opened,) = state(client, "impilo")["returns"]
    before = state(client, "impilo")
    assert client.post(f"/__mock/impilo/returns/{opened['id']}/status", json={"status": ""}).status_code == 400
    assert state(client, "impilo") == before


def test_impilo_order_moved_to_shipped_gets_a_tracking_number_or_keeps_the_ones_given(client: TestClient) -> None:
    first = client.post(f"{B}/order", json={**PATIENT_ORDER, **ORDER_LINES}, headers=IMPILO_KEY).json()
    second = client.post(f"{B}/order", json={**PATIENT_ORDER, **ORDER_LINES}, headers=IMPILO_KEY).json()
    assert first["trackingNumbers"] == [] and second["trackingNumbers"] == []
    moved = client.post(f"/__mock/impilo/orders/{first['id']}/status", json={"status": "shipped"})
    given = [{"carrier": "DHL", "value": "JD0002"}]
    chosen = client.post(
        f"/__mock/impilo/orders/{second['id']}/status", json={"status": "shipped", "trackingNumbers": given}
    )
    (number,) = moved.json()["trackingNumbers"]
    assert number["carrier"] in ("UPS", "FedEx", "USPS") and number["value"]
    assert chosen.json()["trackingNumbers"] == given
    read = client.get(f"{B}/order/{first['id']}", headers=IMPILO_KEY).json()
    assert read["trackingNumbers"] == [number] and read["currentStatus"] == "shipped"


def test_impilo_order_status_control_refuses_malformed_tracking_numbers_and_changes_nothing(client: TestClient) -> None:
    order = client.post(f"{B}/order", json={**PATIENT_ORDER, **ORDER_LINES}, headers=IMPILO_KEY).json()
    before = state(client, "impilo")
    refused = client.post(
        f"/__mock/impilo/orders/{order['id']}/status", json={"status": "shipped", "trackingNumbers": "1Z"}
    )
    assert refused.status_code == 400 and "trackingNumbers" in refused.json()["message"]
    assert state(client, "impilo") == before
