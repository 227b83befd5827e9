"""Stripe webhooks at the receiver: `Stripe-Signature` checked on the raw body (any configured secret, so a
rotation is seamless), the event id kept for de-duplication; processing fetches the object the event is
about (its owner: a refund updates its payment), as the Events API reader does."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.stripe import StripeConnector
from crmsync.connectors.stripe.records import owner_of
from crmsync.connectors.stripe.webhooks import WebhookSignatureError
from crmsync.receiver.events import InboundEvent, WebhookRejected, WebhookReply, WebhookRequest
from crmsync.sync_engine.records import SourceRecord


class StripeWebhookAdapter:
    def __init__(self, connector: StripeConnector) -> None:
        self.connector = connector

    def accept(self, request: WebhookRequest) -> list[InboundEvent]:
        try:
            event = self.connector.verify_webhook(request.body, request.headers.get("stripe-signature"),
                                                  request.received_at.timestamp())
        except WebhookSignatureError as exc:
            raise WebhookRejected(str(exc), 401) from None
        raw = json.loads(request.body)
        return [InboundEvent(event.id, {"id": event.id, "type": event.type, "created": event.created,
                                        "object": raw["data"]["object"]},
                             datetime.fromtimestamp(event.created, UTC))]

    def reply(self, events: Sequence[InboundEvent]) -> WebhookReply:
        return WebhookReply(200)

    def records(self, payloads: Sequence[Mapping[str, Any]]) -> list[SourceRecord]:
        latest: dict[tuple[str, str], int] = {}
        for payload in payloads:
            owner = owner_of(dict(payload["object"]))
            if owner is not None and owner[0] in self.connector.streams():
                latest[owner] = max(latest.get(owner, 0), int(payload["created"]))
        return [record for (stream, object_id), created in latest.items()
                if (record := self.connector._reader.fetch_one(stream, object_id,
                                                               datetime.fromtimestamp(created, UTC))) is not None]


def build_adapter(connector: StripeConnector, config: ConnectionConfig, public_url: str | None
                  ) -> StripeWebhookAdapter:
    return StripeWebhookAdapter(connector)
