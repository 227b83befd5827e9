"""What a vendor's webhook adapter does for the receiver, as data and one small protocol.

At the door (`accept`): verify the request on its raw bytes and split it into events, each with the
vendor's own event id (the inbox de-duplicates on it). After the events are stored: `reply` (Salesforce
wants a SOAP Ack, HubSpot an empty 200). Later, off the request path: `records` turns stored event payloads
into SourceRecords for the one ingest path, fetching thin notices in batches where the vendor sends ids.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from crmsync.errors import ConfigError, CrmsyncError
from crmsync.sync_engine.records import SourceRecord


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    url: str  # the full URL as the vendor called it (signatures cover it)
    headers: Mapping[str, str]  # lower-cased names
    query: Mapping[str, str]
    body: bytes
    received_at: datetime


@dataclass(frozen=True)
class InboundEvent:
    event_id: str
    payload: dict[str, Any]  # JSON-able; what `records` needs later
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class WebhookReply:
    status: int = 200
    body: bytes = b""
    media_type: str = "text/plain"
    headers: Mapping[str, str] = field(default_factory=dict)


class WebhookRejected(CrmsyncError):
    """The request is refused: 401 (signature, secret, stale timestamp) or 400 (malformed). The message is
    logged as one line and never carries a secret."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class WebhookAdapter(Protocol):
    def accept(self, request: WebhookRequest) -> list[InboundEvent]: ...

    def reply(self, events: Sequence[InboundEvent]) -> WebhookReply: ...

    def records(self, payloads: Sequence[Mapping[str, Any]]) -> list[SourceRecord]: ...


# system → module whose `build_adapter(connector, config, settings)` makes the adapter
ADAPTER_MODULES: dict[str, str] = {
    "salesforce": "crmsync.connectors.salesforce.webhook",
    "hubspot": "crmsync.connectors.hubspot.webhook",
    "zoho": "crmsync.connectors.zoho.webhook",
    "stripe": "crmsync.connectors.stripe.webhook",
    "razorpay": "crmsync.connectors.razorpay.webhook",
    "five9": "crmsync.connectors.five9.webhook",
}


def has_adapter(system: str) -> bool:
    return system in ADAPTER_MODULES


def build_adapter(system: str, connector: Any, config: Any, public_url: str | None) -> WebhookAdapter:
    module_name = ADAPTER_MODULES.get(system)
    if module_name is None:
        raise ConfigError(f"{system} connections do not receive webhooks in this version")
    adapter: WebhookAdapter = importlib.import_module(module_name).build_adapter(connector, config, public_url)
    return adapter
