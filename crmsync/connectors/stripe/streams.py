"""Reading streams: incremental from the Events API, backfills (and the retention fallback) by listing objects.

Events are listed from the cursor's `created` (inclusive, so same-second siblings are not lost), collected
newest-first as Stripe pages them, then processed oldest-first in pages; event ids already delivered at the
cursor's second are skipped. Each page re-reads the objects its events touch, so a record is the object's
current state, whatever order events arrived in. When the cursor is older than Stripe's 30-day event
retention the events in between are gone: the stream is re-read by `created` instead, and a log line says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crmsync.connectors.base import ConnectorError, StreamPage
from crmsync.connectors.stripe.client import NotFound, StripeApiClient
from crmsync.connectors.stripe.records import (
    Obj,
    deleted_record,
    listed_at,
    owner_of,
    stands_alone,
    to_source_record,
)

log = logging.getLogger("crmsync.connectors.stripe")
_CHARGE_EVENTS = ("charge.succeeded", "charge.failed", "charge.captured", "charge.refunded", "charge.updated")


@dataclass(frozen=True)
class StreamDef:
    resource: str  # attribute of StripeClient.v1
    event_types: tuple[str, ...]
    expand: tuple[str, ...] = ()


STREAMS: dict[str, StreamDef] = {
    "customers": StreamDef("customers", ("customer.created", "customer.updated", "customer.deleted")),
    "payment_intents": StreamDef("payment_intents", (
        "payment_intent.created", "payment_intent.succeeded", "payment_intent.payment_failed",
        "payment_intent.canceled", "payment_intent.processing", "payment_intent.requires_action",
        "payment_intent.amount_capturable_updated", *_CHARGE_EVENTS), ("latest_charge",)),
    "charges": StreamDef("charges", _CHARGE_EVENTS),
    "invoices": StreamDef("invoices", (
        "invoice.finalized", "invoice.paid", "invoice.payment_failed", "invoice.payment_succeeded",
        "invoice.voided", "invoice.marked_uncollectible", "invoice.updated", *_CHARGE_EVENTS), ("charge",)),
}


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def events_cursor(created: int, event_ids: list[str] | set[str], last_event_id: str | None) -> dict[str, Any]:
    return {"mode": "events", "created": created, "event_ids": sorted(set(event_ids)), "last_event_id": last_event_id}


class StreamReader:
    def __init__(self, client: StripeApiClient, connection: str) -> None:
        self.client, self.connection = client, connection
        self.settings = client.settings

    def _resource(self, stream: str) -> Any:
        return getattr(self.client.v1, STREAMS[stream].resource)

    # -- events ---------------------------------------------------------------------------------------
    def newest_event(self) -> Obj | None:
        page = self.client.call("reading the newest event", self.client.v1.events.list, params={"limit": 1})
        return page.data[0].to_dict() if page.data else None

    def start_marker(self) -> dict[str, Any]:
        """Where events take over after a listing made from now on: the newest event's second, with every event
        of that second already counted as delivered (the listing shows their effect)."""
        newest = self.newest_event()
        if newest is None:
            return events_cursor(0, [], None)
        second = newest["created"]
        same_second = [event["id"] for event in self._events_since(None, second) if event["created"] == second]
        return events_cursor(second, same_second, newest["id"])

    def expired(self, cursor: Mapping[str, Any], newest: Obj | None) -> bool:
        """Has Stripe dropped events after this cursor? (its last event is gone, or the newest is >30 days on)"""
        last_event_id = cursor.get("last_event_id")
        if last_event_id:
            try:
                self.client.call("checking the cursor's event", self.client.v1.events.retrieve, last_event_id)
            except NotFound:
                return True
        retention = self.settings.event_retention_days * 86400
        return newest is not None and newest["created"] - int(cursor.get("created") or 0) > retention

    def _events_since(self, stream: str | None, created: int) -> list[Obj]:
        """Events from `created` on (of the stream's types, or all), oldest first."""
        params: dict[str, Any] = {"created": {"gte": created}, "limit": self.settings.page_size}
        if stream is not None:
            params["types"] = list(STREAMS[stream].event_types)
        events: list[Obj] = []
        seen: set[str] = set()
        while True:
            page = self.client.call(f"listing {stream or 'all'} events", self.client.v1.events.list, params=params)
            batch = [event.to_dict() for event in page.data]
            if any(event["id"] in seen for event in batch):  # a misbehaving API must not loop us forever
                raise ConnectorError(f"stripe {self.connection}: the events list repeated a page")
            seen.update(event["id"] for event in batch)
            events += batch
            if not page.has_more or not batch:
                return events[::-1]  # oldest first
            params["starting_after"] = batch[-1]["id"]

    def event_pages(self, stream: str, cursor: Mapping[str, Any], newest: Obj | None) -> Iterator[StreamPage]:
        """The stream's events after the cursor, oldest first; then the watermark moves up to `newest` (the
        account's newest event, read before this stream's), so a stream that had no events of its own keeps
        up with the others instead of looking older than Stripe's retention and being listed again in full."""
        created, delivered = int(cursor.get("created") or 0), set(cursor.get("event_ids") or [])
        last_event_id = cursor.get("last_event_id")
        pending = [e for e in self._events_since(stream, created)
                   if not (e["created"] == created and e["id"] in delivered)]
        owners = [owner_of(event["data"]["object"]) for event in pending]
        # An object changed several times in this read is fetched once, in the page of its last change.
        last_change = {owner[1]: index for index, owner in enumerate(owners) if owner and owner[0] == stream}
        for offset in range(0, len(pending), self.settings.page_size):
            chunk = pending[offset : offset + self.settings.page_size]
            touched: dict[str, int] = {}  # owner id -> time of its last change
            for index, event in enumerate(chunk, start=offset):
                owner = owners[index]
                if owner is not None and owner[0] == stream and last_change[owner[1]] == index:
                    touched[owner[1]] = event["created"]
                if event["created"] != created:
                    created, delivered = event["created"], set()
                delivered.add(event["id"])
                last_event_id = event["id"]
            records = [self.fetch_one(stream, object_id, at(moment)) for object_id, moment in touched.items()]
            yield StreamPage(stream, [r for r in records if r is not None],
                             events_cursor(created, delivered, last_event_id))
        if newest is not None and newest["created"] > created:
            # None of this stream's events is at or after that second (they would be pending, and read above):
            # an event of its types arriving in it later is still read, the next read being `created >=`.
            yield StreamPage(stream, [], events_cursor(newest["created"], [], newest["id"]))

    def fetch_one(self, stream: str, object_id: str, modified_at: datetime) -> Any:
        """Current state of one object as a SourceRecord (a deleted customer as a delete)."""
        params = {"expand": list(STREAMS[stream].expand)} if STREAMS[stream].expand else None
        try:
            obj = self.client.call(f"reading {stream} {object_id}", self._resource(stream).retrieve, object_id,
                                   params=params).to_dict()
        except NotFound:
            if stream == "customers":
                return deleted_record(stream, object_id, modified_at, self.connection)
            raise
        if obj.get("deleted"):
            return deleted_record(stream, object_id, modified_at, self.connection)
        if stream == "invoices" and obj.get("status") == "draft":
            return None  # a draft is not a payment yet; finalizing it emits the event that brings it in
        return to_source_record(stream, obj, modified_at, self.connection, self.settings.deal_reference_key)

    # -- listings -------------------------------------------------------------------------------------
    def id_pages(self, stream: str) -> Iterator[list[str]]:
        """Ids of the live objects this stream reads (deleted customers are not listed), a page at a time."""
        params: dict[str, Any] = {"limit": self.settings.page_size}
        while True:
            page = self.client.call(f"listing {stream} ids", self._resource(stream).list, params=params)
            objs = [item.to_dict() for item in page.data]
            ids = [str(obj["id"]) for obj in objs if stands_alone(stream, obj)]
            if ids:
                yield ids
            if not page.has_more or not objs:
                return
            params["starting_after"] = objs[-1]["id"]

    def list_pages(self, stream: str, since: int | None, until: int | None, starting_after: str | None,
                   then: Mapping[str, Any] | None) -> Iterator[StreamPage]:
        """Objects created in [since, until), newest first (Stripe's order), each page resumable after its last id.

        The last page's cursor is `then` (the events cursor to continue from) when given."""
        created: dict[str, int] = {}
        if since is not None:
            created["gte"] = since
        if until is not None:
            created["lt"] = until
        params: dict[str, Any] = {"limit": self.settings.page_size,
                                  **({"created": created} if created else {}),
                                  **({"expand": [f"data.{field}" for field in STREAMS[stream].expand]}
                                     if STREAMS[stream].expand else {})}
        while True:
            if starting_after:
                params["starting_after"] = starting_after
            page = self.client.call(f"listing {stream}", self._resource(stream).list, params=params)
            objs = [item.to_dict() for item in page.data]
            read_at = datetime.now(UTC)
            records = [to_source_record(stream, obj, listed_at(stream, obj, read_at), self.connection,
                                        self.settings.deal_reference_key) for obj in objs if stands_alone(stream, obj)]
            if objs:
                starting_after = objs[-1]["id"]
            done = not page.has_more or not objs
            cursor = dict(then) if done and then is not None else {
                "mode": "backfill", "since": since, "until": until, "starting_after": starting_after,
                "then": dict(then) if then is not None else None, "done": done}
            yield StreamPage(stream, records, cursor)
            if done:
                return
