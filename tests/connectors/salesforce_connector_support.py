"""Helpers for the Salesforce connector tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import requests
from sandbox_support import TEST_DEFAULTS, SalesforceOrgAdmin, settings_for

from crmsync.connectors.base import StreamPage
from crmsync.connectors.salesforce import SalesforceConnector

__all__ = ["TEST_DEFAULTS", "RowsServed", "SalesforceOrgAdmin", "ids_of", "settings_for"]


def ids_of(pages: Iterable[StreamPage]) -> list[str]:
    return [record.external_id for page in pages for record in page.records]


class RowsServed:
    """Counts the rows the org sent one connector, as they crossed the wire: REST query pages (`records`) and
    Bulk 2.0 result pages (`Sforce-NumberOfRecords`). What a read costs, whatever it then delivered."""

    def __init__(self, connector: SalesforceConnector) -> None:
        self.rest = self.bulk = 0
        connector.client.http.hooks["response"].append(self._seen)

    @property
    def total(self) -> int:
        return self.rest + self.bulk

    def _seen(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        if response.status_code != 200:
            return
        if "Sforce-NumberOfRecords" in response.headers:
            self.bulk += int(response.headers["Sforce-NumberOfRecords"])
        elif "/query" in response.request.path_url and "/jobs/" not in response.request.path_url:
            self.rest += len(response.json().get("records", []))
