"""Salesforce Outbound Messages at the receiver: check, split into notifications, Ack once stored.

Outbound Messages carry no signature: authenticity rests on the OrganizationId check (the message must
name this connection's org) and, when configured, a shared token in the listener URL (`?token=...`, the
`webhook_token` credential) compared in constant time. Notifications carry the record's current values,
so processing needs no fetch; values are typed with the org's describe, as the REST API would give them.
They carry only the fields the admin selected, so their records are `partial`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.salesforce import SalesforceConnector
from crmsync.connectors.salesforce.bulk import csv_value
from crmsync.connectors.salesforce.outbound import (
    OutboundMessageError,
    OutboundOrgMismatch,
    ack_response,
    parse_outbound_message,
)
from crmsync.connectors.salesforce.streams import STREAMS
from crmsync.receiver.events import InboundEvent, WebhookRejected, WebhookReply, WebhookRequest
from crmsync.sync_engine.records import SourceRecord


class SalesforceWebhookAdapter:
    def __init__(self, connector: SalesforceConnector, token: str | None) -> None:
        self.connector, self.token = connector, token

    def accept(self, request: WebhookRequest) -> list[InboundEvent]:
        if self.token is not None:
            given = request.query.get("token", "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                raise WebhookRejected("outbound message without the listener token (?token=) configured for this "
                                      "connection")
        try:
            notifications = parse_outbound_message(request.body, expected_org_id=self.connector.identity.org_id,
                                                   connection=self.connector.name)
        except OutboundOrgMismatch as exc:
            raise WebhookRejected(str(exc), 401) from None
        except OutboundMessageError as exc:
            raise WebhookRejected(str(exc), 400) from None
        return [InboundEvent(n.notification_id, {"object": n.record.object, "id": n.record.external_id,
                                                 "modified_at": n.record.modified_at.isoformat(),
                                                 "fields": dict(n.record.payload)}, n.record.modified_at)
                for n in notifications]

    def reply(self, events: Sequence[InboundEvent]) -> WebhookReply:
        return WebhookReply(200, ack_response(), "text/xml")

    def records(self, payloads: Sequence[Mapping[str, Any]]) -> list[SourceRecord]:
        records = []
        for payload in payloads:
            object_name = str(payload["object"])
            if object_name not in STREAMS:
                continue  # an object this connector does not sync
            types = self.connector._reader.field_types(object_name)
            fields = {name: value if value is None else csv_value(str(value), types.get(name))
                      for name, value in dict(payload["fields"]).items()}
            records.append(SourceRecord(system="salesforce", object=object_name, external_id=str(payload["id"]),
                                        modified_at=datetime.fromisoformat(str(payload["modified_at"])),
                                        payload=fields, connection=self.connector.name, partial=True))
        return records


def build_adapter(connector: SalesforceConnector, config: ConnectionConfig, public_url: str | None
                  ) -> SalesforceWebhookAdapter:
    return SalesforceWebhookAdapter(connector, config.secret("webhook_token"))
