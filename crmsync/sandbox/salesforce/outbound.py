"""Outbound Messages: SOAP notifications POSTed to a configured listener until it acknowledges.

A background thread sends; request handlers only enqueue. Like Salesforce, the message carries the
record's field values at send time, up to 100 notifications per message, and is retried with doubling
backoff until the listener answers 200 with `<Ack>true</Ack>` (or the retry period runs out).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import httpx
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from crmsync.sandbox.framework.emulator import SandboxAdminError
from crmsync.sandbox.salesforce.store import ChangeEvent, SObjectStore, UnknownObjectError
from crmsync.sandbox.salesforce.values import make_id, to_text_value

OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"
MAX_NOTIFICATIONS = 100


@dataclass(frozen=True)
class OutboundRetryPolicy:
    """Salesforce: first retry after ~30 s, doubling up to 2 h, for 24 h. Tests shorten all three."""

    initial_seconds: float = 30.0
    max_seconds: float = 7200.0
    give_up_after_seconds: float = 86400.0


@dataclass(frozen=True)
class OutboundListener:
    action_id: str
    url: str
    object_name: str
    fields: tuple[str, ...]


@dataclass
class OutboundMessage:
    action_id: str
    notifications: list[tuple[str, str]]  # (notification id 04l..., record id)
    first_attempt: float = 0.0
    attempts: int = 0
    next_attempt: float = 0.0
    acked: bool = False
    dropped: bool = False
    last_status: int | None = None
    last_error: str | None = None
    history: list[int | str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def is_ack(status: int, body: bytes) -> bool:
    if status != 200:
        return False
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException):
        return False
    ack = root.find(f".//{{{OUTBOUND_NS}}}Ack")
    return ack is not None and (ack.text or "").strip().lower() == "true"


class OutboundMessenger:
    def __init__(self, store: SObjectStore, org_id: str, base_url: str, version: str,
                 policy: OutboundRetryPolicy) -> None:
        self.store, self.org_id, self.base_url, self.version, self.policy = store, org_id, base_url, version, policy
        self._listeners: dict[str, OutboundListener] = {}
        self._pending: dict[str, list[tuple[str, str]]] = {}
        self.messages: list[OutboundMessage] = []
        self._sequence = 0
        self._condition = threading.Condition()
        self._stopping = False
        self._client = httpx.Client(timeout=10.0)
        self._thread = threading.Thread(target=self._run, name="sandbox-salesforce-outbound", daemon=True)
        self._thread.start()
        store.change_listeners.append(self.on_change)

    # -- configuration --------------------------------------------------------------------------------
    def add_listener(self, config: dict[str, Any]) -> dict[str, Any]:
        url, object_name = config.get("url"), config.get("object", "Lead")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SandboxAdminError("listener needs an http(s) 'url'")
        try:
            sobject = self.store.sobject(str(object_name))
        except UnknownObjectError:
            raise SandboxAdminError(f"unknown object {object_name!r}", 404) from None
        names = ["Id"]
        for name in config.get("fields") or ["Id"]:
            definition = sobject.field(str(name))
            if definition is None:
                raise SandboxAdminError(f"unknown field {name!r} on {sobject.name}")
            names.append(definition.name)
        with self._condition:
            self._sequence += 1
            listener = OutboundListener(make_id("04k", self._sequence), url, sobject.name, tuple(dict.fromkeys(names)))
            self._listeners[listener.action_id] = listener
        return asdict(listener)

    def listeners(self) -> list[dict[str, Any]]:
        return [asdict(listener) for listener in self._listeners.values()]

    def clear(self) -> None:
        with self._condition:
            self._listeners.clear()
            self._pending.clear()
            self.messages.clear()

    # -- producing ------------------------------------------------------------------------------------
    def on_change(self, event: ChangeEvent) -> None:
        if event.change_type not in ("CREATE", "UPDATE"):
            return
        with self._condition:
            for listener in self._listeners.values():
                if listener.object_name == event.object_name:
                    self._sequence += 1
                    self._pending.setdefault(listener.action_id, []).append(
                        (make_id("04l", self._sequence), event.record_id)
                    )
            self._condition.notify_all()

    # -- sending --------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._condition:
                due = self._next_due()
                while not self._stopping and due is None:
                    wait = self._seconds_to_next_retry()
                    self._condition.wait(timeout=wait)
                    due = self._next_due()
                if self._stopping:
                    return
            self._deliver(due)

    def _next_due(self) -> OutboundMessage | None:
        for action_id, notifications in list(self._pending.items()):
            if notifications and action_id in self._listeners:
                batch, self._pending[action_id] = notifications[:MAX_NOTIFICATIONS], notifications[MAX_NOTIFICATIONS:]
                message = OutboundMessage(action_id, batch, first_attempt=time.monotonic())
                self.messages.append(message)
                return message
        now = time.monotonic()
        return next((m for m in self.messages if not (m.acked or m.dropped) and m.next_attempt <= now
                     and m.attempts > 0), None)

    def _seconds_to_next_retry(self) -> float | None:
        waiting = [m.next_attempt for m in self.messages if not (m.acked or m.dropped) and m.attempts > 0]
        return None if not waiting else max(0.0, min(waiting) - time.monotonic())

    def _deliver(self, message: OutboundMessage) -> None:
        listener = self._listeners.get(message.action_id)
        if listener is None:
            message.dropped = True
            return
        message.attempts += 1
        try:
            response = self._client.post(
                listener.url, content=self.envelope(listener, message).encode(),
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
            )
            message.last_status, acked = response.status_code, is_ack(response.status_code, response.content)
            message.history.append(response.status_code)
        except httpx.HTTPError as exc:
            message.last_error, acked = str(exc), False
            message.history.append(type(exc).__name__)
        with self._condition:
            message.acked = acked
            if not acked:
                delay = min(self.policy.max_seconds, self.policy.initial_seconds * 2 ** (message.attempts - 1))
                message.next_attempt = time.monotonic() + delay
                message.dropped = message.next_attempt - message.first_attempt > self.policy.give_up_after_seconds

    def envelope(self, listener: OutboundListener, message: OutboundMessage) -> str:
        notifications = []
        for notification_id, record_id in message.notifications:
            record = self.store.get(listener.object_name, record_id, include_deleted=True) or {"Id": record_id}
            values = "".join(
                f"<sf:{name}>{escape(to_text_value(record[name]))}</sf:{name}>"
                for name in listener.fields if record.get(name) is not None
            )
            notifications.append(
                f"<Notification><Id>{notification_id}</Id>"
                f'<sObject xsi:type="sf:{listener.object_name}" xmlns:sf="{SOBJECT_NS}">{values}</sObject>'
                "</Notification>"
            )
        soap = f"{self.base_url}/services/Soap"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<soapenv:Body><notifications xmlns="{OUTBOUND_NS}">'
            f"<OrganizationId>{self.org_id}</OrganizationId><ActionId>{listener.action_id}</ActionId>"
            '<SessionId xsi:nil="true"/>'
            f"<EnterpriseUrl>{soap}/c/{self.version}/{self.org_id[:15]}</EnterpriseUrl>"
            f"<PartnerUrl>{soap}/u/{self.version}/{self.org_id[:15]}</PartnerUrl>"
            f"{''.join(notifications)}</notifications></soapenv:Body></soapenv:Envelope>"
        )

    def close(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self._thread.join(timeout=5)
        self._client.close()
