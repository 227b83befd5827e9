"""Stripe webhook verification on the raw body, and event parsing. Pure functions: no SDK, no I/O.

`Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`; v1 = HMAC-SHA256(endpoint secret, "<t>.<raw body>").
Any v1 matching any configured secret passes (two secrets during a rotation, two v1 from Stripe); a
timestamp older than `tolerance` seconds is refused (replay protection; a future one is accepted, as
stripe-python does). Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crmsync.errors import CrmsyncError


class WebhookSignatureError(CrmsyncError):
    """The webhook is not provably from Stripe (missing, malformed, stale or wrong signature): answer 400."""


@dataclass(frozen=True)
class StripeEvent:
    id: str
    type: str
    created: int
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookSignatureError("Stripe-Signature has a non-numeric timestamp") from None
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureError("Stripe-Signature needs t= and at least one v1= (is this a Stripe webhook?)")
    return timestamp, signatures


def verify_signature(body: bytes, header: str | None, secrets: Sequence[str], now: float,
                     tolerance: int = 300) -> int:
    """Check the signature of a raw webhook body; return its timestamp, or raise WebhookSignatureError."""
    if not header:
        raise WebhookSignatureError("no Stripe-Signature header")
    if not secrets:
        raise WebhookSignatureError("no webhook signing secret is configured for this connection")
    timestamp, signatures = _parse_header(header)
    signed = f"{timestamp}.".encode() + body
    expected = [hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest() for secret in secrets]
    if not any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in signatures):
        raise WebhookSignatureError("no Stripe-Signature v1 matches a configured webhook secret (wrong secret, or "
                                    "the body was changed)")
    if tolerance and timestamp < now - tolerance:
        raise WebhookSignatureError(f"the signature timestamp is {int(now - timestamp)}s old (tolerance "
                                    f"{tolerance}s): a replayed or long-delayed delivery")
    return timestamp


def parse_event(body: bytes) -> StripeEvent:
    """The event in a verified body; its `id` is the dedupe key (Stripe delivers at least once)."""
    try:
        raw = json.loads(body.decode("utf-8"))
        data = raw["data"]
        return StripeEvent(str(raw["id"]), str(raw["type"]), int(raw["created"]), dict(data["object"]),
                           data.get("previous_attributes"))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise WebhookSignatureError(f"the webhook body is not a Stripe event ({type(exc).__name__})") from None
