"""Helpers for the sync-run tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

from typing import Any

from sandbox_support import TEST_DEFAULTS, SalesforceOrgAdmin


def connection_config(name: str, org: SalesforceOrgAdmin, objects: dict[str, str], **options: Any
                      ) -> dict[str, Any]:
    credentials = org.endpoint.credentials
    return {"name": name, "system": "salesforce", "base_url": org.base_url, "ca_bundle": org.endpoint.ca_bundle,
            "credentials": {key: credentials[key] for key in ("client_id", "client_secret", "username", "password")},
            "objects": objects, "interval_seconds": 1, "jitter_seconds": 0,
            "options": {**TEST_DEFAULTS, **options}}
