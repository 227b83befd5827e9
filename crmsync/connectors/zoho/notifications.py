"""Zoho notifications: the watch channel (subscribe, renew before expiry) and checking what Zoho posts.

A callback carries `token` (ours, echoed) and `channel_id`, and only ids of affected records: values in it are
not to be trusted, so the receiver fetches the records (`ZohoConnector.records_for`). There is no signature;
the token is compared in constant time, on the parsed body, before anything else is used.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crmsync.connectors.base import ConnectorError
from crmsync.connectors.zoho.client import ZohoClient, body_of, error_code

OPERATIONS = frozenset({"insert", "update", "delete"})


class NotificationRejected(ConnectorError):
    """A callback that is not from our channel (wrong token or channel) or not a Zoho notification."""


@dataclass(frozen=True)
class ZohoNotification:
    channel_id: str
    module: str
    operation: str  # insert | update | delete
    ids: tuple[str, ...]
    server_time: datetime


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def verify_notification(body: bytes, expected_token: str, channel_id: str) -> ZohoNotification:
    """Parse and check one callback body; NotificationRejected (without echoing any token) when it is not ours."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise NotificationRejected("zoho notification: body is not JSON") from None
    if not isinstance(payload, dict):
        raise NotificationRejected("zoho notification: body is not a JSON object")
    token, channel = payload.get("token"), payload.get("channel_id")
    # Both compares always run, so timing does not tell which one failed.
    token_ok = _same(token if isinstance(token, str) else "", expected_token)
    channel_ok = _same(str(channel) if channel is not None else "", str(channel_id))
    if not (token_ok and channel_ok):
        raise NotificationRejected("zoho notification: token or channel_id does not match this connection's "
                                   "subscription; ignoring it")
    ids, module, operation = payload.get("ids"), payload.get("module"), payload.get("operation")
    if not isinstance(module, str) or operation not in OPERATIONS or not isinstance(ids, list):
        raise NotificationRejected("zoho notification: module, operation or ids missing")
    try:
        server_time = datetime.fromtimestamp(int(payload.get("server_time", 0)) / 1000, UTC)
    except (TypeError, ValueError):
        raise NotificationRejected("zoho notification: server_time is not epoch milliseconds") from None
    return ZohoNotification(str(channel), module, str(operation), tuple(str(i) for i in ids), server_time)


class WatchChannel:
    """Our one notification channel: subscribed on `crmsync serve` start, renewed before it expires."""

    def __init__(self, client: ZohoClient, modules: tuple[str, ...]) -> None:
        self.client, self.settings, self.modules = client, client.settings, modules
        self.expires_at: datetime | None = None

    def _watch_item(self, now: datetime) -> dict[str, Any]:
        settings = self.settings
        if settings.notify_url is None or settings.notification_token is None:
            raise ConnectorError(f"zoho {self.client.connection}: notifications need notify_url and "
                                 "notification_token in this connection's settings")
        expiry = now + timedelta(seconds=settings.channel_lifetime_seconds)
        return {"channel_id": settings.channel_id, "events": [f"{module}.all" for module in self.modules],
                "channel_expiry": expiry.astimezone(UTC).isoformat(timespec="seconds"),
                "token": settings.notification_token.get_secret_value(), "notify_url": settings.notify_url}

    def _send(self, method: str, now: datetime) -> tuple[bool, str]:
        response = self.client.call(method, "actions/watch", json={"watch": [self._watch_item(now)]})
        rows = (body_of(response) or {}).get("watch") or [{}]
        row = rows[0]
        if row.get("status") != "success":
            return False, str(row.get("code") or error_code(response) or response.status_code)
        events = (row.get("details") or {}).get("events") or []
        expiries = [datetime.fromisoformat(e["channel_expiry"]).astimezone(UTC) for e in events
                    if "channel_expiry" in e]
        lifetime = timedelta(seconds=self.settings.channel_lifetime_seconds)
        self.expires_at = min(expiries) if expiries else now + lifetime
        return True, ""

    def subscribe(self, now: datetime | None = None) -> datetime:
        """Enable (or replace) the channel; returns when it expires."""
        ok, code = self._send("POST", now or datetime.now(UTC))
        if not ok:
            raise ConnectorError(f"zoho {self.client.connection}: subscribing to notifications failed ({code}); "
                                 "check notify_url, channel_id and the notifications scope of the refresh token")
        assert self.expires_at is not None
        return self.expires_at

    def renew_if_needed(self, now: datetime) -> bool:
        """Extend the channel when it expires within `renew_before_seconds`; re-subscribe if Zoho dropped it."""
        margin = timedelta(seconds=self.settings.renew_before_seconds)
        if self.expires_at is not None and now < self.expires_at - margin:
            return False
        if self.expires_at is None or not self._send("PUT", now)[0]:
            self.subscribe(now)  # never subscribed, or the channel expired and Zoho no longer knows it
        return True
