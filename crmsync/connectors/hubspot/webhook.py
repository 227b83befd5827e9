"""HubSpot webhooks at the receiver: signature checked on the raw body, events kept one by one.

A property change carries the new value and when it happened, so it becomes a sparse record asserting just
that property at that time: any delivery order gives the same result, because source timestamps decide.
Creations, merges, restores and association changes carry ids only: those records are fetched, in one
batch per object type, when the inbox is processed. Deletions become deletes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.base import ConnectorError
from crmsync.connectors.hubspot import HubSpotConnector
from crmsync.connectors.hubspot.webhooks import WebhookNotice, WebhookSignatureError, parse_events, verify_signature
from crmsync.errors import ConfigError
from crmsync.receiver.events import InboundEvent, WebhookRejected, WebhookReply, WebhookRequest
from crmsync.sync_engine.records import SourceRecord

DELETIONS = frozenset({"deletion", "privacyDeletion"})


class HubSpotWebhookAdapter:
    def __init__(self, connector: HubSpotConnector, client_secret: str) -> None:
        self.connector, self.client_secret = connector, client_secret

    def accept(self, request: WebhookRequest) -> list[InboundEvent]:
        try:
            verify_signature(request.method, request.url, request.body, request.headers, self.client_secret,
                             now=request.received_at)
        except WebhookSignatureError as exc:
            raise WebhookRejected(str(exc), 401) from None
        try:
            notices = parse_events(request.body)
        except ConnectorError as exc:
            raise WebhookRejected(str(exc), 400) from None
        raw = json.loads(request.body)
        return [InboundEvent(notice.event_id or f"{notice.subscription_type}:{notice.object_id}:"
                             f"{int(notice.occurred_at.timestamp() * 1000)}", event, notice.occurred_at)
                for notice, event in zip(notices, raw, strict=True)]

    def reply(self, events: Sequence[InboundEvent]) -> WebhookReply:
        return WebhookReply(204)

    def records(self, payloads: Sequence[Mapping[str, Any]]) -> list[SourceRecord]:
        notices = parse_events(json.dumps(list(payloads)).encode())
        records: list[SourceRecord] = []
        to_fetch: list[WebhookNotice] = []
        for notice in notices:
            stream = notice.object_type
            if stream is None or stream not in self.connector.streams():
                continue
            if notice.change == "propertyChange":
                record = self._property_change(stream, notice)
                if record is not None:
                    records.append(record)
            elif notice.change in DELETIONS:
                records.append(SourceRecord("hubspot", stream, notice.object_id, notice.occurred_at,
                                            {"id": notice.object_id}, deleted=True, connection=self.connector.name))
            else:
                to_fetch.append(notice)
        return records + self.connector.fetch_notices(to_fetch)

    def _property_change(self, stream: str, notice: WebhookNotice) -> SourceRecord | None:
        name = notice.property_name
        if not name or name not in self.connector.properties(stream):
            return None  # a property this connection does not read
        value = notice.property_value
        cleared = frozenset({f"properties.{name}"}) if value in (None, "") else frozenset()
        # One property of the record: `partial`, so the fields it leaves out say nothing about their values.
        return SourceRecord("hubspot", stream, notice.object_id, notice.occurred_at,
                            {"id": notice.object_id, "properties": {} if cleared else {name: value}},
                            cleared=cleared, connection=self.connector.name, partial=True)


def build_adapter(connector: HubSpotConnector, config: ConnectionConfig, public_url: str | None
                  ) -> HubSpotWebhookAdapter:
    secret = config.secret("client_secret")
    if not secret:
        raise ConfigError(f"connection {config.name}: HubSpot signs webhooks with the app's client secret; add "
                          "credentials.client_secret to receive them")
    return HubSpotWebhookAdapter(connector, secret)
