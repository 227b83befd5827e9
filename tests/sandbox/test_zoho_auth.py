"""Zoho accounts servers per data centre: refresh, HTTP-200 errors, api_domain binding, expiry, envelope."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoho_sandbox_support import ZohoSandbox

pytest_plugins = ["zoho_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten


def test_refresh_returns_a_token_bound_to_the_data_centres_api_domain(zoho: ZohoSandbox) -> None:
    body = zoho.login("eu")
    assert body["api_domain"] == f"{zoho.base_url}/api/eu"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert zoho.api("GET", "Leads", body, params={"fields": "Last_Name"}).status_code == 204


def test_refusals_are_http_200_with_an_error_key(zoho: ZohoSandbox) -> None:
    wrong_secret = zoho.token_response("com", client_secret="nope")
    assert (wrong_secret.status_code, wrong_secret.json()) == (200, {"error": "invalid_client_secret"})
    eu_token_at_com = zoho.token_response("com", refresh_token=zoho.endpoint.credentials["refresh_token_eu"])
    assert (eu_token_at_com.status_code, eu_token_at_com.json()) == (200, {"error": "invalid_code"})


def test_a_token_is_rejected_on_another_data_centre(zoho: ZohoSandbox) -> None:
    com = zoho.login("com")
    response = zoho.http.get(f"{zoho.base_url}/api/in/crm/v8/Leads", params={"fields": "Email"},
                             headers={"Authorization": f"Zoho-oauthtoken {com['access_token']}"})
    assert response.status_code == 401
    assert response.json() == {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token",
                               "status": "error"}


def test_tokens_expire_after_an_hour_of_sandbox_time(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    zoho.advance(3599)
    assert zoho.api("GET", "Leads", token, params={"fields": "Email"}).status_code == 204
    zoho.advance(2)
    expired = zoho.api("GET", "Leads", token, params={"fields": "Email"})
    assert (expired.status_code, expired.json()["code"]) == (401, "INVALID_TOKEN")


def test_missing_header_and_unknown_module_use_the_whole_request_envelope(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    anonymous = zoho.http.get(f"{token['api_domain']}/crm/v8/Leads", params={"fields": "Email"})
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "AUTHENTICATION_FAILURE")
    unknown = zoho.api("GET", "Potatoes", token, params={"fields": "Email"})
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["status"]) == (400, "INVALID_MODULE", "error")
