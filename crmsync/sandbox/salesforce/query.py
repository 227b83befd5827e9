"""REST query execution: SOQL → result set held behind a query locator, served page by page.

The result set is computed once (filter + sort) and kept as a list of record references; each page slices
it and serialises only that page, so paging through 100k rows never copies the table.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.salesforce.errors import SalesforceApiError
from crmsync.sandbox.salesforce.soql.evaluate import Column, CompiledQuery
from crmsync.sandbox.salesforce.soql.parser import parse_soql
from crmsync.sandbox.salesforce.store import Record, SObjectStore
from crmsync.sandbox.salesforce.values import to_json_value

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 200, 2000
LOCATOR_IDLE_TIMEOUT = timedelta(minutes=15)
MAX_OPEN_LOCATORS = 100
_BATCH_OPTION = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_LOCATOR = re.compile(r"^(01g[0-9A-Za-z]{15})-(\d+)$")


def compile_soql(soql: str, store: SObjectStore, now: datetime) -> CompiledQuery:
    return CompiledQuery(parse_soql(soql), soql, store, now)


def batch_size_from(header: str | None) -> int | None:
    """`Sforce-Query-Options: batchSize=N` is a hint: clamped into Salesforce's 200..2000."""
    match = _BATCH_OPTION.search(header or "")
    return None if match is None else max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, int(match.group(1))))


def record_json(compiled: CompiledQuery, record: Record, version: str) -> dict[str, Any]:
    """A query row as the REST API returns it: `attributes`, then the selected fields in order."""
    object_name = compiled.sobject.name
    body: dict[str, Any] = {
        "attributes": {"type": object_name, "url": f"/services/data/v{version}/sobjects/{object_name}/{record['Id']}"}
    }
    for column in compiled.columns:
        if column.relationship is None:
            body[column.field.name] = to_json_value(record.get(column.field.name))
        else:
            _add_parent_value(body, column, record, compiled.store, version)
    return body


def _add_parent_value(body: dict[str, Any], column: Column, record: Record, store: SObjectStore, version: str) -> None:
    assert column.relationship is not None and column.lookup_field is not None
    parent_id = record.get(column.lookup_field)
    parent = store.find_any(parent_id) if parent_id else None
    if parent is None:
        body[column.relationship] = None
        return
    nested = body.get(column.relationship)
    if nested is None:
        parent_type = store.object_of_id(parent["Id"])
        nested = {"attributes": {"type": parent_type, "url": f"/services/data/v{version}/sobjects/{parent_type}/"
                                 f"{parent['Id']}"}}
        body[column.relationship] = nested
    nested[column.field.name] = to_json_value(parent.get(column.field.name))


@dataclass
class QueryCursor:
    locator_id: str
    compiled: CompiledQuery
    rows: list[Record]
    batch_size: int
    last_used: datetime


class QueryService:
    def __init__(self, store: SObjectStore, clock: SandboxClock) -> None:
        self.store, self.clock = store, clock
        self._cursors: OrderedDict[str, QueryCursor] = OrderedDict()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._cursors.clear()

    def execute(self, soql: str, *, include_deleted: bool, batch_size: int | None, version: str) -> dict[str, Any]:
        compiled = compile_soql(soql, self.store, self.clock.now())
        with self.store.lock:
            rows = compiled.run(self.store.rows(compiled.sobject.name, include_deleted=include_deleted))
        if compiled.query.is_count:
            return {"totalSize": len(rows), "done": True, "records": []}
        cursor = QueryCursor(
            locator_id="01g" + "".join(secrets.choice("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(15)),
            compiled=compiled,
            rows=rows,
            batch_size=batch_size or DEFAULT_BATCH_SIZE,
            last_used=self.clock.now(),
        )
        page = self._page(cursor, 0, cursor.batch_size, version)
        if not page["done"]:
            self._remember(cursor)
        return page

    def more(self, locator: str, *, batch_size: int | None, version: str) -> dict[str, Any]:
        match = _LOCATOR.match(locator)
        with self._lock:
            self._expire_idle()
            cursor = self._cursors.get(match.group(1)) if match else None
        if match is None or cursor is None or int(match.group(2)) > len(cursor.rows):
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.last_used = self.clock.now()
        return self._page(cursor, int(match.group(2)), batch_size or cursor.batch_size, version)

    def _page(self, cursor: QueryCursor, offset: int, batch_size: int, version: str) -> dict[str, Any]:
        chunk = cursor.rows[offset : offset + batch_size]
        end = offset + len(chunk)
        done = end >= len(cursor.rows)
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done}
        if not done:
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor.locator_id}-{end}"
        body["records"] = [record_json(cursor.compiled, record, version) for record in chunk]
        return body

    def _remember(self, cursor: QueryCursor) -> None:
        with self._lock:
            self._cursors[cursor.locator_id] = cursor
            while len(self._cursors) > MAX_OPEN_LOCATORS:
                self._cursors.popitem(last=False)

    def _expire_idle(self) -> None:
        cutoff = self.clock.now() - LOCATOR_IDLE_TIMEOUT
        for locator_id in [key for key, cursor in self._cursors.items() if cursor.last_used < cutoff]:
            del self._cursors[locator_id]
