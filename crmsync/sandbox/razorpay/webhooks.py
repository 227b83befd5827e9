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
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

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
class Delivery:
    sequence: int
    listener_id: str
    event_id: str
    event: str
    body: bytes = field(repr=False)
    next_attempt: float = 0.0
    first_attempt: float = 0.0
    attempts: int = 0
    delivered: bool = False
    dropped: bool = False
    history: list[int | str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if key != "body"}


class WebhookDispatcher:
    def __init__(self, account: RazorpayAccount, policy: WebhookPolicy) -> None:
        self.account, self.policy = account, policy
        self.listeners: dict[str, Listener] = {}
        self.deliveries: list[Delivery] = []
        self._sequence = itertools.count(1)
        self._condition = threading.Condition()
        self._stopping = False
        self._client = httpx.Client(timeout=5.0)
        self._thread = threading.Thread(target=self._run, name="sandbox-razorpay-webhooks", daemon=True)
        self._thread.start()
        account.event_listeners.append(self.on_event)

    def add(self, config: dict[str, Any]) -> dict[str, Any]:
        url, secret = config.get("url"), config.get("secret")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SandboxAdminError("listener needs an http(s) 'url'")
        if not isinstance(secret, str) or not secret:
            raise SandboxAdminError("listener needs the webhook 'secret' it signs with (not the API key secret)")
        listener = Listener(f"wh_SBX{next(self._sequence):010d}", url, secret, list(config.get("events") or ["*"]),
                            int(config.get("duplicates") or 0), bool(config.get("reorder", False)))
        with self._condition:
            self.listeners[listener.id] = listener
        return self.describe(listener)

    @staticmethod
    def describe(listener: Listener) -> dict[str, Any]:
        return {**asdict(listener), "secret": "****"}  # the admin API never echoes a secret

    def clear(self) -> None:
        with self._condition:
            self.listeners.clear()
            self.deliveries.clear()

    def on_event(self, event: Entity) -> None:
        body = json.dumps(event).encode()
        event_id = f"evt_SBX{next(self._sequence):010d}"
        ready = time.monotonic() + self.policy.batch_seconds
        with self._condition:
            for listener in self.listeners.values():
                if listener.wants(event["event"]):
                    for _ in range(1 + listener.duplicates):
                        self.deliveries.append(Delivery(next(self._sequence), listener.id, event_id, event["event"],
                                                        body, ready, ready))
            self._condition.notify_all()

    def _due(self) -> Delivery | None:
        now = time.monotonic()
        due = [d for d in self.deliveries if not (d.delivered or d.dropped) and d.next_attempt <= now]
        if not due:
            return None
        first = min(due, key=lambda d: d.sequence)
        listener = self.listeners.get(first.listener_id)
        if listener is not None and listener.reorder:  # newest first among what is ready for this listener
            return max((d for d in due if d.listener_id == first.listener_id), key=lambda d: d.sequence)
        return first

    def _wait_seconds(self) -> float | None:
        waiting = [d.next_attempt for d in self.deliveries if not (d.delivered or d.dropped)]
        return None if not waiting else max(0.0, min(waiting) - time.monotonic())

    def _run(self) -> None:
        while True:
            with self._condition:
                due = self._due()
                while not self._stopping and due is None:
                    self._condition.wait(timeout=self._wait_seconds())
                    due = self._due()
                if self._stopping:
                    return
                due.next_attempt = float("inf")
            self._deliver(due)

    def _deliver(self, delivery: Delivery) -> None:
        listener = self.listeners.get(delivery.listener_id)
        if listener is None:
            delivery.dropped = True
            return
        delivery.attempts += 1
        try:
            response = self._client.post(listener.url, content=delivery.body, headers={
                "Content-Type": "application/json", "X-Razorpay-Signature": signature(delivery.body, listener.secret),
                "X-Razorpay-Event-Id": delivery.event_id, "User-Agent": "Razorpay-Webhook/v1"})
            ok = 200 <= response.status_code < 300
            delivery.history.append(response.status_code)
        except httpx.HTTPError as exc:
            ok = False
            delivery.history.append(type(exc).__name__)
        with self._condition:
            delivery.delivered = ok
            if not ok:
                delay = min(self.policy.max_seconds, self.policy.initial_seconds * 2 ** (delivery.attempts - 1))
                delivery.next_attempt = time.monotonic() + delay
                delivery.dropped = delivery.next_attempt - delivery.first_attempt > self.policy.give_up_after_seconds

    def close(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self._thread.join(timeout=5)
        self._client.close()
