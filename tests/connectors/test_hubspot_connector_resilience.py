"""HubSpot connector: OAuth refresh (also through a 429), rate-limit storms, retries and error classes."""

from __future__ import annotations

import logging
from collections.abc import Callable

import hubspot_connector_support as fixtures
import pytest
from hubspot_connector_support import HubSpotPortalAdmin, ids_of

from crmsync.connectors.base import AuthenticationError, QuotaExhausted, RateLimited, TransientError
from crmsync.connectors.hubspot import HubSpotConnector

Make = Callable[..., HubSpotConnector]
SEARCH = "/crm/v3/objects/*/search"

hubspot_emulator, portal, make_connector = (  # fixtures used by name
    fixtures.hubspot_emulator, fixtures.portal, fixtures.make_connector)


def test_an_expired_oauth_token_is_refreshed_and_the_call_replayed(portal: HubSpotPortalAdmin,
                                                                  make_connector: Make) -> None:
    contact = portal.create("contacts", email="o@example.com")
    connector = make_connector(oauth=True)
    assert ids_of(connector.read("contacts", None)) == [contact] and connector.client.tokens.refreshes == 1
    portal.advance(1801)  # 30-minute tokens, on the sandbox clock
    assert ids_of(connector.read("contacts", None)) == [contact]
    assert connector.client.tokens.refreshes == 2


def test_a_429_on_the_token_endpoint_delays_but_does_not_fail_the_run(portal: HubSpotPortalAdmin,
                                                                     make_connector: Make) -> None:
    contact = portal.create("contacts", email="r@example.com")
    portal.fault(kind="rate_limited", path="/oauth/v1/token", count=2)
    connector = make_connector(oauth=True)
    assert ids_of(connector.read("contacts", None)) == [contact]
    assert connector.client.tokens.refreshes == 1


def test_a_refused_refresh_token_is_an_authentication_error_without_secrets(
        portal: HubSpotPortalAdmin, make_connector: Make, caplog: pytest.LogCaptureFixture) -> None:
    connector = make_connector(oauth=True, refresh_token="wrong-refresh-token-123")
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as refused:
        list(connector.read("contacts", None))
    seen = " ".join([str(refused.value), caplog.text, repr(connector.settings)])
    for secret in ("wrong-refresh-token-123", portal.endpoint.credentials["client_secret"]):
        assert secret not in seen


def test_a_rate_limit_storm_delays_but_loses_nothing(portal: HubSpotPortalAdmin, make_connector: Make) -> None:
    portal.seed("companies", 120)
    connector = make_connector(list_page_size=10, search_page_size=10, max_attempts=8)
    portal.limits(per_interval=6, interval_seconds=0.05, search_per_second=1000)  # the real window, tightened
    portal.fault(kind="rate_limited", path=SEARCH, count=3)
    ids = ids_of(connector.read("companies", None))
    assert len(ids) == 120 == len(set(ids))
    assert connector.client.rate_limited >= 3


def test_server_errors_are_retried_then_surface_as_transient(portal: HubSpotPortalAdmin,
                                                             make_connector: Make) -> None:
    portal.create("deals", dealname="D")
    connector = make_connector()
    portal.fault(kind="server_error", path="/crm/v3/objects/deals", count=2)
    assert len(ids_of(connector.read("deals", None))) == 1
    portal.fault(kind="server_error", path="/crm/v3/objects/deals", count=None)
    with pytest.raises(TransientError) as failed:
        list(make_connector(name="other").read("deals", None))
    assert not isinstance(failed.value, RateLimited) and "HTTP 502" in str(failed.value)


def test_a_bad_private_app_token_and_the_daily_limit(portal: HubSpotPortalAdmin, make_connector: Make) -> None:
    with pytest.raises(AuthenticationError, match="private-app token was refused"):
        list(make_connector(access_token="pat-wrong").read("contacts", None))
    portal.admin("PUT", "quota", json={"daily_limit": 1, "used": 1})
    with pytest.raises(QuotaExhausted) as spent:
        list(make_connector().read("contacts", None))
    assert spent.value.resume_at is not None
