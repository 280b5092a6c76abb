"""Each vendor's credential checks and settings, as its row makes them: good, wrong and missing credentials,
Heidi's issued, expired and forged JWTs, and the variables that set them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from mocks.config import from_env
from mocks.http.errors import MockError
from mocks.vendors import VENDORS
from mocks.vendors.heidi.auth import issue_jwt
from tests.support.helpers import base

BY_NAME = {vendor.name: vendor for vendor in VENDORS}
HEIDI = BY_NAME["heidi"]


def checks(name: str, **given: Any) -> dict[str, Any]:
    vendor = BY_NAME[name]
    return dict(vendor.checks({**vendor.defaults(), **given}))


def refusal(check: Callable[..., Any], value: str) -> MockError:
    with pytest.raises(MockError) as raised:
        check(value)
    assert raised.value.kind == "unauthorized"
    return raised.value


@pytest.mark.parametrize(
    ("name", "scheme", "good", "claims"),
    [
        pytest.param("impilo", "apiKey", "mock-impilo-api-key", {"sub": "impilo-client"}, id="impilo-key"),
        pytest.param("heidi", "apiKey", "mock-heidi-api-key", {"sub": "heidi-vendor"}, id="heidi-key"),
        pytest.param("legit_health", "bearer", "mock-legit-health-token", {"sub": "legit-health-client"}, id="legit"),
    ],
)
def test_check_returns_claims_when_the_default_credential_is_sent(
    name: str, scheme: str, good: str, claims: dict[str, Any]
) -> None:
    assert checks(name)[scheme](good) == claims


@pytest.mark.parametrize(
    ("name", "scheme", "message", "error_type"),
    [
        pytest.param("impilo", "apiKey", "Invalid API key supplied in Impilo-API-Key header", None, id="impilo-key"),
        pytest.param("heidi", "apiKey", "Invalid Heidi-Api-Key", "InvalidApiKeyError", id="heidi-key"),
        pytest.param("legit_health", "bearer", "Invalid bearer token", None, id="legit-token"),
    ],
)
def test_check_raises_unauthorized_in_the_vendors_words_when_the_credential_is_wrong(
    name: str, scheme: str, message: str, error_type: str | None
) -> None:
    error = refusal(checks(name)[scheme], "wrong")
    assert (error.message, error.error_type) == (message, error_type)


@pytest.mark.parametrize(
    ("name", "scheme", "field"),
    [
        pytest.param("impilo", "apiKey", "api_key", id="impilo-key"),
        pytest.param("heidi", "apiKey", "api_key", id="heidi-key"),
        pytest.param("legit_health", "bearer", "token", id="legit-token"),
    ],
)
def test_check_accepts_only_the_configured_credential_when_the_default_is_replaced(
    name: str, scheme: str, field: str
) -> None:
    check = checks(name, **{field: "own-secret-1"})[scheme]
    assert check("own-secret-1")["sub"]
    refusal(check, BY_NAME[name].defaults()[field])


@pytest.mark.parametrize(
    ("name", "path", "shape"),
    [
        pytest.param("impilo", "/patient/1234", lambda b: b["status"] == 401 and b["message"], id="impilo"),
        pytest.param("heidi", "/patient-profiles", lambda b: b["detail"]["msg"], id="heidi"),
        pytest.param("legit_health", "/patients", lambda b: b["status"] == 401 and b["detail"], id="legit-health"),
    ],
)
def test_request_is_refused_401_in_the_vendors_shape_when_the_credential_is_missing(
    client: TestClient, name: str, path: str, shape: Callable[[Any], Any]
) -> None:
    response = client.get(base(name) + path)
    assert response.status_code == 401
    assert response.headers["content-type"] == BY_NAME[name].facts.error_content_type
    assert shape(response.json())


def test_heidi_bearer_check_returns_the_claims_when_the_jwt_was_issued_by_the_mock() -> None:
    credentials = HEIDI.defaults()
    token, expires = issue_jwt(credentials, "ann@example.com", "ehr-1")
    claims = checks("heidi")["bearer"](token)
    assert (claims["sub"], claims["email"], claims["exp"]) == ("ehr-1", "ann@example.com", int(expires.timestamp()))
    assert claims["exp"] - claims["iat"] == credentials["jwt_ttl_seconds"]


@pytest.mark.parametrize(
    ("token", "error_type", "message"),
    [
        pytest.param(
            lambda c: issue_jwt(c, "a@example.com", "1", now=datetime.now(UTC) - timedelta(hours=2))[0],
            "TokenExpiredError",
            "Token has expired",
            id="expired",
        ),
        pytest.param(
            lambda c: issue_jwt({**c, "jwt_secret": "another-secret-of-32-bytes-or-more"}, "a@example.com", "1")[0],
            "InvalidTokenError",
            "Invalid token: Signature verification failed",
            id="signed-with-another-secret",
        ),
        pytest.param(
            lambda c: jwt.encode({"sub": "1"}, c["jwt_secret"], algorithm="HS256"),
            "InvalidTokenError",
            'Invalid token: Token is missing the "exp" claim',
            id="without-expiry",
        ),
        pytest.param(lambda c: "not.a.jwt", "InvalidTokenError", "Invalid token: ", id="garbage"),
    ],
)
def test_heidi_bearer_check_raises_unauthorized_with_a_type_name_when_the_jwt_is_expired_or_invalid(
    token: Callable[[dict[str, Any]], str], error_type: str, message: str
) -> None:
    error = refusal(checks("heidi")["bearer"], token(HEIDI.defaults()))
    assert error.error_type == error_type and error.message.startswith(message)


@pytest.mark.parametrize("vendor", [pytest.param(v, id=v.name) for v in VENDORS])
def test_default_credentials_are_the_specs_when_the_spec_names_the_variable(vendor: Any) -> None:
    defaults = vendor.defaults()
    from_spec = {s.field: vendor.facts.credentials[s.env] for s in vendor.settings if s.env in vendor.facts.credentials}
    assert from_spec and all(defaults[field] == value for field, value in from_spec.items())


def test_from_env_reads_each_vendors_credentials_when_their_variables_are_set() -> None:
    environ = {"IMPILO_API_KEY": "k1", "HEIDI_API_KEY": "k2", "HEIDI_JWT_SECRET": "s" * 32, "HEIDI_JWT_TTL": "60",
               "HEIDI_STREAM_CHUNK_MS": "0", "HEIDI_MAX_UPLOAD_BYTES": "1024", "LEGIT_HEALTH_TOKEN": "t1"}  # fmt: skip
    config = from_env(environ=environ, vendors=VENDORS)
    assert config.credentials_for("impilo") == {"api_key": "k1"}
    assert config.credentials_for("heidi") == {"api_key": "k2", "jwt_secret": "s" * 32, "jwt_ttl_seconds": 60,
                                               "stream_chunk_ms": 0, "max_upload_bytes": 1024}  # fmt: skip
    assert config.credentials_for("legit_health") == {"token": "t1"}


def test_from_env_gives_the_defaults_when_no_credential_variable_is_set() -> None:
    config = from_env(environ={}, vendors=VENDORS)
    assert {v.name: dict(config.credentials_for(v.name)) for v in VENDORS} == {v.name: v.defaults() for v in VENDORS}


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_from_env_refuses_a_jwt_ttl_naming_the_variable_when_it_is_not_a_whole_number_of_seconds(value: str) -> None:
    with pytest.raises(ValueError, match=f"^HEIDI_JWT_TTL='{value}' is not a whole number >= 1"):
        from_env(environ={"HEIDI_JWT_TTL": value}, vendors=VENDORS)


def test_app_serves_the_configured_credentials_when_a_config_changes_one_value(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(credentials={"impilo": {"api_key": "own-key"}})
    patient = f"{base('impilo')}/patient/1234"
    assert client.get(patient, headers={"Impilo-API-Key": "own-key"}).status_code == 200
    assert client.get(patient, headers={"Impilo-API-Key": "mock-impilo-api-key"}).status_code == 401
    legit = client.get(
        f"{base('legit_health')}/patients",
        params={"externalIds[]": "a449666c710c"},
        headers={"Authorization": "Bearer mock-legit-health-token"},
    )
    assert legit.status_code == 200  # the vendors not named keep their defaults
