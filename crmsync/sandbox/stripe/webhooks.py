"""Webhook endpoints and signed, retried event delivery.

Each event goes to every enabled endpoint whose `enabled_events` match, signed as Stripe signs:
`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, one `v1` per active secret (two
during a secret rotation). A background thread sends; a non-2xx answer or a connection error is retried
with doubling backoff until the give-up age. `t` comes from the sandbox clock, so a test that moves the
clock can make a signature stale.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets as secrets_module
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from crmsync.sandbox.framework.delivery import Backoff, DeliveryState, DeliveryWorker
from crmsync.sandbox.framework.emulator import SandboxAdminError
from crmsync.sandbox.stripe.errors import invalid_request, missing_param, no_such
from crmsync.sandbox.stripe.forms import Params, as_list
from crmsync.sandbox.stripe.objects import Obj

if TYPE_CHECKING:
    from crmsync.sandbox.stripe.account import StripeAccount


@dataclass(frozen=True)
class WebhookRetryPolicy:
    """Stripe retries for up to three days in live mode; tests shorten all three."""

    initial_seconds: float = 60.0
    max_seconds: float = 3600.0
    give_up_after_seconds: float = 3 * 86400.0


def sign(body: bytes, timestamp: int, secrets: list[str]) -> str:
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    parts += [f"v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}" for secret in secrets]
    return ",".join(parts)


@dataclass
class Endpoint:
    id: str
    url: str
    secrets: list[str]
    enabled_events: list[str]
    created: int

    def wants(self, event_type: str) -> bool:
        return any(p in ("*", event_type) or (p.endswith(".*") and event_type.startswith(p[:-1]))
                   for p in self.enabled_events)

    def as_stripe(self, *, with_secret: bool) -> Obj:
        body: Obj = {"id": self.id, "object": "webhook_endpoint", "api_version": None, "application": None,
                     "created": self.created, "description": None, "enabled_events": self.enabled_events,
                     "livemode": False, "metadata": {}, "status": "enabled", "url": self.url}
        if with_secret:
            body["secret"] = self.secrets[-1]
        return body


@dataclass
class Delivery(DeliveryState):
    event_id: str
    endpoint_id: str


class WebhookDispatcher:
    def __init__(self, account: StripeAccount, policy: WebhookRetryPolicy) -> None:
        self.account, self.policy = account, policy
        self.endpoints: dict[str, Endpoint] = {}
        self._worker: DeliveryWorker[Delivery] = DeliveryWorker(
            "sandbox-stripe-webhooks", self._send,
            Backoff(policy.initial_seconds, policy.max_seconds, give_up_after_seconds=policy.give_up_after_seconds))
        account.event_listeners.append(self.on_event)

    @property
    def deliveries(self) -> list[Delivery]:
        return self._worker.deliveries

    # -- endpoints ------------------------------------------------------------------------------------
    def add(self, url: Any, enabled_events: list[str], secrets: list[str] | None = None) -> Endpoint:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("a webhook endpoint needs an http(s) url")
        endpoint = Endpoint(self.account.next_id("webhook_endpoints"), url,
                            list(secrets or [f"whsec_{secrets_module.token_hex(16)}"]), enabled_events or ["*"],
                            self.account.now())
        with self._worker.condition:
            self.endpoints[endpoint.id] = endpoint
        return endpoint

    def roll_secret(self, endpoint_id: str, new_secret: str | None) -> Endpoint:
        """Start a rotation: the new secret signs alongside the old one until `finish_rotation`."""
        with self._worker.condition:
            endpoint = self.endpoints[endpoint_id]
            endpoint.secrets = [*endpoint.secrets[-1:], new_secret or f"whsec_{secrets_module.token_hex(16)}"]
            return endpoint

    def clear(self) -> None:
        with self._worker.condition:
            self.endpoints.clear()
            self._worker.clear()

    # -- producing ------------------------------------------------------------------------------------
    def on_event(self, event: Obj) -> None:
        with self._worker.condition:
            targets = [endpoint for endpoint in self.endpoints.values() if endpoint.wants(event["type"])]
            event["pending_webhooks"] = len(targets)
            now = time.monotonic()
            self._worker.enqueue(Delivery(event["id"], endpoint.id, first_attempt=now, next_attempt=now)
                                 for endpoint in targets)

    # -- sending --------------------------------------------------------------------------------------
    def _send(self, delivery: Delivery, client: httpx.Client) -> httpx.Response | None:
        endpoint = self.endpoints.get(delivery.endpoint_id)
        event = self.account.tables["events"].get(delivery.event_id)
        if endpoint is None or event is None:
            return None
        body = json.dumps(event, indent=2).encode()
        header = sign(body, self.account.now(), endpoint.secrets)
        response = client.post(endpoint.url, content=body, headers={
            "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
        if 200 <= response.status_code < 300:
            with self._worker.condition:
                event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
        return response

    def close(self) -> None:
        self._worker.close()


# -- the /v1/webhook_endpoints API and the admin listener config ----------------------------------------------
def _dispatcher(account: StripeAccount) -> WebhookDispatcher:
    dispatcher = getattr(account, "webhooks", None)
    assert isinstance(dispatcher, WebhookDispatcher)
    return dispatcher


def create_endpoint(account: StripeAccount, params: Params) -> Obj:
    if not params.get("url"):
        raise missing_param("url")
    events = as_list(params, "enabled_events")
    if not events:
        raise missing_param("enabled_events")
    try:
        endpoint = _dispatcher(account).add(params["url"], events)
    except ValueError as exc:
        raise invalid_request(f"Invalid URL: {exc}", param="url", code="url_invalid") from None
    return endpoint.as_stripe(with_secret=True)


def list_endpoints(account: StripeAccount, params: Params) -> Obj:
    data = [endpoint.as_stripe(with_secret=False) for endpoint in _dispatcher(account).endpoints.values()]
    return {"object": "list", "data": data[::-1], "has_more": False, "url": "/v1/webhook_endpoints"}


def delete_endpoint(account: StripeAccount, endpoint_id: str) -> Obj:
    if _dispatcher(account).endpoints.pop(endpoint_id, None) is None:
        raise no_such("webhook_endpoint", endpoint_id)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def add_listener(dispatcher: WebhookDispatcher, config: dict[str, Any]) -> dict[str, Any]:
    """Admin: `{"url", "enabled_events"?: ["*"], "secret"? | "secrets"?: [...]}` → the endpoint and its secrets."""
    configured = config.get("secrets") or ([config["secret"]] if config.get("secret") else None)
    if configured is not None and not (isinstance(configured, list) and all(isinstance(s, str) for s in configured)):
        raise SandboxAdminError("'secrets' must be a list of strings")
    try:
        endpoint = dispatcher.add(config.get("url"), list(config.get("enabled_events") or ["*"]), configured)
    except ValueError as exc:
        raise SandboxAdminError(str(exc)) from None
    return {**endpoint.as_stripe(with_secret=False), "secrets": endpoint.secrets}
