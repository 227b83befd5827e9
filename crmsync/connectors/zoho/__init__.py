"""The Zoho CRM connector: five modules in (records API, recycle bin), upserts out, watch notifications.

    connector = ZohoConnector(ZohoSettings(dc="eu", client_id=..., client_secret=..., refresh_token=...),
                              name="zoho-eu")
    for page in connector.read("Leads", checkpoint):   # store page.records and page.cursor together
        ...
    connector.write("Leads", [WriteItem(canonical_id, payload)])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from crmsync.connectors.base import Capability, ConnectorError, StreamPage, WriteItem, WriteResult
from crmsync.connectors.zoho.client import ZohoClient
from crmsync.connectors.zoho.cursor import ZohoCursor
from crmsync.connectors.zoho.notifications import (
    NotificationRejected,
    WatchChannel,
    ZohoNotification,
    verify_notification,
)
from crmsync.connectors.zoho.settings import ZohoSettings
from crmsync.connectors.zoho.streams import STREAMS, StreamReader, Window, mapped_source_fields
from crmsync.connectors.zoho.writer import ZohoWriter
from crmsync.store.tokens import TokenStore
from crmsync.sync_engine.records import SourceRecord

__all__ = ["NotificationRejected", "ZohoConnector", "ZohoNotification", "ZohoSettings", "verify_notification"]


class ZohoConnector:
    """One Zoho org. `source_fields` (module → fields the mapping reads) defaults to the built-in mapping."""

    system = "zoho"
    capabilities = frozenset({Capability.INCREMENTAL, Capability.BACKFILL, Capability.DELETES,
                              Capability.WRITE_BACK, Capability.WEBHOOKS, Capability.DELETE_WRITES,
                              Capability.ID_LISTING})

    def __init__(self, settings: ZohoSettings, *, name: str = "zoho",
                 source_fields: Mapping[str, Sequence[str]] | None = None,
                 token_store: TokenStore | None = None) -> None:
        self.name, self.settings = name, settings
        self.client = ZohoClient(settings, name, token_store)
        self._reader = StreamReader(self.client, source_fields or mapped_source_fields(), name)
        self._writer = ZohoWriter(self.client)
        self.channel = WatchChannel(self.client, STREAMS)

    def streams(self) -> Sequence[str]:
        return STREAMS

    def _check_stream(self, stream: str) -> None:
        if stream not in STREAMS:
            raise ConnectorError(f"zoho {self.name} has no stream {stream!r}; streams: {', '.join(STREAMS)}")

    def fields(self, stream: str) -> list[str]:
        """The `fields` list a read asks for (mapped fields this org has, plus the cursor and external id)."""
        self._check_stream(stream)
        return self._reader.fields(stream)

    def read(self, stream: str, cursor: Mapping[str, Any] | None, *, since: datetime | None = None,
             until: datetime | None = None) -> Iterator[StreamPage]:
        """Records modified in [since, until) (both optional), resuming after `cursor`; ascending Modified_Time.

        Without `until` the read also lists the recycle bin since the cursor's deletion watermark."""
        self._check_stream(stream)
        if any(moment is not None and moment.tzinfo is None for moment in (since, until)):
            raise ConnectorError(f"zoho {self.name}: since/until must be timezone-aware (UTC) datetimes")
        position = ZohoCursor.from_cursor(cursor, stream)
        start = position.modified.moment
        if since is not None and (start is None or since > start):
            start = since
        yield from self._reader.pages(Window(stream, start, until, with_deletes=until is None), position)

    def fetch(self, stream: str, ids: Sequence[str]) -> list[SourceRecord]:
        """Current state of records by Zoho id (for notifications, which carry ids only)."""
        self._check_stream(stream)
        return self._reader.fetch(stream, ids)

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        """Upserts and deletes (to the recycle bin) in one call; results in input order."""
        self._check_stream(stream)
        return self._writer.write(stream, items)

    def list_ids(self, stream: str) -> Iterator[list[str]]:
        """Pages of the ids of every live record (`fields=id`, page_token past 2,000): records deleted for good
        or expired from the recycle bin, which no read reports, are the ids missing here."""
        self._check_stream(stream)
        return self._reader.id_pages(stream)

    # -- notifications --------------------------------------------------------------------------------
    @property
    def notifications_configured(self) -> bool:
        """Whether this connection asks for notifications (notify_url and notification_token set)."""
        return self.settings.notify_url is not None and self.settings.notification_token is not None

    def subscribe(self, now: datetime | None = None) -> datetime:
        """Enable the watch channel for every stream; returns its expiry."""
        return self.channel.subscribe(now)

    def renew_if_needed(self, now: datetime) -> bool:
        """Renew the channel when it is close to expiry; True when a call was made."""
        return self.channel.renew_if_needed(now)

    def verify_notification(self, body: bytes) -> ZohoNotification:
        token = self.settings.notification_token
        if token is None:
            raise NotificationRejected(f"zoho {self.name}: no notification_token configured")
        return verify_notification(body, token.get_secret_value(), self.settings.channel_id)

    def records_for(self, notification: ZohoNotification) -> list[SourceRecord]:
        """What to ingest for a verified notification: fetched records, or deletions (which cannot be fetched)."""
        self._check_stream(notification.module)
        if notification.operation == "delete":
            return [SourceRecord(system="zoho", object=notification.module, external_id=record_id,
                                 modified_at=notification.server_time, payload={"id": record_id}, deleted=True,
                                 connection=self.name) for record_id in notification.ids]
        return self.fetch(notification.module, notification.ids)

    def close(self) -> None:
        self.client.close()
