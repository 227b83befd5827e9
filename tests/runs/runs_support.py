"""Helpers for the sync-run tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

from typing import Any

from sandbox_support import TEST_DEFAULTS, SalesforceOrgAdmin

from crmsync.receiver.server import BackgroundServer


def connection_config(name: str, org: SalesforceOrgAdmin, objects: dict[str, str], **options: Any
                      ) -> dict[str, Any]:
    credentials = org.endpoint.credentials
    return {"name": name, "system": "salesforce", "base_url": org.base_url, "ca_bundle": org.endpoint.ca_bundle,
            "credentials": {key: credentials[key] for key in ("client_id", "client_secret", "username", "password")},
            "objects": objects, "interval_seconds": 1, "jitter_seconds": 0,
            "options": {**TEST_DEFAULTS, **options}}


ReceiverServer = BackgroundServer  # `crmsync serve`'s app on a free loopback port, in a thread


def hubspot_connection(portal: Any, name: str = "hs", objects: dict[str, str] | None = None) -> dict[str, Any]:
    """A connection to the HubSpot sandbox portal with a private-app token and the app's client secret (the
    key of its webhook signatures)."""
    credentials = portal.endpoint.credentials
    return {"name": name, "system": "hubspot", "base_url": portal.base_url, "ca_bundle": portal.endpoint.ca_bundle,
            "credentials": {"access_token": credentials["private_app_token"],
                            "client_secret": credentials["client_secret"]},
            "objects": objects or {"contacts": "both"},
            "options": {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.005, "max_attempts": 4}}
