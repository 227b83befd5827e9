"""Salesforce Outbound Messages (SOAP notifications) → SourceRecords, and the Ack the listener must answer.

There is no signature: authenticity rests on TLS, an IP allow-list and the OrganizationId check done here.
Delivery is at least once and unordered, so the notification id is kept for de-duplication. A message holds
only the fields its admin selected, so its records are `partial`. The XML is
parsed with defusedxml and any DTD or entity declaration is refused outright.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from crmsync.connectors.base import ConnectorError
from crmsync.connectors.salesforce.bulk import csv_value
from crmsync.connectors.salesforce.cursor import parse_salesforce_datetime
from crmsync.sync_engine.records import SourceRecord

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ACK_RESPONSE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body>'
    f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
).encode()


class OutboundMessageError(ConnectorError):
    """The body is not a well-formed, safe Salesforce outbound message: answer 400 and do not Ack."""


class OutboundOrgMismatch(OutboundMessageError):
    """The message names another org: someone else's Salesforce, or a forged request."""


@dataclass(frozen=True, slots=True)
class OutboundNotification:
    notification_id: str  # 04l…: the same id on every redelivery
    record: SourceRecord


def ack_response() -> bytes:
    """The body to answer (HTTP 200, text/xml) once the notifications are stored durably."""
    return ACK_RESPONSE


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _same_org(a: str, b: str) -> bool:
    return a[:15] == b[:15]  # 15- and 18-character forms of an Id name the same org


def parse_outbound_message(
    body: bytes, *, expected_org_id: str | None, connection: str | None = None,
    field_types: Callable[[str], Mapping[str, str]] | None = None,
) -> list[OutboundNotification]:
    """Notifications in message order. `field_types(object)` (field → describe type) types the values as the
    REST API would; without it values stay text. Raises OutboundMessageError (or OutboundOrgMismatch)."""
    try:
        root = ElementTree.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise OutboundMessageError(f"outbound message refused: {type(exc).__name__} (DTDs and entities are not "
                                   "allowed)") from None
    except ElementTree.ParseError as exc:
        raise OutboundMessageError(f"outbound message is not well-formed XML: {exc}") from None
    notifications = root.find(f"{_q(SOAP_ENV_NS, 'Body')}/{_q(OUTBOUND_NS, 'notifications')}")
    if root.tag != _q(SOAP_ENV_NS, "Envelope") or notifications is None:
        raise OutboundMessageError("not a Salesforce outbound message: no soapenv:Body/notifications element")
    org_id = (notifications.findtext(_q(OUTBOUND_NS, "OrganizationId")) or "").strip()
    if expected_org_id is not None and not _same_org(org_id, expected_org_id):
        raise OutboundOrgMismatch(f"outbound message is for org {org_id or '(none)'}, not the configured "
                                  f"{expected_org_id}; check the listener URL given to that org")
    received_at = datetime.now(UTC)
    parsed = []
    for notification in notifications.findall(_q(OUTBOUND_NS, "Notification")):
        notification_id = (notification.findtext(_q(OUTBOUND_NS, "Id")) or "").strip()
        sobject = notification.find(_q(OUTBOUND_NS, "sObject"))
        if not notification_id or sobject is None:
            raise OutboundMessageError("outbound notification without Id or sObject")
        record = _record(sobject, received_at, connection, field_types)
        parsed.append(OutboundNotification(notification_id, record))
    return parsed


def _record(sobject: Element, received_at: datetime, connection: str | None,
            field_types: Callable[[str], Mapping[str, str]] | None) -> SourceRecord:
    declared = sobject.get(_q(XSI_NS, "type"), "")
    object_name = declared.rpartition(":")[2]
    if not object_name:
        raise OutboundMessageError("outbound notification sObject has no xsi:type")
    types = field_types(object_name) if field_types is not None else {}
    payload: dict[str, Any] = {}
    for child in sobject:
        if not child.tag.startswith(f"{{{SOBJECT_NS}}}"):
            continue
        name = child.tag.rpartition("}")[2]
        is_nil = child.get(_q(XSI_NS, "nil")) == "true"
        payload[name] = None if is_nil else csv_value(child.text or "", types.get(name))
    record_id = payload.get("Id")
    if not record_id:
        raise OutboundMessageError(f"outbound {object_name} notification without sf:Id")
    # Values are as of sending; without SystemModstamp among the fields, receipt time is the best bound. The
    # message carries only the fields the admin selected: the record is partial.
    stamp = payload.get("SystemModstamp") or payload.get("LastModifiedDate")
    modified_at = parse_salesforce_datetime(str(stamp)) if stamp else received_at
    return SourceRecord(system="salesforce", object=object_name, external_id=str(record_id), modified_at=modified_at,
                        payload=payload, deleted=False, connection=connection, partial=True)
