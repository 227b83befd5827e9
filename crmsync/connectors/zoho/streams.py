"""Reading modules as pages of SourceRecords: field lists, `Modified_Time` paging and the recycle bin.

A read asks `GET /{Module}?sort_by=Modified_Time&sort_order=asc` with If-Modified-Since one second before
the watermark, walks `page` then `info.next_page_token` (Zoho serves only 2,000 records by page number),
and yields one StreamPage per API page with the cursor just past it. Incremental reads then list the
recycle bin (`/{Module}/deleted`) since the deletion watermark, as deleted SourceRecords. `id_pages` lists
live ids only (`fields=id`), for the deletes that leave no deleted-records entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from crmsync.connectors.base import ConnectorError, StreamPage
from crmsync.connectors.zoho.client import ZohoClient, body_of
from crmsync.connectors.zoho.cursor import ZohoCursor, parse_zoho_datetime
from crmsync.mappings.loader import mapping_files
from crmsync.mappings.schema import MappingFile
from crmsync.sync_engine.records import SourceRecord

STREAMS = ("Leads", "Contacts", "Accounts", "Deals", "Calls")
BASE_FIELDS = ("Modified_Time", "Modified_By")  # `id` always comes back
MAX_FIELDS = 50
IDS_PER_CALL = 100
ONE_SECOND = timedelta(seconds=1)


def mapped_source_fields(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The Zoho fields each module's mapping reads (`Owner.id` → `Owner`), from the mapping file."""
    raw = yaml.safe_load((path or mapping_files()["zoho"]).read_text(encoding="utf-8"))
    fields: dict[str, tuple[str, ...]] = {}
    for name, obj in MappingFile.model_validate(raw).objects.items():
        names = [obj.modified_field] if obj.modified_field else []
        for rule in obj.fields:
            if rule.source is not None and rule.direction != "out":
                names += [rule.source] if isinstance(rule.source, str) else rule.source
        fields[name] = tuple(dict.fromkeys(n.split(".")[0] for n in names))
    return fields


def ims_header(moment: datetime | None) -> dict[str, str]:
    """If-Modified-Since one second early: Zoho's filter is strictly-after on whole seconds."""
    return {} if moment is None else {"If-Modified-Since": (moment - ONE_SECOND).isoformat(timespec="seconds")}


@dataclass(frozen=True)
class Window:
    stream: str
    start: datetime | None  # inclusive
    until: datetime | None  # exclusive
    with_deletes: bool


