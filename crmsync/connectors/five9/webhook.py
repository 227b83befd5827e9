"""Five9 web connectors at the receiver: GET (query string) or POST (form), authenticated by the shared
secret parameter in constant time. Duplicates repeat the request exactly, so its hash is the inbox key;
the call record is built when the inbox is processed (calls carry their values, nothing to fetch)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.five9 import Five9Connector
from crmsync.connectors.five9.web_connector import WebConnectorRejected
from crmsync.receiver.events import InboundEvent, WebhookRejected, WebhookReply, WebhookRequest
from crmsync.sync_engine.records import SourceRecord


class Five9WebhookAdapter:
    def __init__(self, connector: Five9Connector) -> None:
        self.connector = connector

    def accept(self, request: WebhookRequest) -> list[InboundEvent]:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)) \
            if request.method == "POST" else {}
        query = dict(request.query)
        try:
            record = self.connector.web_connector_record(request.method, query, form)
        except WebConnectorRejected as exc:
            raise WebhookRejected(str(exc), 401) from None
        key = hashlib.sha256(request.method.encode() + repr(sorted(query.items())).encode()
                             + repr(sorted(form.items())).encode()).hexdigest()
        return [InboundEvent(key, {"method": request.method, "query": query, "form": form}, record.modified_at)]

    def reply(self, events: Sequence[InboundEvent]) -> WebhookReply:
        return WebhookReply(200, b"OK", "text/plain")

    def records(self, payloads: Sequence[Mapping[str, Any]]) -> list[SourceRecord]:
        records: list[SourceRecord] = []
        for payload in payloads:
            records += self.connector.web_connector_records(str(payload["method"]), dict(payload["query"]),
                                                            dict(payload["form"]))
        return records


def build_adapter(connector: Five9Connector, config: ConnectionConfig, public_url: str | None
                  ) -> Five9WebhookAdapter:
    return Five9WebhookAdapter(connector)
