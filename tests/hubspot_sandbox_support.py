"""Fixtures and helpers for the HubSpot emulator and connector tests: one emulator over real HTTPS per test
module that imports them (reset before each test), its admin API, and SDK clients that trust its CA.

Import the fixtures into a test module: `from hubspot_sandbox_support import hubspot_emulator, portal`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hubspot
import pytest
import requests
from sandbox_support import SandboxHandle, running_emulator

from crmsync.sandbox import SandboxRunner

# Fast and deterministic: generous limits unless a test tightens them, quick webhook retries.
EMULATOR_OPTIONS: dict[str, Any] = {
    "search_per_second": 100_000,
    "rate_limit_per_interval": 100_000,
    "webhook_retry_initial_seconds": 0.05,
    "webhook_retry_max_seconds": 0.2,
    "webhook_max_attempts": 4,
}


@dataclass
class HubSpotPortalAdmin(SandboxHandle):
    """The running emulator: its admin API (`/__sandbox/...`), raw API calls and SDK clients."""

    runner: SandboxRunner

    @property
    def token(self) -> str:
        return self.endpoint.credentials["private_app_token"]

    @property
    def backend(self) -> Any:
        return self.runner.emulators["hubspot"].backend

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        """A raw API call, for status codes and headers the SDK hides."""
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)

    def sdk(self, access_token: str | None = None) -> hubspot.Client:
        return hubspot.Client.create(access_token=access_token or self.token, host=self.base_url,
                                     ssl_ca_cert=self.endpoint.ca_bundle)

    def create(self, object_type: str, **properties: Any) -> str:
        return str(self.admin("POST", f"records/{object_type}", json=properties)["id"])

    def update(self, object_type: str, record_id: str, **properties: Any) -> None:
        self.admin("PATCH", f"records/{object_type}/{record_id}", json=properties)

    def delete(self, object_type: str, record_id: str) -> None:
        self.admin("DELETE", f"records/{object_type}/{record_id}")

    def seed(self, object_type: str, count: int, seed: int = 7) -> None:
        self.admin("POST", "seed", json={"object": object_type, "count": count, "seed": seed})

    def link(self, from_object: str, from_id: str, to_object: str, to_id: str) -> None:
        self.admin("POST", "associations", json={"from_object": from_object, "from_id": from_id,
                                                 "to_object": to_object, "to_id": to_id})

    def merge(self, object_type: str, primary: str, merged: str) -> str:
        return str(self.admin("POST", "merge", json={"object": object_type, "primary": primary,
                                                     "merged": merged})["id"])

    def define_property(self, object_type: str, **definition: Any) -> None:
        self.admin("POST", f"properties/{object_type}", json=definition)

    def limits(self, **limits: Any) -> dict[str, Any]:
        return dict(self.admin("PUT", "rate-limits", json=limits))

    def fault(self, **spec: Any) -> None:
        self.admin("POST", "faults", json=spec)

    def advance(self, seconds: float) -> None:
        self.admin("POST", "clock/advance", json={"seconds": seconds})


@pytest.fixture(scope="module")
def hubspot_emulator() -> Iterator[HubSpotPortalAdmin]:
    with running_emulator("hubspot", EMULATOR_OPTIONS) as (runner, http):
        yield HubSpotPortalAdmin(runner.endpoints["hubspot"], http, runner)


@pytest.fixture
def portal(hubspot_emulator: HubSpotPortalAdmin) -> HubSpotPortalAdmin:
    """An empty portal: real-time clock, no faults or listeners, configured limits."""
    hubspot_emulator.admin("POST", "reset")
    return hubspot_emulator
