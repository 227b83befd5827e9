"""OAuth token endpoint grants and errors, session expiry, and the SDK's reaction to 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import pytest
from sandbox_support import SalesforceSandbox, error_code
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession


def test_password_grant_returns_contract_fields(sandbox: SalesforceSandbox) -> None:
    body = sandbox.login()
    assert set(body) >= {"access_token", "instance_url", "id", "token_type", "issued_at", "signature",
                         "refresh_token"}
    assert body["instance_url"] == sandbox.base_url
    assert body["token_type"] == "Bearer"
    assert body["id"].startswith(f"{sandbox.base_url}/id/00D")
    secret = sandbox.endpoint.credentials["client_secret"].encode()
    expected = hmac.new(secret, (body["id"] + body["issued_at"]).encode(), hashlib.sha256).digest()
    assert base64.b64decode(body["signature"]) == expected


def test_refresh_token_grant_issues_a_new_access_token(sandbox: SalesforceSandbox) -> None:
    first = sandbox.login()
    credentials = sandbox.endpoint.credentials
    response = sandbox.token("refresh_token", client_id=credentials["client_id"],
                             client_secret=credentials["client_secret"], refresh_token=first["refresh_token"])
    assert response.status_code == 200
    assert response.json()["access_token"] != first["access_token"]
    assert "refresh_token" not in response.json()


def test_client_credentials_grant_uses_basic_auth(sandbox: SalesforceSandbox) -> None:
    credentials = sandbox.endpoint.credentials
    basic = base64.b64encode(f"{credentials['client_id']}:{credentials['client_secret']}".encode()).decode()
    response = sandbox.http.post(f"{sandbox.base_url}/services/oauth2/token",
                                 data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200
    assert response.json()["instance_url"] == sandbox.base_url


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        ({"password": "wrong"}, "invalid_grant", "authentication failure"),
        ({"client_id": "nope"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "nope"}, "invalid_client", "invalid client credentials"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type", "grant type not supported"),
        ({"grant_type": "refresh_token", "refresh_token": "bogus"}, "invalid_grant", "expired access/refresh token"),
    ],
)
def test_token_errors(sandbox: SalesforceSandbox, form: dict[str, str], error: str, description: str) -> None:
    credentials = sandbox.endpoint.credentials
    data = {"grant_type": "password", **credentials, **form}
    response = sandbox.http.post(f"{sandbox.base_url}/services/oauth2/token", data=data)
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_unknown_token_is_401_invalid_session(sandbox: SalesforceSandbox) -> None:
    response = sandbox.rest("GET", "query", "00Dbogus!token", params={"q": "SELECT Id FROM Lead"})
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_token_expires_on_the_sandbox_clock(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0
    sandbox.admin("POST", "clock/advance", json={"seconds": 2 * 3600 + 1})  # default lifetime: 2 hours
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query("SELECT Id FROM Lead")
    assert error_code(caught.value) == "INVALID_SESSION_ID"


def test_admin_can_expire_all_tokens(sandbox: SalesforceSandbox, make_client: Callable[..., Salesforce]) -> None:
    sf = make_client()
    assert sandbox.admin("POST", "tokens/expire")["expired"] >= 1
    with pytest.raises(SalesforceExpiredSession):
        sf.Lead.describe()
    assert make_client().Lead.describe()["name"] == "Lead"  # a fresh login works again
