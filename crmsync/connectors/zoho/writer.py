"""Write-back by upsert (`POST /{Module}/upsert`), 100 rows a call, one WriteResult per item in input order;
delete items go to `DELETE /{Module}?ids=` (100 ids a call) in the same `write`.

Rows carry the canonical id in the external-id field (`crmsync_id`, a custom field with "do not allow
duplicate values") and `duplicate_check_fields` names it, so a replayed push updates instead of duplicating.
Items that already have a Zoho id (records that came from Zoho) send it as `id`, which Zoho updates directly.
Each row succeeds or fails on its own: success rows are reported as such even when others in the batch fail.
A DUPLICATE_DATA row (another Zoho record already has a value Zoho keeps unique, an account's name say) is
held, not failed: our payload is fine, the org's data is in the way, and the reason names both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crmsync.connectors.base import ConnectorError, WriteItem, WriteResult
from crmsync.connectors.zoho.client import ZohoClient, body_of

# Row failures worth retrying later; validation, duplicates and bad ids need a person.
RETRYABLE_ROW_CODES = frozenset({"INTERNAL_ERROR", "LOCKED_RECORD", "RECORD_LOCKED", "TOO_MANY_REQUESTS"})
READ_ONLY_KEYS = frozenset({"id", "Created_Time", "Modified_Time", "Created_By", "Modified_By"})


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # Zoho currency/decimal fields take JSON numbers
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def zoho_row(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Flat mapping output → Zoho JSON: `Account_Name.id` becomes the lookup object `{"id": ...}`."""
    row: dict[str, Any] = {}
    for key, value in payload.items():
        head, _, tail = key.partition(".")
        if head in READ_ONLY_KEYS:
            continue
        if tail:
            row.setdefault(head, {})[tail] = json_value(value)
        else:
            row[key] = json_value(value)
    return row


def row_result(item: WriteItem, row: Mapping[str, Any], module: str, sent: Mapping[str, Any]) -> WriteResult:
    if row.get("status") == "success":
        details = row.get("details") or {}
        return WriteResult(item.canonical_id, ok=True, external_id=str(details.get("id") or item.external_id),
                           created=row.get("action") == "insert")
    code, details = str(row.get("code", "UNKNOWN")), row.get("details") or {}
    details = details if isinstance(details, Mapping) else {}
    if code == "DUPLICATE_DATA":
        return WriteResult(item.canonical_id, ok=False, external_id=item.external_id, held=True,
                           error=duplicate_reason(module, details, sent))
    field = f" (field {details['api_name']})" if details.get("api_name") else ""
    return WriteResult(item.canonical_id, ok=False, external_id=item.external_id,
                       error=f"{code}: {row.get('message', '')}{field}", retryable=code in RETRYABLE_ROW_CODES)


def duplicate_reason(module: str, details: Mapping[str, Any], sent: Mapping[str, Any]) -> str:
    """Which field, which value and which existing record: what a person needs to sort it out."""
    name = str(details.get("api_name") or "a unique field")
    duplicate = details.get("duplicate_record") if isinstance(details.get("duplicate_record"), Mapping) else {}
    other = duplicate.get("id")
    where = f"Zoho {module} record {other}" if other else f"another Zoho {module} record"
    return (f"DUPLICATE_DATA: {where} already has {name} = {sent.get(name)!r}, and Zoho allows no duplicates of "
            f"{name}; rename one of the two or merge them (in Zoho or crmsync), then the next change of this record "
            "is pushed again")


class ZohoWriter:
    def __init__(self, client: ZohoClient) -> None:
        self.client = client
        self.external_id_field = client.settings.external_id_field
        self.batch_size = client.settings.write_batch_size

    def _row(self, item: WriteItem) -> dict[str, Any]:
        row = {**zoho_row(item.payload), self.external_id_field: item.canonical_id}
        if item.external_id is not None:
            row["id"] = item.external_id
        return row

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        deletes = [(index, item) for index, item in enumerate(items) if item.delete]
        upserts = [(index, item) for index, item in enumerate(items) if not item.delete]
        for offset in range(0, len(deletes), self.batch_size):
            self._delete(stream, deletes[offset : offset + self.batch_size], results)
        for offset in range(0, len(upserts), self.batch_size):
            self._upsert(stream, upserts[offset : offset + self.batch_size], results)
        return [results[index] for index in range(len(items))]

    def _upsert(self, stream: str, batch: list[tuple[int, WriteItem]], results: dict[int, WriteResult]) -> None:
        sent = [self._row(item) for _, item in batch]
        body = {"data": sent, "duplicate_check_fields": [self.external_id_field], "trigger": []}
        answer = body_of(self.client.call("POST", f"{stream}/upsert", json=body))
        rows = answer.get("data") if isinstance(answer, Mapping) else None
        if not isinstance(rows, list) or len(rows) != len(batch):
            raise ConnectorError(f"zoho {self.client.connection}: upsert into {stream} answered "
                                 f"{len(rows) if isinstance(rows, list) else 'no'} rows for {len(batch)} records")
        for (index, item), row, payload in zip(batch, rows, sent, strict=True):
            results[index] = row_result(item, row, stream, payload)

    def _delete(self, stream: str, batch: list[tuple[int, WriteItem]], results: dict[int, WriteResult]) -> None:
        """Move records to the recycle bin; an id Zoho no longer has (INVALID_DATA) is already deleted."""
        targets = []
        for index, item in batch:
            if item.external_id is None:  # never written to this org: nothing to delete
                results[index] = WriteResult(item.canonical_id, ok=True)
            else:
                targets.append((index, item))
        if not targets:
            return
        params = {"ids": ",".join(str(item.external_id) for _, item in targets), "wf_trigger": "false"}
        answer = body_of(self.client.call("DELETE", stream, params=params))
        rows = answer.get("data") if isinstance(answer, Mapping) else None
        by_id = {str((row.get("details") or {}).get("id")): row for row in rows or [] if isinstance(row, Mapping)}
        for index, item in targets:
            row = by_id.get(str(item.external_id))
            if row is None:
                results[index] = WriteResult(item.canonical_id, ok=False, external_id=item.external_id,
                                             error=f"zoho: deleting from {stream} answered no row for this id",
                                             retryable=True)
            elif row.get("status") == "success" or row.get("code") == "INVALID_DATA":
                results[index] = WriteResult(item.canonical_id, ok=True, external_id=item.external_id)
            else:
                results[index] = row_result(item, row, stream, {})
