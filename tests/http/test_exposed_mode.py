"""A mock shared beyond loopback: the start-up refusals (admin token, own credentials, CORS origins), the
admin token on `/__mock/*`, what stays public, and what never shows the token or the credentials."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from mocks.__main__ import banner, main
from mocks.config import MockConfig, from_env
from mocks.dx.admin import credentials_table
from mocks.http.guard import exposure_refusals
from mocks.vendors import VENDORS
from tests.support.helpers import IMPILO_KEY, base

TOKEN = "t0ken-for-the-shared-mock-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
OWN_CREDENTIALS = {
    "IMPILO_API_KEY": "own-impilo-key",
    "HEIDI_API_KEY": "own-heidi-key",
    "HEIDI_JWT_SECRET": "own-heidi-jwt-secret-of-32-bytes!",
    "LEGIT_HEALTH_TOKEN": "own-legit-token",
}
SHARED_ENV = {**OWN_CREDENTIALS, "ADMIN_TOKEN": TOKEN, "CORS_ORIGINS": r"https://app\.example\.com"}
PUBLIC = ["/", "/apis.json", "/healthz", "/__mock/static/app.js", "/__mock/static/style.css"]


def shared_config(**changes: str | None) -> MockConfig:
    """The config of a mock set up to be shared (`SHARED_ENV`), with variables changed (None: unset)."""
    env = {k: v for k, v in {**SHARED_ENV, **changes}.items() if v is not None}
    return from_env(environ=env, vendors=VENDORS)


@pytest.fixture
def shared(make_client: Callable[..., TestClient]) -> TestClient:
    """A mock listening on every interface with an admin token, its own credentials and CORS origins."""
    config = shared_config().with_(listen=("0.0.0.0", 8000))
    return make_client(config=config)


# --- refusals ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unset", "reason"),
    [
        pytest.param({"ADMIN_TOKEN": None}, "set ADMIN_TOKEN", id="no-admin-token"),
        pytest.param({"IMPILO_API_KEY": None}, "IMPILO_API_KEY is the public mock default", id="default-key"),
        pytest.param({"HEIDI_JWT_SECRET": None}, "HEIDI_JWT_SECRET is the public mock default", id="default-secret"),
        pytest.param({"CORS_ORIGINS": None}, "set CORS_ORIGINS", id="no-cors-origins"),
    ],
)
def test_exposure_refusals_give_one_line_naming_the_variable_when_a_setting_is_missing(
    unset: dict[str, None], reason: str
) -> None:
    refusals = exposure_refusals("0.0.0.0", 8000, shared_config(**unset), VENDORS)
    assert len(refusals) == 1 and "\n" not in refusals[0]
    assert refusals[0].startswith("listening on 0.0.0.0:8000 reaches other machines") and reason in refusals[0]


def test_exposure_refusals_name_every_default_credential_when_none_is_set() -> None:
    config = from_env(environ={"ADMIN_TOKEN": TOKEN, "CORS_ORIGINS": "https://a.example"}, vendors=VENDORS)
    (refusal,) = exposure_refusals("192.0.2.10", 8000, config, VENDORS)
    assert "HEIDI_API_KEY, HEIDI_JWT_SECRET, IMPILO_API_KEY and LEGIT_HEALTH_TOKEN are the public" in refusal


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_exposure_refusals_are_none_when_token_credentials_and_cors_are_set(host: str) -> None:
    assert exposure_refusals(host, 8000, shared_config(), VENDORS) == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_exposure_refusals_are_none_on_loopback_with_every_default(host: str) -> None:
    assert exposure_refusals(host, 8000, MockConfig().with_defaults(VENDORS), VENDORS) == []


def test_python_m_mocks_exits_2_with_one_error_line_per_reason_when_exposed_with_defaults(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [*SHARED_ENV, "CORS_ORIGINS"]:
        monkeypatch.delenv(name, raising=False)
    assert main(["--host", "0.0.0.0", "--port", "8000"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(line.startswith("error: listening on 0.0.0.0:8000 reaches") for line in lines)
    assert ["ADMIN_TOKEN" in lines[0], "IMPILO_API_KEY" in lines[1], "CORS_ORIGINS" in lines[2]] == [True] * 3


def test_from_env_refuses_an_admin_token_shorter_than_16_characters() -> None:
    with pytest.raises(ValueError, match=r"ADMIN_TOKEN has 5 characters; use at least 16"):
        from_env(environ={"ADMIN_TOKEN": "short"}, vendors=VENDORS)


def test_config_repr_never_shows_the_admin_token() -> None:
    assert TOKEN not in repr(shared_config())


# --- the admin token ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="none-401"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, 401, id="other-scheme-401"),
        pytest.param({"Authorization": "Bearer "}, 401, id="empty-bearer-401"),
        pytest.param({"Authorization": "Bearer wrong-token-of-enough-length"}, 403, id="wrong-403"),
        pytest.param({"Authorization": f"Bearer {TOKEN}x"}, 403, id="longer-403"),
        pytest.param(BEARER, 200, id="right-200"),
        pytest.param({"authorization": f"bearer {TOKEN}"}, 200, id="any-case-scheme-200"),
    ],
)
def test_admin_state_answers_by_the_token_sent_when_admin_token_is_set(
    shared: TestClient, headers: dict[str, str], status: int
) -> None:
    response = shared.get("/__mock/state", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer <ADMIN_TOKEN>" in response.json()["message"]
    if status != 200:
        assert "patients" not in response.text


def test_every_admin_route_answers_401_without_the_token_when_admin_token_is_set(shared: TestClient) -> None:
    listed = shared.get("/__mock", headers=BEARER).json()["routes"]
    admin = [r for r in listed if r["path"].startswith("/__mock") and not r["path"].startswith("/__mock/static")]
    assert len(admin) >= 8
    for route in admin:
        path = route["path"].replace("{order_id:int}", "1")
        for method in route["methods"]:
            response = shared.request(method, path)
            assert response.status_code == 401, (method, path)


def test_admin_reset_changes_nothing_without_the_token_and_resets_with_it(shared: TestClient) -> None:
    impilo = {"Impilo-API-Key": OWN_CREDENTIALS["IMPILO_API_KEY"]}
    created = shared.post(
        f"{base('impilo')}/patient", json={"firstName": "Ada", "lastName": "Lovelace"}, headers=impilo
    )
    assert created.status_code == 201, created.text
    count = len(shared.get("/__mock/state", headers=BEARER).json()["impilo"]["patients"])
    assert shared.post("/__mock/reset").status_code == 401
    assert len(shared.get("/__mock/state", headers=BEARER).json()["impilo"]["patients"]) == count
    assert shared.post("/__mock/reset", headers=BEARER).status_code == 200
    assert len(shared.get("/__mock/state", headers=BEARER).json()["impilo"]["patients"]) == count - 1


@pytest.mark.parametrize("path", PUBLIC)
def test_public_routes_answer_without_the_token_when_admin_token_is_set(shared: TestClient, path: str) -> None:
    assert shared.get(path).status_code == 200


def test_landing_page_names_credential_variables_not_values_and_offers_a_token_field_when_shared(
    shared: TestClient,
) -> None:
    page = shared.get("/").text
    assert "Impilo-API-Key: $IMPILO_API_KEY" in page and "Bearer $LEGIT_HEALTH_TOKEN" in page
    assert all(value not in page for value in OWN_CREDENTIALS.values()) and TOKEN not in page
    assert "id='token-form'" in page.replace('"', "'") and "needs the admin token (ADMIN_TOKEN)" in page
    script = shared.get("/__mock/static/app.js").text
    assert "Authorization: `Bearer ${token}`" in script and "sessionStorage" in script


def test_vendor_calls_take_the_own_credentials_on_the_fast_path_when_shared(shared: TestClient) -> None:
    own = {"Impilo-API-Key": OWN_CREDENTIALS["IMPILO_API_KEY"]}
    before = shared.get("/__mock/summary", headers=BEARER).json()["fastPath"]["served"]
    assert shared.get(f"{base('impilo')}/patient/1234", headers=own).status_code == 200
    assert shared.get(f"{base('impilo')}/patient/1234", headers=IMPILO_KEY).status_code == 401
    assert shared.get("/__mock/summary", headers=BEARER).json()["fastPath"]["served"] == before + 1


def test_journal_never_shows_the_admin_token_or_the_credentials(shared: TestClient) -> None:
    own = {"Impilo-API-Key": OWN_CREDENTIALS["IMPILO_API_KEY"]}
    shared.post("/__mock/reset", headers=BEARER)  # (a reset empties the journal too)
    shared.get(f"{base('impilo')}/patient/1234", headers={**own, **BEARER})
    shared.get(f"{base('legit_health')}/anything", headers=BEARER)
    journal = shared.get("/__mock/requests", headers=BEARER)
    assert journal.status_code == 200 and len(journal.json()) == 2
    assert TOKEN not in journal.text and OWN_CREDENTIALS["IMPILO_API_KEY"] not in journal.text


def test_admin_routes_need_no_token_on_loopback_by_default(client: TestClient) -> None:
    assert client.get("/__mock/state").status_code == 200
    assert client.post("/__mock/reset").status_code == 200


def test_admin_routes_need_the_token_on_loopback_too_when_admin_token_is_set(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(admin_token=TOKEN, listen=("127.0.0.1", 8000))
    assert client.get("/__mock/state").status_code == 401
    assert client.get("/__mock/state", headers=BEARER).status_code == 200


def test_start_up_banner_names_variables_not_values_and_the_admin_header_when_shared() -> None:
    config = shared_config().with_defaults(VENDORS)
    text = banner("0.0.0.0", 8000, 0, credentials_table(VENDORS, config), protected=True)
    assert "Impilo-API-Key: $IMPILO_API_KEY" in text and "/__mock (Authorization: Bearer $ADMIN_TOKEN)" in text
    assert all(value not in text for value in OWN_CREDENTIALS.values())
