"""Reading sObjects as pages of SourceRecords: field lists, SOQL, REST paging and the incremental window.

Incremental reads page through `queryAll` ordered by (SystemModstamp, Id) from a lookback before the last
read (see cursor.py), so updates and soft deletes arrive on one cursor. Backfills (and first loads) read a
window; Bulk API 2.0 serves large ones (see bulk.py) and REST the rest.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from simple_salesforce import format_soql

from crmsync.connectors.base import ConnectorError, StreamPage
from crmsync.connectors.salesforce.client import SalesforceClient
from crmsync.connectors.salesforce.cursor import Watermark, parse_salesforce_datetime, whole_second_ceiling
from crmsync.mappings.loader import mapping_files
from crmsync.mappings.schema import MappingFile
from crmsync.sync_engine.records import SourceRecord

log = logging.getLogger("crmsync.connectors.salesforce")

STREAMS = ("Lead", "Contact", "Account", "Opportunity", "Task")
# Always read: identity, the cursor field, echo detection, and the soft-delete flag of queryAll.
BASE_FIELDS = ("Id", "SystemModstamp", "LastModifiedById", "IsDeleted")
COMPOUND_TYPES = frozenset({"address", "location"})  # not selectable through Bulk; their parts are
IDS_PER_QUERY = 200  # keeps `IN (...)` well under SOQL's length limit


def same_salesforce_id(a: object, b: object) -> bool:
    """15- and 18-character forms of one Id are the same record (the last three are a checksum)."""
    return isinstance(a, str) and isinstance(b, str) and len(a) >= 15 and a[:15] == b[:15]


def mapped_source_fields(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The Salesforce fields each object's mapping names, from the mapping file. Fields only written (`out`
    rules, e.g. Task.Status) are read too, so a record's payload shows everything crmsync keeps there."""
    raw = yaml.safe_load((path or mapping_files()["salesforce"]).read_text(encoding="utf-8"))
    fields: dict[str, tuple[str, ...]] = {}
    for name, obj in MappingFile.model_validate(raw).objects.items():
        names = [obj.id_field, *([obj.modified_field] if obj.modified_field else [])]
        for rule in obj.fields:
            if rule.source is not None:
                names += [rule.source] if isinstance(rule.source, str) else rule.source
        fields[name] = tuple(dict.fromkeys(names))
    return fields


def select_fields(describe: Mapping[str, Any], mapped: Sequence[str]) -> list[str]:
    """Base fields, the mapped ones and every custom `__c` field, restricted to what this org has."""
    available = {f["name"]: f for f in describe["fields"] if f.get("type") not in COMPOUND_TYPES}
    missing = [name for name in mapped if name not in available]
    if missing:
        log.warning("salesforce %s has no field(s) %s; they are not read", describe.get("name"), ", ".join(missing))
    custom = sorted(name for name in available if name.endswith("__c"))
    return [name for name in dict.fromkeys([*BASE_FIELDS, *mapped, *custom]) if name in available]


def build_soql(object_name: str, fields: Sequence[str], start: datetime | None, until: datetime | None,
               *, ordered: bool) -> str:
    """Window query; values go through format_soql (datetimes become unquoted whole-second literals)."""
    conditions = []
    if start is not None:
        conditions.append(format_soql("SystemModstamp >= {}", start))
    if until is not None:
        conditions.append(format_soql("SystemModstamp < {}", whole_second_ceiling(until)))
    soql = f"SELECT {', '.join(fields)} FROM {object_name}"
    if conditions:
        soql += " WHERE " + " AND ".join(conditions)
    return soql + (" ORDER BY SystemModstamp, Id" if ordered else "")


@dataclass
class Window:
    """What one read may deliver: [start, until) exactly, minus what `boundary` says was delivered."""

    stream: str
    start: datetime | None
    until: datetime | None
    boundary: Watermark

    @property
    def include_deleted(self) -> bool:
        return self.start is not None  # a first load has no earlier copy of a deleted record to remove


class RecordBuilder:
    """Rows → SourceRecords for one read: window filtering, echo suppression, watermark progress."""

    def __init__(self, window: Window, connection: str, integration_user_id: str | None,
                 skipped_own_changes: Counter[str]) -> None:
        self.window, self.connection = window, connection
        self.integration_user_id = integration_user_id
        self.skipped_own_changes = skipped_own_changes
        self.progress = window.boundary.copy()

    def records(self, rows: Iterable[Mapping[str, Any]]) -> list[SourceRecord]:
        window, out = self.window, []
        for row in rows:
            record_id, modstamp = str(row["Id"]), parse_salesforce_datetime(str(row["SystemModstamp"]))
            if (window.start is not None and modstamp < window.start) or (
                window.until is not None and modstamp >= window.until
            ) or window.boundary.delivered(modstamp, record_id):
                continue  # outside the exact window (literals are whole seconds) or already delivered
            self.progress.advance(modstamp, record_id)
            if same_salesforce_id(row.get("LastModifiedById"), self.integration_user_id):
                self.skipped_own_changes[window.stream] += 1  # our own write coming back; cursor still moves
                continue
            out.append(to_source_record(window.stream, row, modstamp, self.connection))
        return out


