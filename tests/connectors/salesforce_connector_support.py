"""Helpers for the Salesforce connector tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

from collections.abc import Iterable

from sandbox_support import TEST_DEFAULTS, SalesforceOrgAdmin, settings_for

from crmsync.connectors.base import StreamPage

__all__ = ["TEST_DEFAULTS", "SalesforceOrgAdmin", "ids_of", "settings_for"]

def ids_of(pages: Iterable[StreamPage]) -> list[str]:
    return [record.external_id for page in pages for record in page.records]
