"""Write-back through sObject Collections, 200 rows a call, one WriteResult per item in input order.

Items Salesforce has not seen are upserted on the external-id field (`crmsync_id__c` = canonical id), so a
replayed push updates instead of duplicating. Items that already have a Salesforce Id (records that came
from Salesforce) are updated by Id and get the external id stamped, because an upsert on the external id
alone would create a second copy of them. allOrNone is off: one bad row never fails its neighbours.

An upsert can land on a record that exists already (a push replayed after a crash lost its result); Salesforce
then refuses fields that can be set only on create (Task.TaskSubtype). Such rows are sent once more without
those fields: the first push set them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crmsync.connectors.base import ConnectorError, WriteItem, WriteResult
from crmsync.connectors.salesforce.client import SalesforceClient

# Row failures worth retrying later; everything else (validation, duplicates, bad ids) needs a human.
RETRYABLE_ROW_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE",
                                 "ALL_OR_NONE_OPERATION_ROLLED_BACK"})
NOT_WRITABLE_KEYS = frozenset({"Id", "attributes"})
NOT_UPDATEABLE_CODE = "INVALID_FIELD_FOR_INSERT_UPDATE"


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # Salesforce number/currency fields take JSON numbers
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_result(item: WriteItem, row: Mapping[str, Any]) -> WriteResult:
    """One collection row (`statusCode`, not `errorCode`, in its errors) → WriteResult."""
    if row.get("success"):
        return WriteResult(item.canonical_id, ok=True, external_id=row.get("id") or item.external_id,
                           created=bool(row.get("created", False)))
    errors = [e for e in row.get("errors") or [] if isinstance(e, Mapping)]
    message = "; ".join(f"{e.get('statusCode', 'UNKNOWN')}: {e.get('message', '')}" for e in errors)
    return WriteResult(item.canonical_id, ok=False, external_id=item.external_id, error=message or "UNKNOWN: no error",
                       retryable=any(e.get("statusCode") in RETRYABLE_ROW_CODES for e in errors))


def refused_fields(row: Mapping[str, Any]) -> frozenset[str]:
    """The fields a failed row names when "cannot create/update these fields" is its only error."""
    errors = [e for e in row.get("errors") or [] if isinstance(e, Mapping)]
    if row.get("success") or not errors or any(e.get("statusCode") != NOT_UPDATEABLE_CODE for e in errors):
        return frozenset()
    return frozenset(str(name) for e in errors for name in e.get("fields") or [])


class SalesforceWriter:
    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self.external_id_field = client.settings.external_id_field
        self.batch_size = client.settings.write_batch_size

    def _row(self, stream: str, item: WriteItem) -> dict[str, Any]:
        fields = {key: _json_value(value) for key, value in item.payload.items() if key not in NOT_WRITABLE_KEYS}
        row = {"attributes": {"type": stream}, **fields, self.external_id_field: item.canonical_id}
        if item.external_id is not None:
            row["id"] = item.external_id
        return row

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        new = [(index, item) for index, item in enumerate(items) if item.external_id is None]
        known = [(index, item) for index, item in enumerate(items) if item.external_id is not None]
        upsert = f"composite/sobjects/{stream}/{self.external_id_field}"
        again = self._send(stream, new, upsert, results)
        if again:
            self._send(stream, again, upsert, results)
        self._send(stream, known, "composite/sobjects", results)
        return [results[index] for index in range(len(items))]

    def _create_only(self, stream: str) -> frozenset[str]:
        fields = self.client.describe(stream)["fields"]
        return frozenset(f["name"] for f in fields if f.get("createable") and not f.get("updateable"))

    def _send(self, stream: str, indexed: list[tuple[int, WriteItem]], path: str,
              results: dict[int, WriteResult]) -> list[tuple[int, WriteItem]]:
        """Write the rows; returns upserts that met an existing record, without the create-only fields it refused."""
        again: list[tuple[int, WriteItem]] = []
        for offset in range(0, len(indexed), self.batch_size):
            batch = indexed[offset : offset + self.batch_size]
            body = {"allOrNone": False, "records": [self._row(stream, item) for _, item in batch]}
            rows = self.client.rest(path, method="PATCH", json=body)
            if not isinstance(rows, list) or len(rows) != len(batch):
                raise ConnectorError(f"salesforce {self.client.connection}: PATCH {path} answered "
                                     f"{len(rows) if isinstance(rows, list) else type(rows).__name__} results "
                                     f"for {len(batch)} rows")
            for (index, item), row in zip(batch, rows, strict=True):
                results[index] = row_result(item, row)
                refused = refused_fields(row) if item.external_id is None else frozenset()
                if refused and refused <= self._create_only(stream) and refused & set(item.payload):
                    payload = {key: value for key, value in item.payload.items() if key not in refused}
                    again.append((index, WriteItem(item.canonical_id, payload, item.external_id)))
        return again
