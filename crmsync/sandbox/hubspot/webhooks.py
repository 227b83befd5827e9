"""Webhook emission: batched JSON arrays of events POSTed to a configured URL, signed, retried on failure.

Like HubSpot: up to 100 events per request; v3 signatures (`X-HubSpot-Signature-v3`, base64 HMAC-SHA256 of
method + URI + body + timestamp with the app's client secret, `X-HubSpot-Request-Timestamp` in ms), or v1/v2
(`X-HubSpot-Signature`, hex SHA-256) when a listener asks; a failed delivery is retried with doubling delays,
`attemptNumber` counting up. A background thread sends; store listeners only enqueue.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.delivery import Backoff, DeliveryState, DeliveryWorker, first_due
from crmsync.sandbox.framework.emulator import SandboxAdminError
from crmsync.sandbox.hubspot.schema import OBJECT_TYPES
from crmsync.sandbox.hubspot.store import ChangeEvent
from crmsync.sandbox.hubspot.values import to_ms

MAX_EVENTS_PER_REQUEST = 100
LEGACY_TYPES = {"contacts", "companies", "deals"}  # others use the generic object.* subscription types


def sign(version: str, secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    if version == "v1":
        return hashlib.sha256(secret.encode() + body).hexdigest()
    if version == "v2":
        return hashlib.sha256(secret.encode() + method.encode() + uri.encode() + body).hexdigest()
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class RetryPolicy:
    initial_seconds: float = 1.0
    max_seconds: float = 3600.0
    max_attempts: int = 10


@dataclass
class WebhookListener:
    subscription_id: int
    url: str
    signature_version: str
    client_secret: str
    subscriptions: tuple[str, ...]  # empty: every subscription type


@dataclass
class Delivery(DeliveryState):
    subscription_id: int
    events: list[dict[str, Any]]


class WebhookEmitter:
    def __init__(self, clock: SandboxClock, portal_id: int, app_id: int, client_secret: str,
                 policy: RetryPolicy) -> None:
        self.clock, self.portal_id, self.app_id, self.client_secret = clock, portal_id, app_id, client_secret
        self.policy = policy
        self._listeners: dict[int, WebhookListener] = {}
        self._pending: dict[int, list[dict[str, Any]]] = {}  # events not yet batched, per subscription
        self._sequence = 0
        # HubSpot gives a receiver five seconds.
        self._worker: DeliveryWorker[Delivery] = DeliveryWorker(
            "sandbox-hubspot-webhooks", self._send,
            Backoff(policy.initial_seconds, policy.max_seconds, max_attempts=policy.max_attempts),
            pick=self._next_due, timeout_seconds=5.0)
        self._condition = self._worker.condition

    @property
    def deliveries(self) -> list[Delivery]:
        return self._worker.deliveries

    # -- configuration --------------------------------------------------------------------------------
    def add_listener(self, config: dict[str, Any]) -> dict[str, Any]:
        url, version = config.get("url"), str(config.get("signature_version", "v3"))
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SandboxAdminError("listener needs an http(s) 'url'")
        if version not in ("v1", "v2", "v3"):
            raise SandboxAdminError("signature_version must be v1, v2 or v3")
        with self._condition:
            self._sequence += 1
            listener = WebhookListener(self._sequence, url, version,
                                       str(config.get("client_secret") or self.client_secret),
                                       tuple(config.get("subscriptions") or ()))
            self._listeners[listener.subscription_id] = listener
        return {k: v for k, v in asdict(listener).items() if k != "client_secret"}

    def listeners(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in asdict(item).items() if k != "client_secret"} for item in self._listeners.values()]

    def clear(self) -> None:
        with self._condition:
            self._listeners.clear()
            self._pending.clear()
            self._worker.clear()

    # -- producing ------------------------------------------------------------------------------------
    def _events(self, change: ChangeEvent) -> list[dict[str, Any]]:
        spec = OBJECT_TYPES[change.object_type]
        prefix = spec.singular if change.object_type in LEGACY_TYPES else "object"
        base: dict[str, Any] = {"portalId": self.portal_id, "appId": self.app_id,
                                "occurredAt": to_ms(self.clock.now()), "subscriptionType": f"{prefix}.{change.kind}",
                                "attemptNumber": 0, "objectId": change.object_id, "changeSource": "CRM"}
        if prefix == "object":
            base["objectTypeId"] = spec.type_id
        flags = {"creation": "CREATED", "deletion": "DELETED", "merge": "MERGED"}
        if change.kind in flags:
            base["changeFlag"] = flags[change.kind]
        if change.kind == "propertyChange":
            return [base | {"propertyName": name, "propertyValue": value} for name, value in change.changes.items()]
        return [base | dict(change.extra)]

    def on_change(self, change: ChangeEvent) -> None:
        if not self._listeners:
            return
        events = self._events(change)
        with self._condition:
            for listener in self._listeners.values():
                for event in events:
                    if listener.subscriptions and event["subscriptionType"] not in listener.subscriptions:
                        continue
                    self._sequence += 1
                    self._pending.setdefault(listener.subscription_id, []).append(
                        event | {"eventId": self._sequence, "subscriptionId": listener.subscription_id})
            self._condition.notify_all()

    # -- sending --------------------------------------------------------------------------------------
    def _next_due(self, deliveries: list[Delivery], now: float) -> Delivery | None:
        """New events go out first, up to 100 a request; then retries whose time has come."""
        for subscription_id, events in list(self._pending.items()):
            if events and subscription_id in self._listeners:
                batch = events[:MAX_EVENTS_PER_REQUEST]
                self._pending[subscription_id] = events[MAX_EVENTS_PER_REQUEST:]
                delivery = Delivery(subscription_id, batch, first_attempt=now, next_attempt=now)
                deliveries.append(delivery)
                return delivery
        return first_due(deliveries, now)

    def headers(self, listener: WebhookListener, body: bytes) -> dict[str, str]:
        timestamp = str(to_ms(self.clock.now()))
        signature = sign(listener.signature_version, listener.client_secret, "POST", listener.url, body, timestamp)
        headers = {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": timestamp}
        if listener.signature_version == "v3":
            return headers | {"X-HubSpot-Signature-v3": signature}
        return headers | {"X-HubSpot-Signature-Version": listener.signature_version, "X-HubSpot-Signature": signature}

    def _send(self, delivery: Delivery, client: httpx.Client) -> httpx.Response | None:
        listener = self._listeners.get(delivery.subscription_id)
        if listener is None:
            return None
        # attemptNumber counts the tries before this one (0 on the first), as HubSpot numbers them.
        events = [event | {"attemptNumber": delivery.attempts - 1} for event in delivery.events]
        body = json.dumps(events).encode()
        return client.post(listener.url, content=body, headers=self.headers(listener, body))

    def close(self) -> None:
        self._worker.close()
