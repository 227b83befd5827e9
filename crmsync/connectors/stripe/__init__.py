"""The Stripe connector: customers and payments in (Events API, listings), customer metadata out, webhooks.

    connector = StripeConnector(StripeSettings(api_key=...), name="stripe")
    for page in connector.read("payment_intents", checkpoint):   # store page.records and page.cursor together
        ...
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from crmsync.connectors.base import Capability, ConnectorError, StreamPage, WriteItem, WriteResult
from crmsync.connectors.stripe.client import StripeApiClient
from crmsync.connectors.stripe.currency import stripe_amount, stripe_exponent
from crmsync.connectors.stripe.settings import StripeSettings
from crmsync.connectors.stripe.streams import STREAMS, StreamReader, at
from crmsync.connectors.stripe.webhooks import StripeEvent, WebhookSignatureError, parse_event, verify_signature
from crmsync.connectors.stripe.writer import StripeWriter
from crmsync.sync_engine.records import SourceRecord

__all__ = ["StripeConnector", "StripeEvent", "StripeSettings", "WebhookSignatureError", "parse_event",
           "stripe_amount", "stripe_exponent", "verify_signature"]

log = logging.getLogger("crmsync.connectors.stripe")


def _unix(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ConnectorError("stripe: since/until must be timezone-aware (UTC) datetimes")
    return int(moment.timestamp())


class StripeConnector:
    system = "stripe"
    # No DELETE_WRITES: a payment provider's customers are not deleted because a CRM deleted a lead.
    capabilities = frozenset({Capability.INCREMENTAL, Capability.BACKFILL, Capability.DELETES,
                              Capability.WRITE_BACK, Capability.WEBHOOKS, Capability.ID_LISTING})

    def __init__(self, settings: StripeSettings, *, name: str = "stripe") -> None:
        self.name, self.settings = name, settings
        self.client = StripeApiClient(settings, name)
        self._reader = StreamReader(self.client, name)
        self._writer = StripeWriter(self.client)

    def streams(self) -> Sequence[str]:
        return tuple(STREAMS)

    def _check_stream(self, stream: str) -> None:
        if stream not in STREAMS:
            raise ConnectorError(f"stripe {self.name} has no stream {stream!r}; streams: {', '.join(STREAMS)}")

    def read(self, stream: str, cursor: Mapping[str, Any] | None, *, since: datetime | None = None,
             until: datetime | None = None) -> Iterator[StreamPage]:
        """Incremental from the Events API after `cursor`; a first read (no cursor) or a window lists objects by
        `created` first. A cursor older than event retention falls back to listing, with a warning."""
        self._check_stream(stream)
        start, end = _unix(since), _unix(until)
        mode = (cursor or {}).get("mode")
        if start is not None or end is not None:
            resume = cursor.get("starting_after") if cursor and mode == "backfill" and not cursor.get("done") and (
                cursor.get("since"), cursor.get("until")) == (start, end) else None
            yield from self._reader.list_pages(stream, start, end, resume, None)
            return
        if cursor is None or mode is None:
            log.info("stripe %s: first read of %s: listing every object, then following events", self.name, stream)
            yield from self._reader.list_pages(stream, None, None, None, self._reader.start_marker())
            return
        if mode == "backfill":
            yield from self._reader.list_pages(stream, cursor.get("since"), cursor.get("until"),
                                               cursor.get("starting_after"), cursor.get("then"))
            return
        if mode != "events":
            raise ConnectorError(f"stripe {self.name}: the {stream} checkpoint is not a Stripe cursor ({mode!r}); "
                                 "reset the stream's checkpoint to re-read it")
        newest = self._reader.newest_event()
        if self._reader.expired(cursor, newest):
            created = int(cursor.get("created") or 0)
            log.warning("stripe %s: the %s cursor (%s) is older than Stripe's %d-day event retention; re-reading "
                        "%s created since then by listing instead of from events (updates to older objects in that "
                        "gap are not recoverable)", self.name, stream, at(created).isoformat(),
                        self.settings.event_retention_days, stream)
            yield from self._reader.list_pages(stream, created, None, None, self._reader.start_marker())
            return
        yield from self._reader.event_pages(stream, cursor, newest)

    def fetch(self, stream: str, ids: Sequence[str]) -> list[SourceRecord]:
        """Current state of objects by Stripe id (after a webhook, for one mapping path)."""
        self._check_stream(stream)
        now = datetime.now().astimezone()
        records = [self._reader.fetch_one(stream, object_id, now) for object_id in ids]
        return [record for record in records if record is not None]

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        self._check_stream(stream)
        return self._writer.write(stream, items)

    def list_ids(self, stream: str) -> Iterator[list[str]]:
        """Pages of the ids of the live objects a stream reads (customers: every customer not deleted), for the
        deletes whose events are past Stripe's 30-day retention."""
        self._check_stream(stream)
        return self._reader.id_pages(stream)

    def verify_webhook(self, body: bytes, header: str | None, now: float) -> StripeEvent:
        """Verify with the configured secrets, then parse; WebhookSignatureError → answer 400, keep nothing."""
        secrets = [secret.get_secret_value() for secret in self.settings.webhook_secrets]
        verify_signature(body, header, secrets, now, self.settings.webhook_tolerance_seconds)
        return parse_event(body)

    def close(self) -> None:
        self.client.close()
