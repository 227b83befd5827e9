"""Write-back through sObject Collections, 200 rows a call, one WriteResult per item in input order.

Items Salesforce has not seen are upserted on the external-id field (`crmsync_id__c` = canonical id), so a
replayed push updates instead of duplicating. Items that already have a Salesforce Id (records that came
from Salesforce) are updated by Id and get the external id stamped, because an upsert on the external id
alone would create a second copy of them. allOrNone is off: one bad row never fails its neighbours.

An upsert can land on a record that exists already (a push replayed after a crash lost its result); Salesforce
then refuses fields that can be set only on create (Task.TaskSubtype). Such rows are sent once more without
those fields: the first push set them.

Deletes (`WriteItem.delete`) go through `DELETE /composite/sobjects?ids=...`, 200 ids a call, into the recycle
bin; a record that is already gone (in the bin, purged, never there) counts as deleted. An item with no
Salesforce Id is looked up by its external id first (its push may have landed without us learning the Id).

A row the org refuses because of its own data (a duplicate rule, a unique field another record already holds)
is `held`, not failed: the engine keeps it with the reason until the record changes. A clash the org reports
on crmsync's own external id is not the org's data but two Salesforce records claiming one canonical record,
so it fails (Salesforce often leaves `fields` empty on DUPLICATE_VALUE; such a row is held).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from simple_salesforce import format_soql

from crmsync.connectors.base import ConnectorError, WriteItem, WriteResult
from crmsync.connectors.salesforce.client import SalesforceClient

# Row failures worth retrying later; everything else (validation, duplicates, bad ids) needs a human.
RETRYABLE_ROW_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE",
                                 "ALL_OR_NONE_OPERATION_ROLLED_BACK"})
NOT_WRITABLE_KEYS = frozenset({"Id", "attributes"})
NOT_UPDATEABLE_CODE = "INVALID_FIELD_FOR_INSERT_UPDATE"
# Refusals because of the org's data, not our payload: held until the record changes.
ORG_DATA_CODES = frozenset({"DUPLICATES_DETECTED", "DUPLICATE_VALUE"})
# What deleting a record that is no longer there answers: it counts as deleted.
ALREADY_GONE_CODES = frozenset({"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"})
Indexed = list[tuple[int, WriteItem]]


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # Salesforce number/currency fields take JSON numbers
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_errors(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [e for e in row.get("errors") or [] if isinstance(e, Mapping)]


def row_result(item: WriteItem, row: Mapping[str, Any], external_id_field: str) -> WriteResult:
    """One collection row (`statusCode`, not `errorCode`, in its errors) → WriteResult."""
    if row.get("success"):
        return WriteResult(item.canonical_id, ok=True, external_id=row.get("id") or item.external_id,
                           created=bool(row.get("created", False)))
    errors = row_errors(row)
    message = "; ".join(f"{e.get('statusCode', 'UNKNOWN')}: {e.get('message', '')}" for e in errors)
    held = bool(errors) and all(e.get("statusCode") in ORG_DATA_CODES
                                and external_id_field not in (e.get("fields") or ()) for e in errors)
    return WriteResult(item.canonical_id, ok=False, external_id=item.external_id, error=message or "UNKNOWN: no error",
                       retryable=any(e.get("statusCode") in RETRYABLE_ROW_CODES for e in errors), held=held)


def delete_result(item: WriteItem, record_id: str, row: Mapping[str, Any], external_id_field: str) -> WriteResult:
    errors = row_errors(row)
    if row.get("success") or (errors and all(e.get("statusCode") in ALREADY_GONE_CODES for e in errors)):
        return WriteResult(item.canonical_id, ok=True, external_id=record_id)
    return row_result(WriteItem(item.canonical_id, {}, record_id, delete=True), row, external_id_field)


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
        writes = [(index, item) for index, item in enumerate(items) if not item.delete]
        new = [(index, item) for index, item in writes if item.external_id is None]
        known = [(index, item) for index, item in writes if item.external_id is not None]
        upsert = f"composite/sobjects/{stream}/{self.external_id_field}"
        again = self._send(stream, new, upsert, results)
        if again:
            self._send(stream, again, upsert, results)
        self._send(stream, known, "composite/sobjects", results)
        self._delete(stream, [(index, item) for index, item in enumerate(items) if item.delete], results)
        return [results[index] for index in range(len(items))]

    def _delete(self, stream: str, indexed: Indexed, results: dict[int, WriteResult]) -> None:
        found = self._ids_by_external_id(stream, [item.canonical_id for _, item in indexed if item.external_id is None])
        targets: list[tuple[int, WriteItem, str]] = []
        for index, item in indexed:
            record_id = item.external_id or found.get(item.canonical_id)
            if record_id is None:  # never reached this org: nothing to delete
                results[index] = WriteResult(item.canonical_id, ok=True)
            else:
                targets.append((index, item, record_id))
        for offset in range(0, len(targets), self.batch_size):
            batch = targets[offset : offset + self.batch_size]
            params = {"ids": ",".join(record_id for _, _, record_id in batch), "allOrNone": "false"}
            rows = self._checked(self.client.rest("composite/sobjects", method="DELETE", params=params),
                                 "DELETE composite/sobjects", len(batch))
            for (index, item, record_id), row in zip(batch, rows, strict=True):
                results[index] = delete_result(item, record_id, row, self.external_id_field)

    def _ids_by_external_id(self, stream: str, canonical_ids: list[str]) -> dict[str, str]:
        """Salesforce Id of each live record whose external-id field holds one of `canonical_ids`."""
        found: dict[str, str] = {}
        field = self.external_id_field
        for offset in range(0, len(canonical_ids), self.batch_size):
            chunk = canonical_ids[offset : offset + self.batch_size]
            soql = format_soql(f"SELECT Id, {field} FROM {stream} WHERE {field} IN {{}} ORDER BY Id", chunk)
            with self.client.errors(f"looking up {stream} to delete by {field}"):
                rows = self.client.sf.query_all(soql)["records"]
            for row in rows:
                found.setdefault(str(row[field]), str(row["Id"]))
        return found

    def _checked(self, rows: Any, call: str, expected: int) -> list[Mapping[str, Any]]:
        if not isinstance(rows, list) or len(rows) != expected:
            raise ConnectorError(f"salesforce {self.client.connection}: {call} answered "
                                 f"{len(rows) if isinstance(rows, list) else type(rows).__name__} results "
                                 f"for {expected} rows")
        return rows

    def _create_only(self, stream: str) -> frozenset[str]:
        fields = self.client.describe(stream)["fields"]
        return frozenset(f["name"] for f in fields if f.get("createable") and not f.get("updateable"))

    def _send(self, stream: str, indexed: Indexed, path: str, results: dict[int, WriteResult]) -> Indexed:
        """Write the rows; returns upserts that met an existing record, without the create-only fields it refused."""
        again: Indexed = []
        for offset in range(0, len(indexed), self.batch_size):
            batch = indexed[offset : offset + self.batch_size]
            body = {"allOrNone": False, "records": [self._row(stream, item) for _, item in batch]}
            rows = self._checked(self.client.rest(path, method="PATCH", json=body), f"PATCH {path}", len(batch))
            for (index, item), row in zip(batch, rows, strict=True):
                results[index] = row_result(item, row, self.external_id_field)
                refused = refused_fields(row) if item.external_id is None else frozenset()
                if refused and refused <= self._create_only(stream) and refused & set(item.payload):
                    payload = {key: value for key, value in item.payload.items() if key not in refused}
                    again.append((index, WriteItem(item.canonical_id, payload, item.external_id)))
        return again
