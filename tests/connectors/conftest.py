"""Fixtures: one Salesforce emulator over real HTTPS for the connector tests, reset before each test, and a
factory of connectors logged in to it (closed after the test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from salesforce_connector_support import SalesforceOrgAdmin, settings_for
from sandbox_support import closing_all, running_emulator

from crmsync.connectors.salesforce import SalesforceConnector

EMULATOR_OPTIONS = {
    "outbound_retry_initial_seconds": 0.05,
    "outbound_retry_max_seconds": 0.2,
    "bulk_polls_until_complete": 2,
}


@pytest.fixture(scope="session")
def salesforce_emulator() -> Iterator[SalesforceOrgAdmin]:
    with running_emulator("salesforce", EMULATOR_OPTIONS) as (runner, http):
        yield SalesforceOrgAdmin(runner.endpoints["salesforce"], http)


@pytest.fixture
def org(salesforce_emulator: SalesforceOrgAdmin) -> SalesforceOrgAdmin:
    """An empty org: real-time clock, no faults or listeners, usage 0, Bulk available."""
    salesforce_emulator.admin("POST", "reset")
    salesforce_emulator.admin("PUT", "bulk", json={"mode": "available"})
    return salesforce_emulator


@pytest.fixture
def make_connector(org: SalesforceOrgAdmin) -> Iterator[Callable[..., SalesforceConnector]]:
    def make(name: str = "sf-test", **overrides: Any) -> SalesforceConnector:
        return SalesforceConnector(settings_for(org, **overrides), name=name)

    with closing_all(make) as tracked:
        yield tracked


@pytest.fixture
def connector(make_connector: Callable[..., SalesforceConnector]) -> SalesforceConnector:
    return make_connector(page_size=200)
