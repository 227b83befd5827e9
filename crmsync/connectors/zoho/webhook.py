"""Zoho watch notifications at the receiver: token and channel checked in constant time, ids fetched later.

A notification carries the module, the operation and the ids of affected records, never trustworthy values,
so processing fetches those records (one call per module) and turns deletes into deletes. Zoho gives no
event id; a redelivery repeats the body byte for byte, so the body's hash is the inbox key.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.base import ConnectorError
from crmsync.connectors.zoho import NotificationRejected, ZohoConnector
from crmsync.receiver.events import InboundEvent, WebhookRejected, WebhookReply, WebhookRequest
from crmsync.sync_engine.records import SourceRecord


class ZohoWebhookAdapter:
    def __init__(self, connector: ZohoConnector) -> None:
        self.connector = connector

    def accept(self, request: WebhookRequest) -> list[InboundEvent]:
        try:
            notification = self.connector.verify_notification(request.body)
        except NotificationRejected as exc:
            raise WebhookRejected(str(exc), 401) from None
        except ConnectorError as exc:
            raise WebhookRejected(str(exc), 400) from None
        payload = {"module": notification.module, "operation": notification.operation,
                   "ids": list(notification.ids), "server_time": notification.server_time.isoformat()}
        return [InboundEvent(hashlib.sha256(request.body).hexdigest(), payload, notification.server_time)]

    def reply(self, events: Sequence[InboundEvent]) -> WebhookReply:
        return WebhookReply(200)

    def records(self, payloads: Sequence[Mapping[str, Any]]) -> list[SourceRecord]:
        records: list[SourceRecord] = []
        to_fetch: dict[str, list[str]] = defaultdict(list)
        for payload in payloads:
            module = str(payload["module"])
            if module not in self.connector.streams():
                continue
            ids = [str(record_id) for record_id in payload["ids"]]
            if payload["operation"] == "delete":
                moment = datetime.fromisoformat(str(payload["server_time"]))
                records += [SourceRecord("zoho", module, record_id, moment, {"id": record_id}, deleted=True,
                                         connection=self.connector.name) for record_id in ids]
            else:
                to_fetch[module] += [i for i in ids if i not in to_fetch[module]]
        for module, ids in to_fetch.items():
            records += self.connector.fetch(module, ids)
        return records


def build_adapter(connector: ZohoConnector, config: ConnectionConfig, public_url: str | None) -> ZohoWebhookAdapter:
    return ZohoWebhookAdapter(connector)
