"""Razorpay webhooks at the receiver: `X-Razorpay-Signature` (HMAC of the raw body) checked in constant time,
`X-Razorpay-Event-Id` as the inbox key (Razorpay redelivers and reorders); processing fetches the entities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.razorpay import RazorpayConnector
from crmsync.connectors.razorpay.webhooks import WebhookSignatureError
from crmsync.receiver.events import InboundEvent, WebhookRejected, WebhookReply, WebhookRequest
from crmsync.sync_engine.records import SourceRecord

ENTITY_STREAMS = {"payment": "payments", "order": "orders", "customer": "customers"}


class RazorpayWebhookAdapter:
    def __init__(self, connector: RazorpayConnector) -> None:
        self.connector = connector

    def accept(self, request: WebhookRequest) -> list[InboundEvent]:
        event_id = request.headers.get("x-razorpay-event-id")
        try:
            event = self.connector.verify_webhook(request.body, request.headers.get("x-razorpay-signature"), event_id)
        except WebhookSignatureError as exc:
            raise WebhookRejected(str(exc), 401) from None
        if not event_id:
            raise WebhookRejected("no X-Razorpay-Event-Id header: cannot de-duplicate this event", 400)
        ids = {name: str(entity["id"]) for name, entity in event.entities.items() if "id" in entity}
        return [InboundEvent(event_id, {"event": event.event, "created_at": event.created_at, "ids": ids},
                             datetime.fromtimestamp(event.created_at, UTC))]

    def reply(self, events: Sequence[InboundEvent]) -> WebhookReply:
        return WebhookReply(200)

    def records(self, payloads: Sequence[Mapping[str, Any]]) -> list[SourceRecord]:
        wanted: dict[str, list[str]] = {}
        for payload in payloads:
            for name, entity_id in dict(payload["ids"]).items():
                stream = ENTITY_STREAMS.get(name)
                if stream is not None and entity_id not in wanted.setdefault(stream, []):
                    wanted[stream].append(entity_id)
        return [record for stream, ids in wanted.items() for record in self.connector.fetch(stream, ids)]


def build_adapter(connector: RazorpayConnector, config: ConnectionConfig, public_url: str | None
                  ) -> RazorpayWebhookAdapter:
    return RazorpayWebhookAdapter(connector)
