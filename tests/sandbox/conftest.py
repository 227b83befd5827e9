"""Fixtures: one Salesforce emulator over real HTTPS for the whole session, reset before each test.

Tests drive it through simple-salesforce the way the connector will: OAuth against the emulator's token
endpoint with `requests`, then `Salesforce(instance_url=..., session_id=..., session=<verified session>)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from sandbox_support import API_VERSION, SalesforceSandbox, running_emulator
from simple_salesforce import Salesforce

SALESFORCE_OPTIONS = {
    "outbound_retry_initial_seconds": 0.05,
    "outbound_retry_max_seconds": 0.2,
    "bulk_polls_until_complete": 2,
}


@pytest.fixture(scope="session")
def salesforce_sandbox() -> Iterator[SalesforceSandbox]:
    """The Salesforce emulator on a free loopback port with a throw-away CA, for the whole test session."""
    with running_emulator("salesforce", SALESFORCE_OPTIONS) as (runner, http):
        yield SalesforceSandbox(runner.endpoints["salesforce"], http)


@pytest.fixture
def sandbox(salesforce_sandbox: SalesforceSandbox) -> SalesforceSandbox:
    """The emulator with an empty org, real-time clock and no faults, listeners or custom fields."""
    salesforce_sandbox.admin("POST", "reset")
    salesforce_sandbox.admin("PUT", "bulk", json={"mode": "available"})
    return salesforce_sandbox


@pytest.fixture
def make_client(sandbox: SalesforceSandbox) -> Iterator[Callable[..., Salesforce]]:
    """Build simple-salesforce clients with fresh tokens; their sessions are closed after the test."""
    sessions: list[requests.Session] = []

    def make(version: str = API_VERSION, token: str | None = None) -> Salesforce:
        session = sandbox.endpoint.requests_session()
        sessions.append(session)
        auth = sandbox.login() if token is None else {"access_token": token, "instance_url": sandbox.base_url}
        return Salesforce(instance_url=auth["instance_url"], session_id=auth["access_token"], version=version,
                          session=session)

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def sf(make_client: Callable[..., Salesforce]) -> Salesforce:
    """A simple-salesforce client logged in to an empty sandbox org."""
    return make_client()
