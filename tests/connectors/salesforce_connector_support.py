"""Helpers for the Salesforce connector tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox_support import SalesforceSandbox

from crmsync.connectors.base import StreamPage
from crmsync.connectors.salesforce import SalesforceSettings

# Fast and deterministic: tiny backoffs, no Bulk unless a test asks, no lookback unless a test asks.
TEST_DEFAULTS: dict[str, Any] = {
    "retry_initial_seconds": 0.001,
    "retry_max_seconds": 0.005,
    "max_attempts": 3,
    "bulk_threshold": None,
    "bulk_poll_seconds": 0,
    "lookback_seconds": 0,
    "timeout_seconds": 10,
}


class SalesforceOrgAdmin(SalesforceSandbox):
    """The running emulator's admin API (`/__sandbox/...`): plays the users and the platform of the org."""

    def create(self, object_name: str, **fields: Any) -> str:
        return str(self.admin("POST", f"records/{object_name}", json=fields)["Id"])

    def update(self, object_name: str, record_id: str, **fields: Any) -> None:
        self.admin("PATCH", f"records/{object_name}/{record_id}", json=fields)

    def seed(self, object_name: str, count: int, seed: int = 7) -> None:
        self.admin("POST", "seed", json={"object": object_name, "count": count, "seed": seed})

    def records(self, object_name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"records/{object_name}", params={"include_deleted": include_deleted}))

    def usage(self) -> dict[str, int]:
        """{"daily_limit", "used"} without changing either."""
        return dict(self.admin("PUT", "quota", json={}))

    def advance(self, seconds: float) -> None:
        self.admin("POST", "clock/advance", json={"seconds": seconds})

    def fault(self, **spec: Any) -> None:
        self.admin("POST", "faults", json=spec)


def ids_of(pages: Iterable[StreamPage]) -> list[str]:
    return [record.external_id for page in pages for record in page.records]


def settings_for(org: SalesforceOrgAdmin, **overrides: Any) -> SalesforceSettings:
    """Settings that log in to the emulator with its password-grant credentials and trust its CA."""
    credentials = org.endpoint.credentials
    values: dict[str, Any] = {
        "login_url": org.base_url,
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "username": credentials["username"],
        "password": credentials["password"],
        "ca_bundle": org.endpoint.ca_bundle,
        **TEST_DEFAULTS,
        **overrides,
    }
    return SalesforceSettings(**values)
