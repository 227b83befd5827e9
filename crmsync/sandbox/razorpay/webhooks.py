"""Razorpay webhooks: signed with the endpoint's own secret, at least once, and (on request) out of order.

Headers: `X-Razorpay-Signature` = hex HMAC-SHA256(webhook secret, raw body), `X-Razorpay-Event-Id` (one id
per event, the same on every copy). A listener may ask for `duplicates` (extra copies of each event) and
`reorder` (events raised close together are sent newest first), the delivery faults a receiver must
survive. Non-2xx answers and connection errors are retried with doubling backoff until the give-up age.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from crmsync.sandbox.framework.delivery import Backoff, DeliveryState, DeliveryWorker
from crmsync.sandbox.framework.emulator import SandboxAdminError
from crmsync.sandbox.razorpay.account import Entity, RazorpayAccount


@dataclass(frozen=True)
class WebhookPolicy:
    initial_seconds: float = 60.0
    max_seconds: float = 3600.0
    give_up_after_seconds: float = 86400.0
    batch_seconds: float = 0.05  # how long events wait for neighbours they may be reordered with


def signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Listener:
    id: str
    url: str
    secret: str
    events: list[str]
    duplicates: int = 0
    reorder: bool = False

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events


@dataclass
class Delivery(DeliveryState):
    sequence: int
    listener_id: str
    event_id: str
    event: str
    body: bytes = field(repr=False)


class WebhookDispatcher:
    def __init__(self, account: RazorpayAccount, policy: WebhookPolicy) -> None:
        self.account, self.policy = account, policy
        self.listeners: dict[str, Listener] = {}
        self._sequence = itertools.count(1)
        self._worker: DeliveryWorker[Delivery] = DeliveryWorker(
            "sandbox-razorpay-webhooks", self._send,
            Backoff(policy.initial_seconds, policy.max_seconds, give_up_after_seconds=policy.give_up_after_seconds),
            pick=self._pick, timeout_seconds=5.0)
        account.event_listeners.append(self.on_event)

    @property
    def deliveries(self) -> list[Delivery]:
        return self._worker.deliveries

    def add(self, config: dict[str, Any]) -> dict[str, Any]:
        url, secret = config.get("url"), config.get("secret")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SandboxAdminError("listener needs an http(s) 'url'")
        if not isinstance(secret, str) or not secret:
            raise SandboxAdminError("listener needs the webhook 'secret' it signs with (not the API key secret)")
        listener = Listener(f"wh_SBX{next(self._sequence):010d}", url, secret, list(config.get("events") or ["*"]),
                            int(config.get("duplicates") or 0), bool(config.get("reorder", False)))
        with self._worker.condition:
            self.listeners[listener.id] = listener
        return self.describe(listener)

    @staticmethod
    def describe(listener: Listener) -> dict[str, Any]:
        return {**asdict(listener), "secret": "****"}  # the admin API never echoes a secret

    def clear(self) -> None:
        with self._worker.condition:
            self.listeners.clear()
            self._worker.clear()

    def on_event(self, event: Entity) -> None:
        body = json.dumps(event).encode()
        event_id = f"evt_SBX{next(self._sequence):010d}"
        ready = time.monotonic() + self.policy.batch_seconds
        self._worker.enqueue(
            Delivery(next(self._sequence), listener.id, event_id, event["event"], body, next_attempt=ready,
                     first_attempt=ready)
            for listener in list(self.listeners.values()) if listener.wants(event["event"])
            for _ in range(1 + listener.duplicates))

    def _pick(self, deliveries: list[Delivery], now: float) -> Delivery | None:
        due = [d for d in deliveries if d.waiting and d.next_attempt <= now]
        if not due:
            return None
        first = min(due, key=lambda d: d.sequence)
        listener = self.listeners.get(first.listener_id)
        if listener is not None and listener.reorder:  # newest first among what is ready for this listener
            return max((d for d in due if d.listener_id == first.listener_id), key=lambda d: d.sequence)
        return first

    def _send(self, delivery: Delivery, client: httpx.Client) -> httpx.Response | None:
        listener = self.listeners.get(delivery.listener_id)
        if listener is None:
            return None
        return client.post(listener.url, content=delivery.body, headers={
            "Content-Type": "application/json", "X-Razorpay-Signature": signature(delivery.body, listener.secret),
            "X-Razorpay-Event-Id": delivery.event_id, "User-Agent": "Razorpay-Webhook/v1"})

    def close(self) -> None:
        self._worker.close()
