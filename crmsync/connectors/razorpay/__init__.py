"""The Razorpay connector: customers, orders and payments by created-at windows; webhook verification.

    connector = RazorpayConnector(RazorpaySettings(key_id=..., key_secret=...), name="razorpay")
    for page in connector.read("orders", checkpoint):   # store page.records and page.cursor together
        ...

Razorpay lists filter on creation time only, so an incremental read re-reads `lookback_seconds` before the
cursor to catch recent status changes (capture, refund); older changes arrive by webhook (`order.paid`,
`payment.captured`, `refund.processed`) and `fetch`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from crmsync.connectors.base import Capability, ConnectorError, StreamPage, WriteItem, WriteResult
from crmsync.connectors.razorpay.client import RazorpayApiClient
from crmsync.connectors.razorpay.settings import RazorpaySettings
from crmsync.connectors.razorpay.streams import STREAMS, Progress, StreamReader
from crmsync.connectors.razorpay.webhooks import RazorpayEvent, WebhookSignatureError, parse_event, verify_signature
from crmsync.sync_engine.records import SourceRecord

__all__ = ["RazorpayConnector", "RazorpayEvent", "RazorpaySettings", "WebhookSignatureError", "parse_event",
           "verify_signature"]


def _unix(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ConnectorError("razorpay: since/until must be timezone-aware (UTC) datetimes")
    return int(moment.timestamp())


class RazorpayConnector:
    system = "razorpay"
    capabilities = frozenset({Capability.INCREMENTAL, Capability.BACKFILL, Capability.WEBHOOKS})

    def __init__(self, settings: RazorpaySettings, *, name: str = "razorpay") -> None:
        self.name, self.settings = name, settings
        self.client = RazorpayApiClient(settings, name)
        self._reader = StreamReader(self.client, name)

    def streams(self) -> Sequence[str]:
        return STREAMS

    def _check_stream(self, stream: str) -> None:
        if stream not in STREAMS:
            raise ConnectorError(f"razorpay {self.name} has no stream {stream!r}; streams: {', '.join(STREAMS)}")

    def read(self, stream: str, cursor: Mapping[str, Any] | None, *, since: datetime | None = None,
             until: datetime | None = None) -> Iterator[StreamPage]:
        """Entities created in [since, until) — or since the cursor (minus lookback) up to the newest — in
        windows that fit the skip cap; each page's cursor resumes right after it."""
        self._check_stream(stream)
        progress = Progress.from_cursor(cursor)
        window = (cursor or {}).get("window")
        if window is not None:  # an interrupted read: finish it up to where it was going
            yield from self._reader.pages(stream, int(window["from"]), int(cursor["end"]), progress, window)
            return
        start, stop = _unix(since), _unix(until)
        if start is None:
            start = 0 if progress.watermark is None else max(0, progress.watermark - self.settings.lookback_seconds)
        end = stop - 1 if stop is not None else self._reader.newest(stream)
        if end is None or end < start:
            yield StreamPage(stream, [], {"watermark": progress.watermark, "ids": sorted(progress.ids or []),
                                          "end": end, "window": None})
            return
        if progress.watermark is not None and self.settings.lookback_seconds and start < progress.watermark:
            progress = Progress()  # a lookback re-read delivers again on purpose; ingest skips what is unchanged
        yield from self._reader.pages(stream, start, end, progress)

    def fetch(self, stream: str, ids: Sequence[str]) -> list[SourceRecord]:
        """Current state by Razorpay id (after a webhook)."""
        self._check_stream(stream)
        sdk = self.client.sdk
        fetch_one = {"customers": sdk.customer.fetch, "orders": sdk.order.fetch, "payments": sdk.payment.fetch}[stream]
        entities = [self.client.call(f"reading {stream} {entity_id}", fetch_one, entity_id) for entity_id in ids]
        return self._reader.to_records(stream, entities)

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        raise ConnectorError(f"razorpay {self.name}: write-back is not supported (read-only connector)")

    def verify_webhook(self, body: bytes, signature: str | None, event_id: str | None) -> RazorpayEvent:
        if self.settings.webhook_secret is None:
            raise WebhookSignatureError(f"razorpay {self.name}: set webhook_secret to accept webhooks")
        verify_signature(body, signature, self.settings.webhook_secret.get_secret_value())
        return parse_event(body, event_id)

    def close(self) -> None:
        self.client.close()