def to_source_record(stream: str, row: Mapping[str, Any], modstamp: datetime, connection: str) -> SourceRecord:
    payload = {key: value for key, value in row.items() if key != "attributes"}
    return SourceRecord(system="salesforce", object=stream, external_id=str(payload["Id"]), modified_at=modstamp,
                        payload=payload, deleted=bool(payload.get("IsDeleted")), connection=connection)


def _is_last(result: Mapping[str, Any]) -> bool:
    return bool(result.get("done", True)) or not result.get("nextRecordsUrl")


class StreamReader:
    """Reads the five streams over REST (`query`/`queryAll` + `nextRecordsUrl`)."""

    def __init__(self, client: SalesforceClient, source_fields: Mapping[str, Sequence[str]], connection: str,
                 skipped_own_changes: Counter[str]) -> None:
        self.client, self.settings = client, client.settings
        self.source_fields, self.connection = source_fields, connection
        self.skipped_own_changes = skipped_own_changes
        self._fields: dict[str, list[str]] = {}

    def fields(self, stream: str) -> list[str]:
        if stream not in self._fields:
            self._fields[stream] = select_fields(self.client.describe(stream), self.source_fields.get(stream, ()))
        return self._fields[stream]

    def field_types(self, stream: str) -> dict[str, str]:
        return {f["name"]: f["type"] for f in self.client.describe(stream)["fields"]}

    def builder(self, window: Window) -> RecordBuilder:
        return RecordBuilder(window, self.connection, self.settings.integration_user_id, self.skipped_own_changes)

    def incremental_window(self, stream: str, boundary: Watermark) -> Window:
        return Window(stream, boundary.lookback_start(timedelta(seconds=self.settings.lookback_seconds)), None,
                      boundary)

    def count(self, window: Window) -> int:
        soql = build_soql(window.stream, ["COUNT()"], window.start, window.until, ordered=False)
        with self.client.errors(f"counting {window.stream}"):
            return int(self.client.sf.query(soql, include_deleted=window.include_deleted)["totalSize"])

    def id_pages(self, stream: str) -> Iterator[list[str]]:
        """The Ids of the live records (`query`: the recycle bin left out), one list per API page."""
        headers = {"Sforce-Query-Options": f"batchSize={self.settings.page_size}"}
        for result in self._query_pages(stream, f"SELECT Id FROM {stream}", include_deleted=False, headers=headers):
            yield [str(row["Id"]) for row in result["records"]]

    def _query_pages(self, stream: str, soql: str, *, include_deleted: bool, headers: Mapping[str, str]
                     ) -> Iterator[dict[str, Any]]:
        """The API pages of one query, through `nextRecordsUrl` (a repeated page is an error, never a loop)."""
        sf, seen_urls = self.client.sf, set()
        with self.client.errors(f"querying {stream}"):
            result = sf.query(soql, include_deleted=include_deleted, headers=headers)
        while True:
            yield result
            if _is_last(result):
                return
            next_url = result["nextRecordsUrl"]
            if next_url in seen_urls:  # a misbehaving API must not make us loop forever
                raise ConnectorError(f"salesforce {self.connection}: {stream} query repeated page {next_url}")
            seen_urls.add(next_url)
            with self.client.errors(f"querying {stream} (next page)"):
                result = sf.query_more(next_url, identifier_is_url=True, headers=headers)

    def rest_pages(self, window: Window) -> Iterator[StreamPage]:
        """One StreamPage per API page, each with the cursor just past it; the last page of a read that reaches
        the present also records when the org ran the query (the result set is fixed when it runs)."""
        soql = build_soql(window.stream, self.fields(window.stream), window.start, window.until, ordered=True)
        headers = {"Sforce-Query-Options": f"batchSize={self.settings.page_size}"}
        builder, ran_at = self.builder(window), None
        pages = self._query_pages(window.stream, soql, include_deleted=window.include_deleted, headers=headers)
        for number, result in enumerate(pages):
            if number == 0:
                ran_at = self.client.http.org_time()  # the answer that ran the query, on this thread
            records = builder.records(result["records"])
            if _is_last(result) and window.until is None:
                builder.progress.read_ran_at(ran_at)
            yield StreamPage(window.stream, records, builder.progress.as_cursor())

    def fetch(self, stream: str, field_name: str, values: Sequence[str]) -> list[SourceRecord]:
        """Current state of the records whose `field_name` (Id or an external id) is in `values`."""
        records: list[SourceRecord] = []
        fields = ", ".join(self.fields(stream))
        for offset in range(0, len(values), IDS_PER_QUERY):
            chunk = list(values[offset : offset + IDS_PER_QUERY])
            soql = format_soql(f"SELECT {fields} FROM {stream} WHERE {field_name} IN {{}}", chunk)
            with self.client.errors(f"fetching {stream} by {field_name}"):
                rows = self.client.sf.query_all(soql)["records"]
            records += [to_source_record(stream, row, parse_salesforce_datetime(row["SystemModstamp"]),
                                         self.connection) for row in rows]
        return records
