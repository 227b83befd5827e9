"""Fixtures for the HubSpot connector tests: the emulator fixtures (shared with tests/sandbox) and a factory of
connectors that reach it with fast, deterministic retry settings; connectors are closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from hubspot_sandbox_support import HubSpotPortalAdmin, hubspot_emulator, portal
from sandbox_support import closing_all

from crmsync.connectors.base import StreamPage
from crmsync.connectors.hubspot import HubSpotConnector, HubSpotSettings

__all__ = ["HubSpotPortalAdmin", "hubspot_emulator", "ids_of", "make_connector", "portal", "settings_for"]

TEST_DEFAULTS: dict[str, Any] = {
    "retry_initial_seconds": 0.001,
    "retry_max_seconds": 0.005,
    "rate_limit_max_wait_seconds": 0.02,
    "max_attempts": 4,
    "timeout_seconds": 10,
}


def settings_for(portal: HubSpotPortalAdmin, *, oauth: bool = False, **overrides: Any) -> HubSpotSettings:
    credentials = portal.endpoint.credentials
    auth: dict[str, Any] = {"access_token": credentials["private_app_token"]} if not oauth else {
        "client_id": credentials["client_id"], "client_secret": credentials["client_secret"],
        "refresh_token": credentials["refresh_token"]}
    return HubSpotSettings(base_url=portal.base_url, ca_bundle=portal.endpoint.ca_bundle,
                           **(auth | TEST_DEFAULTS | overrides))


def ids_of(pages: Iterable[StreamPage]) -> list[str]:
    return [record.external_id for page in pages for record in page.records]


@pytest.fixture
def make_connector(portal: HubSpotPortalAdmin) -> Iterator[Callable[..., HubSpotConnector]]:
    def make(name: str = "hs-test", oauth: bool = False, **overrides: Any) -> HubSpotConnector:
        return HubSpotConnector(settings_for(portal, oauth=oauth, **overrides), name=name)

    with closing_all(make) as tracked:
        yield tracked
