"""Heidi documents, context attachments and linked accounts as a client sees them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import base, heidi_token, state

BASE = base("heidi")
SESSIONS = f"{BASE}/sessions"
REFERRAL = "66455a5f0b0a1c8d018c6896"  # the vendor documents page's template id
DOCUMENT = {
    "document_tab_type": "DOCUMENT",
    "generation_method": "TEMPLATE",
    "template_id": REFERRAL,
    "voice_style": "GOLDILOCKS",
    "brain": "LEFT",
    "content_type": "MARKDOWN",
}  # fmt: skip  (vendor page)
PDF = ("referral.pdf", b"%PDF-1.4 synthetic", "application/pdf")
ACCOUNTS = f"{BASE}/users/linked-account"
KINDE = "kp_c2487b8e79e3413e8cd590ec43d41c9a"

MakeClient = Callable[..., TestClient]


# Documents


def test_document_templates_are_heidis_document_templates(client: TestClient, heidi_auth: dict[str, str]) -> None:
    templates = client.get(f"{BASE}/templates/document-templates", headers=heidi_auth).json()["templates"]

    assert REFERRAL in {t["id"] for t in templates}
    assert {t["template_category"] for t in templates} == {"DOCUMENT_TEMPLATE"}


def test_create_document_answers_it_and_lists_it_on_the_session(client: TestClient, heidi_auth: dict[str, str]) -> None:
    created = client.post(f"{SESSIONS}/0987654321/documents", json=DOCUMENT, headers=heidi_auth)

    assert created.status_code == 200, created.text
    document = created.json()
    assert (document["session_id"], document["name"], document["template_id"]) == (
        "0987654321",
        "Referral Letter",
        REFERRAL,
    )
    assert document["content"].startswith("# Referral Letter")
    listed = client.get(f"{SESSIONS}/0987654321/documents", headers=heidi_auth).json()["documents"]
    assert listed[-1] == document and listed[-1]["generation_type"] == "TEMPLATE"


@pytest.mark.parametrize(
    ("body", "status", "error_type"),
    [
        pytest.param({**DOCUMENT, "template_id": "nope"}, 404, "TemplateNotFoundError", id="unknown-template"),
        pytest.param({k: v for k, v in DOCUMENT.items() if k != "template_id"}, 422, "RequestValidationError",
                     id="template-method-without-template"),
        pytest.param({k: v for k, v in DOCUMENT.items() if k != "generation_method"}, 422, "RequestValidationError",
                     id="method-missing"),
    ],
)  # fmt: skip
def test_create_document_answers_4xx_and_stores_nothing_when_asked_wrongly(
    client: TestClient, heidi_auth: dict[str, str], body: dict[str, Any], status: int, error_type: str
) -> None:
    before = state(client, "heidi")

    response = client.post(f"{SESSIONS}/0987654321/documents", json=body, headers=heidi_auth)

    assert response.status_code == status, response.text
    assert response.json()["detail"]["type"] == error_type
    assert state(client, "heidi") == before


# Context attachments


def test_context_documents_are_attached_listed_and_deleted(client: TestClient, heidi_auth: dict[str, str]) -> None:
    url = f"{SESSIONS}/0987654321/context-documents"
    meta = {"source": "EHR", "kind": "referral"}

    attached = client.post(
        url, files={"context_documents": PDF}, data={"meta_data": json.dumps(meta)}, headers=heidi_auth
    )

    assert attached.status_code == 200, attached.text
    [document] = attached.json()["data"]
    assert (document["filename"], document["meta_data"], document["status"]) == ("referral.pdf", meta, "READY")
    assert client.get(url, headers=heidi_auth).json()["data"] == [document]
    deleted = client.delete(url, params={"ids": [document["id"], "unknown"]}, headers=heidi_auth)
    assert deleted.status_code == 204
    assert client.get(url, headers=heidi_auth).json()["data"] == []


def test_context_documents_keep_meta_data_that_is_not_json_as_sent(
    client: TestClient, heidi_auth: dict[str, str]
) -> None:
    response = client.post(
        f"{SESSIONS}/0987654321/context-documents", files={"context_documents": PDF}, data={"meta_data": "scan"},
        headers=heidi_auth,
    )  # fmt: skip

    assert response.status_code == 200
    assert response.json()["data"][0]["meta_data"] == "scan"


@pytest.mark.parametrize("name", ["a.pdf", "b.jpg", "c.png", "d.docx", "e.doc"])
def test_context_documents_take_every_documented_file_type(
    client: TestClient, heidi_auth: dict[str, str], name: str
) -> None:
    files = {"context_documents": (name, b"synthetic", "application/octet-stream")}

    response = client.post(f"{SESSIONS}/0987654321/context-documents", files=files, headers=heidi_auth)

    assert response.status_code == 200, response.text
    assert [d["filename"] for d in response.json()["data"]] == [name]


@pytest.mark.parametrize(
    ("files", "data", "status", "error_type"),
    [
        pytest.param({"context_documents": ("notes.txt", b"x", "text/plain")}, {}, 415, "UnsupportedMediaTypeError",
                     id="text-file"),
        pytest.param({"other": PDF}, {"meta_data": "{}"}, 422, "RequestValidationError", id="no-file"),
        pytest.param({"context_documents": ("big.pdf", b"x" * 200, "application/pdf")}, {}, 413, "PayloadTooLargeError",
                     id="over-the-limit"),
    ],
)  # fmt: skip
def test_context_documents_answer_4xx_and_store_nothing_when_the_upload_is_wrong(
    make_client: MakeClient, files: dict[str, Any], data: dict[str, str], status: int, error_type: str
) -> None:
    client = make_client(credentials={"heidi": {"max_upload_bytes": 100}})
    auth = heidi_token(client)
    before = state(client, "heidi")

    response = client.post(f"{SESSIONS}/0987654321/context-documents", files=files, data=data, headers=auth)

    assert response.status_code == status, response.text
    assert response.json()["detail"]["type"] == error_type
    assert state(client, "heidi") == before


# Linked accounts


def test_linked_account_can_be_linked_checked_and_unlinked(client: TestClient, heidi_auth: dict[str, str]) -> None:
    assert client.get(f"{ACCOUNTS}/access", headers=heidi_auth).json()["is_linked"] is False

    linked = client.post(ACCOUNTS, json={"kinde_user_id": KINDE}, headers=heidi_auth)
    access = client.get(f"{ACCOUNTS}/access", headers=heidi_auth).json()
    unlinked = client.delete(f"{ACCOUNTS}:unlink", headers=heidi_auth)

    assert linked.status_code == 200
    account = linked.json()["account"]
    assert (account["user_id"], account["ehr_email"], account["deleted_at"]) == (KINDE, "test@heidihealth.com", None)
    assert (access["is_valid"], access["is_linked"], access["account"]) == (True, True, account)
    assert unlinked.json() == {"is_success": True}
    assert client.get(f"{ACCOUNTS}/access", headers=heidi_auth).json() == {
        "is_valid": True, "is_linked": False, "account": None,
    }  # fmt: skip


@pytest.mark.parametrize("second_user", [False, True], ids=["same-user-again", "account-of-another-user"])
def test_linking_twice_answers_heidis_already_linked_error(client: TestClient, second_user: bool) -> None:
    first = heidi_token(client)
    client.post(ACCOUNTS, json={"kinde_user_id": KINDE}, headers=first)
    other = first
    if second_user:  # another API user (another EHR user id) asks for the same Heidi account
        params = {"email": "other@example.com", "third_party_internal_id": "other"}
        token = client.get(f"{BASE}/jwt", params=params, headers={"Heidi-Api-Key": "mock-heidi-api-key"}).json()[
            "token"
        ]
        other = {"Authorization": f"Bearer {token}"}
    kinde = KINDE if second_user else "kp_another"

    response = client.post(ACCOUNTS, json={"kinde_user_id": kinde}, headers=other)

    assert response.status_code == 409
    assert response.json()["detail"]["type"] == "OpenAPIHeidiAccountAlreadyLinkedError"
