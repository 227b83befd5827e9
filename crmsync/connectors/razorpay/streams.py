"""Reading customers, orders and payments by `created_at` windows with `skip` paging.

Razorpay lists filter on creation time only (`from`/`to`, inclusive) and page by `skip`, newest first,
with no has-more flag (a short page is the last) and a cap on how far `skip` may go. So a read covers
[cursor - lookback, newest] in windows, oldest first; before paging a window it probes the item at the skip
cap, and a window holding that many items is halved until each half fits. The cursor is the last second
fully read plus the ids seen in it (inclusive re-reads never deliver them twice), and inside a window the
window and the next skip, so a read resumes after any page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from crmsync.connectors.base import ConnectorError, StreamPage
from crmsync.connectors.razorpay.client import RazorpayApiClient
from crmsync.connectors.razorpay.records import Entity, customer_record, order_record, payment_record
from crmsync.sync_engine.records import SourceRecord

STREAMS = ("customers", "orders", "payments")


@dataclass
class Progress:
    """Everything created at or before `watermark` has been delivered (plus `ids` at exactly that second)."""

    watermark: int | None = None
    ids: set[str] | None = None

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any] | None) -> Progress:
        if not cursor:
            return cls()
        try:
            watermark = cursor.get("watermark")
            return cls(None if watermark is None else int(watermark), set(cursor.get("ids") or []))
        except (TypeError, ValueError):
            raise ConnectorError("the Razorpay checkpoint is not a Razorpay cursor; reset the stream's checkpoint "
                                 "to re-read it") from None

    def delivered(self, entity: Entity) -> bool:
        return entity["created_at"] == self.watermark and entity["id"] in (self.ids or set())


class StreamReader:
    def __init__(self, client: RazorpayApiClient, connection: str) -> None:
        self.client, self.connection, self.settings = client, connection, client.settings

    def _list(self, stream: str) -> Callable[..., Any]:
        sdk = self.client.sdk
        return {"customers": sdk.customer.all, "orders": sdk.order.all, "payments": sdk.payment.all}[stream]

    def _page(self, stream: str, start: int, end: int, skip: int, count: int) -> list[Entity]:
        body = self.client.call(f"listing {stream} {start}..{end} skip {skip}", self._list(stream),
                                {"from": start, "to": end, "skip": skip, "count": count})
        return list(body.get("items") or [])

    def newest(self, stream: str) -> int | None:
        body = self.client.call(f"reading the newest {stream}", self._list(stream), {"count": 1})
        items = body.get("items") or []
        return int(items[0]["created_at"]) if items else None

    def fits(self, stream: str, start: int, end: int) -> bool:
        """Fewer items in [start, end] than the skip cap allows to page through?"""
        return not self._page(stream, start, end, self.settings.skip_cap - 1, 1)

    def windows(self, stream: str, start: int, end: int) -> Iterator[tuple[int, int]]:
        """[start, end] cut into windows that each fit under the skip cap, oldest first."""
        pending = [(start, end)]
        while pending:
            low, high = pending.pop()
            if self.fits(stream, low, high):
                yield low, high
                continue
            if low == high:
                raise ConnectorError(f"razorpay {self.connection}: more than {self.settings.skip_cap} {stream} "
                                     f"created in the one second {low}; they cannot be paged with skip")
            middle = (low + high) // 2
            pending += [(middle + 1, high), (low, middle)]  # the older half is read first

    def to_records(self, stream: str, entities: list[Entity]) -> list[SourceRecord]:
        key, name = self.settings.deal_reference_key, self.connection
        if stream == "customers":
            return [customer_record(entity, name) for entity in entities]
        if stream == "payments":  # a payment for an order is read as part of its order
            return [payment_record(entity, name, key) for entity in entities if not entity.get("order_id")]
        records = []
        for order in entities:
            payments = self.client.call(f"reading payments of order {order['id']}", self.client.sdk.order.payments,
                                        order["id"])
            records.append(order_record(order, list(payments.get("items") or []), name, key))
        return records

    def pages(self, stream: str, start: int, end: int, progress: Progress,
              resume: Mapping[str, Any] | None = None) -> Iterator[StreamPage]:
        """Every window of [start, end], oldest first; `resume` ({from, to, skip}) finishes a window first."""
        if resume is not None:
            low, high = int(resume["from"]), int(resume["to"])
            progress = yield from self._window(stream, low, high, int(resume["skip"]), end, progress)
            start = high + 1
        for low, high in self.windows(stream, start, end) if start <= end else ():
            progress = yield from self._window(stream, low, high, 0, end, progress)

    def _window(self, stream: str, low: int, high: int, skip: int, end: int,
                progress: Progress) -> Iterator[StreamPage]:
        """Page one window newest first; each page's cursor resumes after it. Returns the progress after it."""
        seen_at_high = set[str]()
        while True:
            # Never ask past the cap: a window that fits holds fewer items than it, so a short page still ends it.
            count = min(self.settings.page_size, self.settings.skip_cap - skip)
            items = self._page(stream, low, high, skip, count) if count > 0 else []
            fresh = [item for item in items if not progress.delivered(item)]
            seen_at_high |= {item["id"] for item in items if item["created_at"] == high}
            skip += len(items)
            last = count <= 0 or len(items) < count
            done = progress
            if last:  # the whole window is read: the watermark moves to its end
                kept = (progress.ids or set()) if progress.watermark == high else set()
                done = Progress(high, seen_at_high | kept)
            cursor = {"watermark": done.watermark, "ids": sorted(done.ids or []), "end": end,
                      "window": None if last else {"from": low, "to": high, "skip": skip}}
            yield StreamPage(stream, self.to_records(stream, fresh), cursor)
            if last:
                return done