class StreamReader:
    def __init__(self, client: ZohoClient, source_fields: Mapping[str, Sequence[str]], connection: str) -> None:
        self.client, self.settings, self.connection = client, client.settings, connection
        self.source_fields = source_fields
        self._fields: dict[str, list[str]] = {}

    def fields(self, stream: str) -> list[str]:
        """Base fields, the mapped ones and the external-id field, restricted to what this org has (≤ 50)."""
        if stream not in self._fields:
            body = body_of(self.client.call("GET", "settings/fields", params={"module": stream})) or {}
            available = {f["api_name"] for f in body.get("fields", [])}
            wanted = [*BASE_FIELDS, *self.source_fields.get(stream, ()), self.settings.external_id_field]
            self._fields[stream] = [n for n in dict.fromkeys(wanted) if n in available and n != "id"][:MAX_FIELDS]
        return self._fields[stream]

    def to_record(self, stream: str, row: Mapping[str, Any]) -> SourceRecord:
        return SourceRecord(system="zoho", object=stream, external_id=str(row["id"]),
                            modified_at=parse_zoho_datetime(str(row["Modified_Time"])), payload=dict(row),
                            connection=self.connection)

    def _listing(self, stream: str, params: dict[str, Any], headers: Mapping[str, str] | None = None
                 ) -> Iterator[Mapping[str, Any]]:
        """Each answer of a module listing, following `info.next_page_token` (Zoho serves only 2,000 records by
        page number); nothing for a 204 (empty module) or 304 (nothing modified since)."""
        seen_tokens: set[str] = set()
        while True:
            response = self.client.call("GET", stream, params=params, headers=headers)
            body = body_of(response) if response.status_code == 200 else None
            if not body:
                return
            yield body
            info = body.get("info") or {}
            if not info.get("more_records"):
                return
            token = info.get("next_page_token")
            if not token or token in seen_tokens:  # a misbehaving API must not make us loop forever
                raise ConnectorError(f"zoho {self.connection}: {stream} paging gave no new page_token")
            seen_tokens.add(token)
            params = {"fields": params["fields"], "per_page": params["per_page"], "page_token": token}

    def pages(self, window: Window, cursor: ZohoCursor) -> Iterator[StreamPage]:
        progress, stream = cursor.copy(), window.stream
        params: dict[str, Any] = {"fields": ",".join(self.fields(stream)), "per_page": self.settings.page_size,
                                  "sort_by": "Modified_Time", "sort_order": "asc", "page": 1}
        for body in self._listing(stream, params, ims_header(window.start)):
            records, done = [], False
            for row in body.get("data", []):
                moment, record_id = parse_zoho_datetime(str(row["Modified_Time"])), str(row["id"])
                if window.until is not None and moment >= window.until:
                    done = True  # sorted ascending: nothing later belongs to the window
                    break
                if (window.start is not None and moment < window.start) or cursor.modified.delivered(moment,
                                                                                                      record_id):
                    continue
                progress.modified.advance(moment, record_id)
                records.append(self.to_record(stream, row))
            yield StreamPage(stream, records, progress.as_cursor())
            if done:
                break
        if window.with_deletes:
            yield from self.deleted_pages(stream, progress)

    def id_pages(self, stream: str) -> Iterator[list[str]]:
        """The ids of every live record (`fields=id`, 200 a page, in id order); recycled and purged ones are
        absent, which is how deletes no read reports (purged, expired from the bin) are found."""
        params: dict[str, Any] = {"fields": "id", "per_page": self.settings.page_size, "sort_by": "id",
                                  "sort_order": "asc", "page": 1}
        for body in self._listing(stream, params):
            ids = [str(row["id"]) for row in body.get("data", [])]
            if ids:
                yield ids

    def deleted_pages(self, stream: str, progress: ZohoCursor) -> Iterator[StreamPage]:
        """Records moved to the recycle bin (or purged) since the deletion watermark, oldest first."""
        since, rows, page = progress.deleted.moment, [], 1
        while True:
            response = self.client.call("GET", f"{stream}/deleted", headers=ims_header(since),
                                        params={"type": "all", "page": page, "per_page": 200})
            body = body_of(response) if response.status_code == 200 else None
            if not body:
                break
            rows += body.get("data", [])
            if not (body.get("info") or {}).get("more_records"):
                break
            page += 1
        records = []
        for row in sorted(rows, key=lambda r: (parse_zoho_datetime(str(r["deleted_time"])), int(r["id"]))):
            moment, record_id = parse_zoho_datetime(str(row["deleted_time"])), str(row["id"])
            if (since is not None and moment < since) or progress.deleted.delivered(moment, record_id):
                continue
            progress.deleted.advance(moment, record_id)
            records.append(SourceRecord(system="zoho", object=stream, external_id=record_id, modified_at=moment,
                                        payload=dict(row), deleted=True, connection=self.connection))
        if records:
            yield StreamPage(stream, records, progress.as_cursor())

    def fetch(self, stream: str, ids: Sequence[str]) -> list[SourceRecord]:
        """Current state of records by Zoho id (ids that no longer exist are left out)."""
        records: list[SourceRecord] = []
        for offset in range(0, len(ids), IDS_PER_CALL):
            chunk = [str(i) for i in ids[offset : offset + IDS_PER_CALL]]
            response = self.client.call("GET", stream, params={"ids": ",".join(chunk),
                                                               "fields": ",".join(self.fields(stream))})
            body = body_of(response) if response.status_code == 200 else None
            records += [self.to_record(stream, row) for row in (body or {}).get("data", [])]
        return records
