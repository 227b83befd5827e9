"""Razorpay webhook verification on the raw body, and event parsing. Pure functions: no SDK, no I/O.

`X-Razorpay-Signature` is the hex HMAC-SHA256 of the raw body keyed with the endpoint's webhook secret;
`X-Razorpay-Event-Id` is the same on every delivery of one event, so it is the dedupe key (Razorpay
delivers at least once and in no particular order).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from crmsync.errors import CrmsyncError


class WebhookSignatureError(CrmsyncError):
    """The webhook is not provably from Razorpay: answer 400 and keep nothing."""


@dataclass(frozen=True)
class RazorpayEvent:
    id: str | None  # X-Razorpay-Event-Id, the dedupe key
    event: str
    created_at: int
    entities: dict[str, dict[str, Any]]  # "payment" -> payment entity, "order" -> ...


def verify_signature(body: bytes, signature: str | None, secret: str) -> None:
    """Raise WebhookSignatureError unless `signature` is the HMAC of exactly these bytes (constant-time)."""
    if not signature:
        raise WebhookSignatureError("no X-Razorpay-Signature header")
    if not secret:
        raise WebhookSignatureError("no webhook secret is configured for this connection")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise WebhookSignatureError("X-Razorpay-Signature does not match (wrong webhook secret, or the body changed)")


def parse_event(body: bytes, event_id: str | None = None) -> RazorpayEvent:
    """The event of a verified body; pass the X-Razorpay-Event-Id header as `event_id` for dedupe."""
    try:
        raw = json.loads(body.decode("utf-8"))
        entities = {name: dict(part["entity"]) for name, part in raw["payload"].items()}
        return RazorpayEvent(event_id, str(raw["event"]), int(raw["created_at"]), entities)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise WebhookSignatureError(f"the webhook body is not a Razorpay event ({type(exc).__name__})") from None
