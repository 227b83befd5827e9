"""Fixtures for the Zoho emulator and connector tests, loaded with `pytest_plugins = ["zoho_sandbox_support"]`
(a plugin is registered once, so the session-scoped emulator is shared by every module that asks for it).

Clients talk to the emulator over real HTTPS with the sandbox CA: raw `requests` for wire-level checks, and
the connector's own client (a thin `requests` client; see crmsync/connectors/zoho/client.py for why not the SDK).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sandbox_support import SandboxHandle, closing_all, running_emulator

from crmsync.connectors.zoho import ZohoConnector, ZohoSettings

ZOHO_OPTIONS = {"concurrency_limit": 10}
# Fast and deterministic: tiny backoffs, few attempts.
CONNECTOR_TEST_DEFAULTS: dict[str, Any] = {
    "retry_initial_seconds": 0.001,
    "retry_max_seconds": 0.005,
    "max_attempts": 3,
    "timeout_seconds": 10,
}


@dataclass
class ZohoSandbox(SandboxHandle):
    """The running emulator plus helpers for its admin API and raw API calls."""

    def seed(self, module: str, count: int, seed: int = 7) -> None:
        self.admin("POST", "seed", json={"object": module, "count": count, "seed": seed})

    def create(self, module: str, **fields: Any) -> str:
        return str(self.admin("POST", f"records/{module}", json=fields)["id"])

    def update(self, module: str, record_id: str, **fields: Any) -> None:
        self.admin("PATCH", f"records/{module}/{record_id}", json=fields)

    def delete(self, module: str, record_id: str) -> None:
        self.admin("DELETE", f"records/{module}/{record_id}")

    def records(self, module: str) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"records/{module}"))

    def advance(self, seconds: float) -> None:
        self.admin("POST", "clock/advance", json={"seconds": seconds})

    def fault(self, **spec: Any) -> None:
        self.admin("POST", "faults", json=spec)

    def token_response(self, dc: str = "com", **overrides: str) -> requests.Response:
        credentials = self.endpoint.credentials
        form = {"grant_type": "refresh_token", "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"], "refresh_token": credentials[f"refresh_token_{dc}"],
                **overrides}
        return self.http.post(f"{credentials[f'accounts_url_{dc}']}/oauth/v2/token", data=form)

    def login(self, dc: str = "com") -> dict[str, Any]:
        body = self.token_response(dc).json()
        assert "access_token" in body, body
        return dict(body)

    def api(self, method: str, path: str, token: dict[str, Any], **kwargs: Any) -> requests.Response:
        """A raw v8 call on the token's own api_domain, for asserting on statuses and headers."""
        headers = {"Authorization": f"Zoho-oauthtoken {token['access_token']}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"{token['api_domain']}/crm/v8/{path}", headers=headers, **kwargs)


@pytest.fixture(scope="session")
def zoho_emulator() -> Iterator[ZohoSandbox]:
    with running_emulator("zoho", ZOHO_OPTIONS) as (runner, http):
        yield ZohoSandbox(runner.endpoints["zoho"], http)


@pytest.fixture
def zoho(zoho_emulator: ZohoSandbox) -> ZohoSandbox:
    """Empty orgs in every data centre, real-time clock, no faults or channels, full credits."""
    zoho_emulator.admin("POST", "reset")
    zoho_emulator.admin("PUT", "zoho/concurrency", json={"limit": ZOHO_OPTIONS["concurrency_limit"]})
    return zoho_emulator


def zoho_settings(sandbox: ZohoSandbox, dc: str = "com", **overrides: Any) -> ZohoSettings:
    credentials = sandbox.endpoint.credentials
    values: dict[str, Any] = {
        "dc": dc, "accounts_url": credentials[f"accounts_url_{dc}"], "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"], "refresh_token": credentials[f"refresh_token_{dc}"],
        "ca_bundle": sandbox.endpoint.ca_bundle, **CONNECTOR_TEST_DEFAULTS, **overrides,
    }
    return ZohoSettings(**values)


@pytest.fixture
def make_zoho_connector(zoho: ZohoSandbox) -> Iterator[Callable[..., ZohoConnector]]:
    def make(name: str = "zoho-test", dc: str = "com", **overrides: Any) -> ZohoConnector:
        return ZohoConnector(zoho_settings(zoho, dc, **overrides), name=name)

    with closing_all(make) as tracked:
        yield tracked
