"""The Salesforce connector: five sObject streams in, composite upserts and deletes out, Outbound Messages as
webhooks, ID listings for finding hard deletes.

    connector = SalesforceConnector(SalesforceSettings(...), name="salesforce-eu")
    for page in connector.read("Lead", checkpoint):   # store page.records and page.cursor together
        ...
    connector.write("Lead", [WriteItem(canonical_id, payload)])
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from crmsync.connectors.base import Capability, ConnectorError, StreamPage, WriteItem, WriteResult
from crmsync.connectors.salesforce.bulk import BulkPosition, BulkUnavailable, bulk_pages
from crmsync.connectors.salesforce.client import OrgIdentity, SalesforceClient
from crmsync.connectors.salesforce.cursor import Watermark
from crmsync.connectors.salesforce.outbound import (
    OutboundMessageError,
    OutboundNotification,
    OutboundOrgMismatch,
    ack_response,
    parse_outbound_message,
)
from crmsync.connectors.salesforce.settings import SalesforceSettings
from crmsync.connectors.salesforce.streams import (
    STREAMS,
    StreamReader,
    Window,
    mapped_source_fields,
    same_salesforce_id,
)
from crmsync.connectors.salesforce.writer import SalesforceWriter
from crmsync.store.tokens import TokenStore
from crmsync.sync_engine.records import SourceRecord

__all__ = [
    "OutboundMessageError", "OutboundNotification", "OutboundOrgMismatch", "SalesforceConnector",
    "SalesforceSettings", "ack_response", "parse_outbound_message",
]

log = logging.getLogger("crmsync.connectors.salesforce")


class SalesforceConnector:
    """One org. `source_fields` (object → fields the mapping reads) defaults to the built-in mapping file."""

    system = "salesforce"
    capabilities = frozenset({Capability.INCREMENTAL, Capability.BACKFILL, Capability.DELETES,
                              Capability.WRITE_BACK, Capability.WEBHOOKS, Capability.DELETE_WRITES,
                              Capability.ID_LISTING})

    def __init__(self, settings: SalesforceSettings, *, name: str = "salesforce",
                 source_fields: Mapping[str, Sequence[str]] | None = None,
                 token_store: TokenStore | None = None) -> None:
        self.name, self.settings = name, settings
        self.client = SalesforceClient(settings, name, token_store)
        self.skipped_own_changes: Counter[str] = Counter()  # per stream: our own writes read back and dropped
        self._reader = StreamReader(self.client, source_fields or mapped_source_fields(), name,
                                    self.skipped_own_changes)
        self._writer = SalesforceWriter(self.client)

    def streams(self) -> Sequence[str]:
        return STREAMS

    def connect(self) -> OrgIdentity:
        """Log in now rather than on the first call; returns who we are."""
        return self.client.identity

    @property
    def identity(self) -> OrgIdentity:
        """Org and user we are logged in as (logs in on first use)."""
        return self.client.identity

    def fields(self, stream: str) -> list[str]:
        """The SELECT list of a stream: base fields, the mapped ones this org has, every custom `__c` field."""
        self._check_stream(stream)
        return self._reader.fields(stream)

    def _check_stream(self, stream: str) -> None:
        if stream not in STREAMS:
            raise ConnectorError(f"salesforce {self.name} has no stream {stream!r}; streams: {', '.join(STREAMS)}")

    def read(self, stream: str, cursor: Mapping[str, Any] | None, *, since: datetime | None = None,
             until: datetime | None = None) -> Iterator[StreamPage]:
        """Incremental from `cursor` (REST, with lookback) when no window is given; otherwise a backfill of
        [since, until) resuming after `cursor`, through Bulk 2.0 when it is large, else REST. A cursor from
        the middle of a Bulk read continues that read's job."""
        self._check_stream(stream)
        if any(moment is not None and moment.tzinfo is None for moment in (since, until)):
            raise ConnectorError(f"salesforce {self.name}: since/until must be timezone-aware (UTC) datetimes")
        boundary, in_bulk = Watermark.from_cursor(cursor, stream), self._bulk_position(cursor, stream)
        if since is None and until is None and boundary.modstamp is not None and in_bulk is None:
            yield from self._reader.rest_pages(self._reader.incremental_window(stream, boundary))
            return
        start = since if boundary.modstamp is None or (since is not None and since > boundary.modstamp) \
            else boundary.modstamp
        window = Window(stream, start, until, boundary)
        if in_bulk is not None or self._use_bulk(window):
            try:
                log.info("salesforce %s: reading %s through Bulk API 2.0", self.name, stream)
                yield from bulk_pages(self._reader, window, in_bulk)
                return
            except BulkUnavailable as exc:
                log.warning("salesforce %s: Bulk API 2.0 unavailable for %s (%s); falling back to REST query",
                            self.name, stream, exc)
        log.info("salesforce %s: reading %s through REST query", self.name, stream)
        yield from self._reader.rest_pages(window)

    def count(self, stream: str, *, since: datetime | None = None, until: datetime | None = None) -> int:
        """How many records a read of [since, until) would deliver (for progress bars and plans)."""
        self._check_stream(stream)
        return self._reader.count(Window(stream, since, until, Watermark()))

    def _bulk_position(self, cursor: Mapping[str, Any] | None, stream: str) -> BulkPosition | None:
        try:
            return BulkPosition.from_cursor(cursor, stream)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(f"the checkpoint of Salesforce stream {stream} names a Bulk API 2.0 job but not "
                                 f"as this version writes it ({exc!r}); reset the stream's checkpoint to re-read "
                                 "it") from None

    def _use_bulk(self, window: Window) -> bool:
        threshold = self.settings.bulk_threshold
        return threshold is not None and (threshold == 0 or self._reader.count(window) >= threshold)

    def fetch(self, stream: str, ids: Sequence[str]) -> list[SourceRecord]:
        """Current state of records by Salesforce Id (for thin notifications)."""
        self._check_stream(stream)
        return self._reader.fetch(stream, "Id", ids)

    def fetch_by_external_ids(self, stream: str, canonical_ids: Sequence[str]) -> list[SourceRecord]:
        """Records we pushed earlier, by the external-id field holding their canonical id."""
        self._check_stream(stream)
        return self._reader.fetch(stream, self.settings.external_id_field, canonical_ids)

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        """Upserts and (`WriteItem.delete`) deletes; one result per item, in input order."""
        self._check_stream(stream)
        return self._writer.write(stream, items)

    def list_ids(self, stream: str) -> Iterator[list[str]]:
        """Pages of the Ids of every live record (`query`, ids only): what is missing was hard-deleted."""
        self._check_stream(stream)
        return self._reader.id_pages(stream)

    def is_own_change(self, record: SourceRecord) -> bool:
        """True when the integration user made the last change (an echo of our own write)."""
        return same_salesforce_id(record.payload.get("LastModifiedById"), self.settings.integration_user_id)

    def parse_outbound(self, body: bytes) -> list[OutboundNotification]:
        """Parse an Outbound Message for this org, values typed with this org's describe."""
        def types(object_name: str) -> Mapping[str, str]:
            return self._reader.field_types(object_name) if object_name in STREAMS else {}

        return parse_outbound_message(body, expected_org_id=self.identity.org_id, connection=self.name,
                                      field_types=types)

    def close(self) -> None:
        self.client.close()
