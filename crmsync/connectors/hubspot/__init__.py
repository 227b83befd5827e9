"""The HubSpot connector: contacts, companies, deals and calls in (with associations), batch upserts out.

    connector = HubSpotConnector(HubSpotSettings(access_token=...), name="hubspot-eu")
    for page in connector.read("contacts", checkpoint):   # store page.records and page.cursor together
        ...
    connector.write("contacts", [WriteItem(canonical_id, payload)])

A first read pages the list endpoint, then continues incrementally (search on the modified timestamp,
passing the 10,000-result cap, plus the archived listing for deletes); `list_ids` lists live ids only, for
the hard deletes nothing reports. `write` also archives (delete items). Merged records carry
`payload["merged_ids"]`; the ingest path (`sync_engine/source_merges.py`) turns them into canonical merges.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from crmsync.connectors.base import Capability, ConnectorError, StreamPage, WriteItem, WriteResult
from crmsync.connectors.hubspot.client import HubSpotClient
from crmsync.connectors.hubspot.cursor import StreamCursor, to_ms
from crmsync.connectors.hubspot.reads import StreamReader
from crmsync.connectors.hubspot.settings import HubSpotSettings
from crmsync.connectors.hubspot.streams import STREAMS, StreamCatalog, mapped_properties
from crmsync.connectors.hubspot.webhooks import WebhookNotice, WebhookSignatureError, parse_events, verify_signature
from crmsync.connectors.hubspot.writer import HubSpotWriter
from crmsync.store.tokens import TokenStore
from crmsync.sync_engine.records import SourceRecord

__all__ = [
    "HubSpotConnector", "HubSpotSettings", "WebhookNotice", "WebhookSignatureError", "parse_events",
    "verify_signature",
]


class HubSpotConnector:
    """One portal. `source_properties` (stream → properties the mapping reads) defaults to the mapping file."""

    system = "hubspot"
    capabilities = frozenset({Capability.INCREMENTAL, Capability.BACKFILL, Capability.DELETES,
                              Capability.WRITE_BACK, Capability.WEBHOOKS, Capability.DELETE_WRITES,
                              Capability.ID_LISTING})

    def __init__(self, settings: HubSpotSettings, *, name: str = "hubspot",
                 source_properties: Mapping[str, Sequence[str]] | None = None,
                 token_store: TokenStore | None = None) -> None:
        self.name, self.settings = name, settings
        self.client = HubSpotClient(settings, name, token_store)
        self.catalog = StreamCatalog(self.client, name, source_properties or mapped_properties())
        self._reader = StreamReader(self.client, self.catalog)
        self._writer = HubSpotWriter(self.client, self.catalog)

    def streams(self) -> Sequence[str]:
        return STREAMS

    def properties(self, stream: str) -> list[str]:
        """The properties a stream reads: the mapped ones this portal has, every custom one, the stamps."""
        self.catalog.check_stream(stream)
        return self.catalog.properties(stream)

    def read(self, stream: str, cursor: Mapping[str, Any] | None, *, since: datetime | None = None,
             until: datetime | None = None) -> Iterator[StreamPage]:
        """Pages after `cursor`: with a window, every record modified in [since, until) through search;
        otherwise the list backfill (first read) followed by incremental search and archived records."""
        self.catalog.check_stream(stream)
        if any(moment is not None and moment.tzinfo is None for moment in (since, until)):
            raise ConnectorError(f"hubspot {self.name}: since/until must be timezone-aware (UTC) datetimes")
        position = StreamCursor.from_cursor(cursor, stream)
        if since is not None or until is not None:
            position.phase = "incremental"
            if since is not None and (position.modified_ms is None or to_ms(since) > position.modified_ms):
                position.modified_ms, position.ids, position.id_after = to_ms(since), set(), None
            yield from self._reader.search_pages(stream, position, None if until is None else to_ms(until))
            return
        if position.phase == "backfill":
            yield from self._reader.list_pages(stream, position)
        yield from self._reader.search_pages(stream, position)
        yield from self._reader.archived_pages(stream, position)

    def fetch(self, stream: str, ids: Sequence[str]) -> list[SourceRecord]:
        """Current state of records by HubSpot id, e.g. for webhook notices (merged-away ids resolve to the
        survivor; archived records come back as deletes)."""
        self.catalog.check_stream(stream)
        return self.catalog.fetch(stream, ids, self.settings.write_batch_size)

    def fetch_notices(self, notices: Sequence[WebhookNotice]) -> list[SourceRecord]:
        """Fetch, per stream and in batch, the records a list of webhook notices names."""
        wanted: dict[str, list[str]] = {}
        for notice in notices:
            if notice.object_type in STREAMS:
                wanted.setdefault(notice.object_type, []).append(notice.record_id)
        return [record for stream, ids in wanted.items() for record in self.fetch(stream, ids)]

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        """Upserts and deletes (archived in batch) in one call; results in input order."""
        self.catalog.check_stream(stream)
        return self._writer.write(stream, items)

    def list_ids(self, stream: str) -> Iterator[list[str]]:
        """Pages of the ids of every live record (100 a page, no properties but merged ids): the deletes no
        incremental read reports (a GDPR delete, an archive purged after 90 days) are the ids missing here."""
        self.catalog.check_stream(stream)
        return self._reader.id_pages(stream)

    def close(self) -> None:
        self.client.close()
