"""Outbound Messages: the emulator POSTs SOAP to a local listener that parses with the connector and Acks;
plus the refusals (wrong org, malformed XML, DTDs and entities)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from salesforce_connector_support import SalesforceOrgAdmin
from sandbox_support import LocalListener

from crmsync.connectors.salesforce import (
    OutboundMessageError,
    OutboundNotification,
    OutboundOrgMismatch,
    SalesforceConnector,
    ack_response,
    parse_outbound_message,
)
from crmsync.connectors.salesforce.webhook import SalesforceWebhookAdapter
from crmsync.receiver.events import WebhookRequest
from crmsync.sandbox.salesforce.outbound import is_ack


class OutboundListener(LocalListener):
    """What the HTTP route will do later: parse with the connector, answer the Ack (or 400 when refused)."""

    def __init__(self, connector: SalesforceConnector) -> None:
        self.bodies: list[bytes] = []
        self.notifications: list[OutboundNotification] = []
        self.received = threading.Event()
        self.connector = connector
        super().__init__(self._respond, path="/webhooks/salesforce")

    def _respond(self, body: bytes) -> tuple[int, bytes]:
        self.bodies.append(body)
        try:
            self.notifications += self.connector.parse_outbound(body)
            status, reply = 200, ack_response()
        except OutboundMessageError as exc:
            status, reply = 400, str(exc).encode()
        self.received.set()
        return status, reply


@pytest.fixture
def listener(connector: SalesforceConnector) -> Iterator[OutboundListener]:
    connector.connect()  # log in up front: the handler thread only parses
    running = OutboundListener(connector)
    yield running
    running.close()


def _acked(org: SalesforceOrgAdmin) -> list[dict[str, object]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = org.admin("GET", "outbound")
        if log and all(message["acked"] for message in log):
            return list(log)
        time.sleep(0.01)
    raise AssertionError(f"never acknowledged: {org.admin('GET', 'outbound')}")


def test_outbound_message_is_parsed_typed_and_acknowledged(
    org: SalesforceOrgAdmin, connector: SalesforceConnector, listener: OutboundListener
) -> None:
    org.admin("POST", "listeners", json={"url": listener.url, "object": "Lead", "fields": [
        "Email", "LastName", "Company", "NumberOfEmployees", "IsConverted", "AnnualRevenue", "SystemModstamp"]})
    lead = org.create("Lead", LastName="Hook", Company="Out & Bound <Ltd>", Email="hook@x.io", NumberOfEmployees=12,
                      AnnualRevenue=1500.5)
    assert listener.received.wait(5)
    [log] = _acked(org)
    assert log["attempts"] == 1 and log["history"] == [200]  # our Ack satisfied the sender first time
    [notification] = listener.notifications
    record = notification.record
    assert notification.notification_id.startswith("04l")
    assert (record.system, record.object, record.external_id, record.connection) == ("salesforce", "Lead", lead,
                                                                                   connector.name)
    [stored] = org.records("Lead")
    assert record.payload == {"Id": lead, "Email": "hook@x.io", "LastName": "Hook", "Company": "Out & Bound <Ltd>",
                              "NumberOfEmployees": 12, "IsConverted": False, "AnnualRevenue": 1500.5,
                              "SystemModstamp": stored["SystemModstamp"]}
    [fetched] = connector.fetch("Lead", [lead])
    assert record.modified_at == fetched.modified_at and not record.deleted
    # Only the fields the admin selected: the ones left out (Title, Phone ...) say nothing about their values.
    assert record.partial and not fetched.partial
    adapter = SalesforceWebhookAdapter(connector, None)  # the same message through `crmsync serve`'s inbox
    request = WebhookRequest("POST", listener.url, {}, {}, listener.bodies[0], datetime.now(UTC))
    [from_inbox] = adapter.records([event.payload for event in adapter.accept(request)])
    assert from_inbox.partial and from_inbox.payload == record.payload


def test_a_message_from_another_org_is_refused(
    org: SalesforceOrgAdmin, connector: SalesforceConnector, listener: OutboundListener
) -> None:
    org.admin("POST", "listeners", json={"url": listener.url, "object": "Contact", "fields": ["LastName"]})
    org.create("Contact", LastName="Elsewhere")
    assert listener.received.wait(5)
    body = listener.bodies[0]
    org_id = connector.identity.org_id
    with pytest.raises(OutboundOrgMismatch, match="not the configured 00D000000000042AAA"):
        parse_outbound_message(body, expected_org_id="00D000000000042AAA")
    [untyped] = parse_outbound_message(body, expected_org_id=org_id[:15])  # the 15-character form is the same org
    assert untyped.record.object == "Contact" and untyped.record.payload["LastName"] == "Elsewhere"


@pytest.mark.parametrize("body", [
    b"<soapenv:Envelope",  # truncated
    b"not xml at all",
    b'<?xml version="1.0"?><Envelope><Body/></Envelope>',  # XML, but not an outbound message
])
def test_malformed_messages_are_refused(body: bytes) -> None:
    with pytest.raises(OutboundMessageError):
        parse_outbound_message(body, expected_org_id=None)


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><x>&lol2;</x>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>',
    b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>',
])
def test_dtds_and_entities_are_refused(body: bytes) -> None:
    with pytest.raises(OutboundMessageError, match="DTDs and entities are not allowed"):
        parse_outbound_message(body, expected_org_id=None)


def test_ack_response_is_the_envelope_salesforce_expects() -> None:
    body = ack_response()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope')
    assert b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>' in body
    assert is_ack(200, body) and not is_ack(500, body)
