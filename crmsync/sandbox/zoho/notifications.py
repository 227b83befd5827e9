"""Notifications (`/actions/watch`): channels that POST record ids to a `notify_url` when records change.

Subscribe with POST, renew or change with PUT/PATCH, list with GET, disable with DELETE `?channel_ids=`.
A channel lives until its `channel_expiry` (sandbox clock; default one hour, at most one week ahead).
Callbacks are JSON: `server_time` (epoch ms), `query_params`, `module`, `resource_uri`, `ids`,
`affected_fields`, `operation` (insert | update | delete), `channel_id` and the subscriber's `token`, which
is the only thing a receiver can verify. A background thread sends them, once, without retries (Zoho
promises none), batching up to 100 ids of one operation.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from crmsync.sandbox.zoho.store import ChangeEvent
from crmsync.sandbox.zoho.values import format_datetime, parse_datetime

if TYPE_CHECKING:
    from crmsync.sandbox.zoho.org import ZohoOrg

DEFAULT_CHANNEL_LIFETIME = timedelta(hours=1)
MAX_CHANNEL_LIFETIME = timedelta(days=7)
MAX_TOKEN_LENGTH = 50
MAX_IDS_PER_CALLBACK = 100
EVENT_OF_OPERATION = {"insert": "create", "update": "edit", "delete": "delete"}


class WatchError(Exception):
    def __init__(self, api_name: str, message: str) -> None:
        super().__init__(message)
        self.api_name, self.message = api_name, message

    def envelope(self) -> dict[str, Any]:
        return {"code": "INVALID_DATA", "details": {"api_name": self.api_name},
                "message": self.message, "status": "error"}


@dataclass(frozen=True)
class WatchChannel:
    channel_id: str
    events: tuple[str, ...]  # "Leads.create", "Leads.all" ...
    notify_url: str
    token: str | None
    expires_at: datetime
    return_affected_field_values: bool = False

    def wants(self, module: str, operation: str) -> bool:
        return f"{module}.all" in self.events or f"{module}.{EVENT_OF_OPERATION[operation]}" in self.events


@dataclass
class Delivery:
    channel_id: str
    module: str
    operation: str
    ids: list[str]
    status: int | str | None = None
    body: dict[str, Any] = field(default_factory=dict)


class NotificationHub:
    """The org's channels, the queue of pending callbacks and the thread that sends them."""

    def __init__(self, org: ZohoOrg) -> None:
        self.org = org
        self._channels: dict[str, WatchChannel] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[WatchChannel, ChangeEvent] | None] = queue.Queue()
        self.deliveries: list[Delivery] = []
        self._client = httpx.Client(timeout=10.0)
        self._thread = threading.Thread(target=self._run, name=f"sandbox-zoho-{org.dc.code}-notify", daemon=True)
        self._thread.start()
        org.store.change_listeners.append(self.on_change)

    # -- channels -------------------------------------------------------------------------------------
    def _checked(self, item: Any, existing: WatchChannel | None) -> WatchChannel:
        if not isinstance(item, dict):
            raise WatchError("watch", "each watch entry must be a JSON object")
        channel_id = str(item.get("channel_id", existing.channel_id if existing else "")).strip()
        if not channel_id.isdigit():
            raise WatchError("channel_id", "channel_id must be a number")
        events = item.get("events", list(existing.events) if existing else None)
        if not isinstance(events, list) or not events:
            raise WatchError("events", "events must be a non-empty list such as [\"Leads.all\"]")
        for event in events:
            module, _, operation = str(event).partition(".")
            if module not in self.org.store.modules or operation not in ("all", "create", "edit", "delete"):
                raise WatchError("events", f"invalid event {event}")
        url = item.get("notify_url", existing.notify_url if existing else None)
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise WatchError("notify_url", "notify_url must be an http(s) URL")
        token = item.get("token", existing.token if existing else None)
        if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH):
            raise WatchError("token", f"token must be a string of at most {MAX_TOKEN_LENGTH} characters")
        now = self.org.store.now()
        expiry = item.get("channel_expiry")
        try:
            expires_at = parse_datetime(str(expiry)) if expiry else (
                existing.expires_at if existing else now + DEFAULT_CHANNEL_LIFETIME)
        except ValueError:
            raise WatchError("channel_expiry", "channel_expiry must be an ISO datetime with offset") from None
        if expires_at <= now or expires_at > now + MAX_CHANNEL_LIFETIME:
            raise WatchError("channel_expiry", "channel_expiry must be in the future and at most a week ahead")
        return WatchChannel(channel_id, tuple(str(e) for e in events), url, token, expires_at,
                            bool(item.get("return_affected_field_values", False)))

    def _success(self, channel: WatchChannel, message: str) -> dict[str, Any]:
        modules = dict.fromkeys(event.partition(".")[0] for event in channel.events)
        events = [{"channel_expiry": format_datetime(channel.expires_at, self.org.dc.tz),
                   "resource_uri": f"{self.org.api_domain}/crm/v8/{module}",
                   "resource_id": self.org.store.modules[module].module_id, "resource_name": module,
                   "channel_id": channel.channel_id} for module in modules]
        return {"code": "SUCCESS", "details": {"events": events}, "message": message, "status": "success"}

    def active(self) -> list[WatchChannel]:
        now = self.org.clock.now()
        with self._lock:
            return [channel for channel in self._channels.values() if channel.expires_at > now]

    def subscribe(self, items: list[Any]) -> list[dict[str, Any]]:
        results = []
        for item in items:
            try:
                channel = self._checked(item, None)
            except WatchError as exc:
                results.append(exc.envelope())
                continue
            with self._lock:
                self._channels[channel.channel_id] = channel
            results.append(self._success(channel, "Successfully subscribed for actions-watch of the given module"))
        return results

    def update(self, items: list[Any]) -> list[dict[str, Any]]:
        """Renew or change live channels; an expired or unknown channel must be subscribed again."""
        results = []
        live = {channel.channel_id: channel for channel in self.active()}
        for item in items:
            channel_id = str(item.get("channel_id", "")) if isinstance(item, dict) else ""
            try:
                if channel_id not in live:
                    raise WatchError("channel_id", "no active channel with this channel_id; subscribe again")
                channel = self._checked(item, live[channel_id])
            except WatchError as exc:
                results.append(exc.envelope())
                continue
            with self._lock:
                self._channels[channel.channel_id] = channel
            results.append(self._success(channel, "Successfully updated the subscribe details"))
        return results

    def describe(self) -> list[dict[str, Any]]:
        return [{"channel_id": c.channel_id, "events": list(c.events), "notify_url": c.notify_url,
                 "channel_expiry": format_datetime(c.expires_at, self.org.dc.tz),
                 "return_affected_field_values": c.return_affected_field_values} for c in self.active()]

    def disable(self, channel_ids: list[str]) -> list[dict[str, Any]]:
        results = []
        for channel_id in channel_ids:
            with self._lock:
                found = self._channels.pop(channel_id, None)
            results.append({"code": "SUCCESS", "details": {"channel_id": channel_id},
                            "message": "Successfully unsubscribed from actions-watch", "status": "success"}
                           if found else WatchError("channel_id", "no channel with this channel_id").envelope())
        return results

    def expire(self, channel_id: str | None = None) -> int:
        """Admin: end channels now (all, or one), as if their expiry had passed."""
        now = self.org.clock.now() - timedelta(seconds=1)
        with self._lock:
            targets = [c for c in self._channels.values() if channel_id in (None, c.channel_id)]
            for channel in targets:
                self._channels[channel.channel_id] = replace(channel, expires_at=now)
        return len(targets)

    def clear(self) -> None:
        with self._lock:
            self._channels.clear()
            self.deliveries.clear()

    # -- callbacks ------------------------------------------------------------------------------------
    def on_change(self, event: ChangeEvent) -> None:
        for channel in self.active():
            if channel.wants(event.module, event.operation):
                self._queue.put((channel, event))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < MAX_IDS_PER_CALLBACK:
                try:
                    following = self._queue.get(timeout=0.02)
                except queue.Empty:
                    break
                if following is None:
                    self._send(batch)
                    return
                if (following[0].channel_id, following[1].module, following[1].operation) != \
                        (item[0].channel_id, item[1].module, item[1].operation):
                    self._send(batch)
                    batch = []
                    item = following
                batch.append(following)
            if batch:
                self._send(batch)

    def _send(self, batch: list[tuple[WatchChannel, ChangeEvent]]) -> None:
        channel, first = batch[0]
        ids = list(dict.fromkeys(event.record_id for _, event in batch))
        body = {
            "server_time": int(self.org.clock.now().timestamp() * 1000),
            "query_params": dict(parse_qsl(urlsplit(channel.notify_url).query)),
            "module": first.module,
            "resource_uri": f"{self.org.api_domain}/crm/v8/{first.module}",
            "ids": ids,
            "affected_fields": [{event.record_id: list(event.affected_fields)} for _, event in batch
                                if event.operation == "update"],
            "operation": first.operation,
            "channel_id": channel.channel_id,
            "token": channel.token,
        }
        delivery = Delivery(channel.channel_id, first.module, first.operation, ids, body=body)
        try:
            delivery.status = self._client.post(channel.notify_url, json=body).status_code
        except httpx.HTTPError as exc:
            delivery.status = type(exc).__name__
        with self._lock:
            self.deliveries.append(delivery)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._client.close()
