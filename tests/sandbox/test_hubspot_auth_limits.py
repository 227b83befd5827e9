"""HubSpot emulator: private-app and OAuth tokens, rate-limit windows and headers, faults."""

from __future__ import annotations

import hubspot_sandbox_support as fixtures
import pytest
from hubspot.crm.objects import ApiException
from hubspot_sandbox_support import HubSpotPortalAdmin

hubspot_emulator, portal = fixtures.hubspot_emulator, fixtures.portal  # fixtures used by name


def _refresh(portal: HubSpotPortalAdmin, **overrides: str) -> object:
    credentials = portal.endpoint.credentials
    form = {"grant_type": "refresh_token", "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"], "refresh_token": credentials["refresh_token"], **overrides}
    return portal.sdk().oauth.tokens_api.create(**form)


def test_oauth_tokens_last_thirty_minutes_of_sandbox_time(portal: HubSpotPortalAdmin) -> None:
    token = _refresh(portal)
    assert token.expires_in == 1800 and token.token_type == "bearer"
    assert portal.api("GET", "/crm/v3/objects/contacts", token=token.access_token).status_code == 200
    portal.advance(1801)
    expired = portal.api("GET", "/crm/v3/objects/contacts", token=token.access_token)
    assert expired.status_code == 401 and expired.json()["category"] == "EXPIRED_AUTHENTICATION"
    bad = portal.api("GET", "/crm/v3/objects/contacts", token="nope")
    assert bad.status_code == 401 and bad.json()["category"] == "INVALID_AUTHENTICATION"
    assert portal.api("GET", "/crm/v3/objects/contacts").status_code == 200  # private-app tokens never expire


def test_a_wrong_refresh_token_is_refused(portal: HubSpotPortalAdmin) -> None:
    from hubspot.oauth import ApiException as OAuthApiException

    with pytest.raises(OAuthApiException) as refused:
        _refresh(portal, refresh_token="wrong")
    assert refused.value.status == 400 and b"BAD_REFRESH_TOKEN" in refused.value.body.encode()


def test_ten_second_window_headers_and_429_policy(portal: HubSpotPortalAdmin) -> None:
    portal.limits(per_interval=3, interval_seconds=0.4)
    first = portal.api("GET", "/crm/v3/objects/contacts")
    assert first.headers["X-HubSpot-RateLimit-Max"] == "3" and first.headers["X-HubSpot-RateLimit-Remaining"] == "2"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "400"
    assert "X-HubSpot-RateLimit-Daily-Remaining" in first.headers
    portal.api("GET", "/crm/v3/objects/contacts")
    portal.api("GET", "/crm/v3/objects/contacts")
    refused = portal.api("GET", "/crm/v3/objects/contacts")
    body = refused.json()
    assert refused.status_code == 429 and body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["category"] == "RATE_LIMITS" and body["errorType"] == "RATE_LIMIT" and body["correlationId"]


def test_search_has_its_own_secondly_limit_without_headers(portal: HubSpotPortalAdmin) -> None:
    portal.limits(search_per_second=2)
    answers = [portal.api("POST", "/crm/v3/objects/contacts/search", json={}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["policyName"] == "SECONDLY"
    assert not any(h.startswith("X-HubSpot-RateLimit") for h in answers[0].headers)


def test_daily_limit_is_a_429_daily(portal: HubSpotPortalAdmin) -> None:
    portal.admin("PUT", "quota", json={"daily_limit": 5, "used": 5})
    refused = portal.api("GET", "/crm/v3/objects/deals")
    assert refused.status_code == 429 and refused.json()["policyName"] == "DAILY"


def test_injected_faults_have_hubspots_shape(portal: HubSpotPortalAdmin) -> None:
    portal.fault(kind="server_error", path="/crm/v3/objects/contacts", count=1)
    with pytest.raises(ApiException) as failed:
        portal.sdk().crm.objects.basic_api.get_page("contacts")
    assert failed.value.status == 502
    assert portal.sdk().crm.objects.basic_api.get_page("contacts").results == []
