"""HubSpot webhook requests: signature verification (v3, and v1/v2) and events → thin notices.

Verification works on the raw body bytes and the URI HubSpot called, before anything is parsed, with a
constant-time compare; v3 requests older (or further in the future) than `max_age` are refused. The
receiver route (issue 6) calls `verify_signature`, answers 2xx, then hands `parse_events(body)` notices to
`HubSpotConnector.fetch` in batch: HubSpot events name a record and (at most) one property, never the record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crmsync.connectors.base import ConnectorError

MAX_AGE_SECONDS = 300.0
# HubSpot decodes these escapes in the URI before signing v3 requests.
URI_DECODES = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'", "%28": "(",
               "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
OBJECT_TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-48": "calls"}
LEGACY_PREFIXES = {"contact": "contacts", "company": "companies", "deal": "deals"}


class WebhookSignatureError(ConnectorError):
    """The request is not provably from HubSpot (bad or missing signature, stale timestamp): answer 401."""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _decoded_uri(uri: str) -> str:
    for escape, char in URI_DECODES.items():
        uri = uri.replace(escape, char).replace(escape.lower(), char)
    return uri


def _matches(expected: list[str], given: str) -> bool:
    # Compare against every candidate (no early exit), each in constant time.
    results = [hmac.compare_digest(candidate.encode(), given.encode()) for candidate in expected]
    return any(results)


def verify_signature(method: str, uri: str, body: bytes, headers: Mapping[str, str], client_secret: str,
                     now: datetime, max_age: float = MAX_AGE_SECONDS) -> str:
    """Check a webhook request; returns the signature version it passed, raises WebhookSignatureError."""
    secret = client_secret.encode()
    v3 = _header(headers, "X-HubSpot-Signature-v3")
    if v3 is not None:
        timestamp = _header(headers, "X-HubSpot-Request-Timestamp") or ""
        if not timestamp.isdigit():
            raise WebhookSignatureError("HubSpot webhook: X-HubSpot-Request-Timestamp is missing or not epoch ms")
        age = now.astimezone(UTC).timestamp() - int(timestamp) / 1000
        if abs(age) > max_age:
            raise WebhookSignatureError(f"HubSpot webhook: the request timestamp is {age:.0f}s away from now (more "
                                        f"than {max_age:.0f}s): stale or replayed; check the receiver's clock")
        expected = [base64.b64encode(hmac.new(secret, method.upper().encode() + candidate.encode() + body
                                              + timestamp.encode(), hashlib.sha256).digest()).decode()
                    for candidate in dict.fromkeys([uri, _decoded_uri(uri)])]
        if not _matches(expected, v3):
            raise WebhookSignatureError("HubSpot webhook: the v3 signature does not match the body and URI; check "
                                        "the app's client secret and that the URI is the public one HubSpot called")
        return "v3"
    signature, version = _header(headers, "X-HubSpot-Signature"), _header(headers, "X-HubSpot-Signature-Version")
    if signature is None or version not in ("v1", "v2"):
        raise WebhookSignatureError("HubSpot webhook: no X-HubSpot-Signature-v3, or X-HubSpot-Signature with "
                                    "version v1/v2, on the request")
    prefix = secret if version == "v1" else secret + method.upper().encode() + uri.encode()
    if not _matches([hashlib.sha256(prefix + body).hexdigest()], signature.lower()):
        raise WebhookSignatureError(f"HubSpot webhook: the {version} signature does not match; check the app's "
                                    "client secret")
    return version


@dataclass(frozen=True)
class WebhookNotice:
    """One event: which record changed and how. Fetch the record (in batch) before mapping it."""

    event_id: str
    subscription_type: str  # e.g. contact.propertyChange, object.creation
    change: str  # creation | propertyChange | deletion | merge | associationChange | restore | privacyDeletion
    object_type: str | None  # the stream: contacts, companies, deals, calls (None: a type we do not sync)
    object_id: str
    occurred_at: datetime
    portal_id: str | None = None
    attempt_number: int = 0
    change_source: str | None = None
    property_name: str | None = None
    property_value: str | None = None
    merged_ids: tuple[str, ...] = ()  # merge: ids folded into new_object_id
    primary_object_id: str | None = None
    new_object_id: str | None = None
    association: Mapping[str, Any] = field(default_factory=dict)

    @property
    def record_id(self) -> str:
        """The id to fetch: a merge's surviving record, otherwise the object the event is about."""
        return self.new_object_id or self.object_id


def _notice(event: Mapping[str, Any]) -> WebhookNotice:
    subscription = str(event.get("subscriptionType", ""))
    prefix, _, change = subscription.partition(".")
    object_type = OBJECT_TYPE_IDS.get(str(event.get("objectTypeId"))) if prefix == "object" else \
        LEGACY_PREFIXES.get(prefix)
    if "objectId" not in event or "occurredAt" not in event:
        raise ConnectorError(f"HubSpot webhook event without objectId/occurredAt: {sorted(event)}")
    optional = {key: str(event[key]) for key in ("primaryObjectId", "newObjectId") if event.get(key) is not None}
    association = {key: event[key] for key in ("associationType", "fromObjectId", "toObjectId", "associationRemoved",
                                                "isPrimaryAssociation") if key in event}
    return WebhookNotice(
        event_id=str(event.get("eventId", "")), subscription_type=subscription, change=change,
        object_type=object_type, object_id=str(event["objectId"]),
        occurred_at=datetime.fromtimestamp(int(event["occurredAt"]) / 1000, UTC),
        portal_id=str(event["portalId"]) if event.get("portalId") is not None else None,
        attempt_number=int(event.get("attemptNumber", 0)), change_source=event.get("changeSource"),
        property_name=event.get("propertyName"),
        property_value=None if event.get("propertyValue") is None else str(event["propertyValue"]),
        merged_ids=tuple(str(i) for i in event.get("mergedObjectIds") or ()),
        primary_object_id=optional.get("primaryObjectId"), new_object_id=optional.get("newObjectId"),
        association=association,
    )


def parse_events(body: bytes) -> list[WebhookNotice]:
    """HubSpot's JSON array of events → notices, in the order sent (ConnectorError for a malformed body)."""
    try:
        events = json.loads(body)
    except ValueError as exc:
        raise ConnectorError(f"HubSpot webhook body is not JSON: {exc}") from None
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise ConnectorError("HubSpot webhook body must be a JSON array of event objects")
    return [_notice(event) for event in events]
