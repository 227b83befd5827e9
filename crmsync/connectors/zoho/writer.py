"""Write-back by upsert (`POST /{Module}/upsert`), 100 rows a call, one WriteResult per item in input order.

Rows carry the canonical id in the external-id field (`crmsync_id`, a custom field with "do not allow
duplicate values") and `duplicate_check_fields` names it, so a replayed push updates instead of duplicating.
Items that already have a Zoho id (records that came from Zoho) send it as `id`, which Zoho updates directly.
Each row succeeds or fails on its own: success rows are reported as such even when others in the batch fail.
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


def row_result(item: WriteItem, row: Mapping[str, Any]) -> WriteResult:
    if row.get("status") == "success":
        details = row.get("details") or {}
        return WriteResult(item.canonical_id, ok=True, external_id=str(details.get("id") or item.external_id),
                           created=row.get("action") == "insert")
    code, details = str(row.get("code", "UNKNOWN")), row.get("details") or {}
    field = f" (field {details['api_name']})" if isinstance(details, Mapping) and details.get("api_name") else ""
    return WriteResult(item.canonical_id, ok=False, external_id=item.external_id,
                       error=f"{code}: {row.get('message', '')}{field}", retryable=code in RETRYABLE_ROW_CODES)


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
        results: list[WriteResult] = []
        for offset in range(0, len(items), self.batch_size):
            batch = items[offset : offset + self.batch_size]
            body = {"data": [self._row(item) for item in batch], "duplicate_check_fields": [self.external_id_field],
                    "trigger": []}
            answer = body_of(self.client.call("POST", f"{stream}/upsert", json=body))
            rows = answer.get("data") if isinstance(answer, Mapping) else None
            if not isinstance(rows, list) or len(rows) != len(batch):
                raise ConnectorError(f"zoho {self.client.connection}: upsert into {stream} answered "
                                     f"{len(rows) if isinstance(rows, list) else 'no'} rows for {len(batch)} records")
            results += [row_result(item, row) for item, row in zip(batch, rows, strict=True)]
        return results
