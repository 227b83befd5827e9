"""Outbound Messages: SOAP notifications to a local listener, retried until it acknowledges."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from defusedxml import ElementTree
from sandbox_support import LocalListener, SalesforceSandbox
from simple_salesforce import Salesforce

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ACK = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    '<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
    "</notificationsResponse></soapenv:Body></soapenv:Envelope>"
)


class Listener(LocalListener):
    """Fails a scripted number of times, then acknowledges."""

    def __init__(self, failures: list[tuple[int, str]]) -> None:
        self.failures = list(failures)
        self.acked = threading.Event()
        super().__init__(self._respond, path="/salesforce/outbound")

    def _respond(self, _body: bytes) -> tuple[int, bytes]:
        status, reply = self.failures.pop(0) if self.failures else (200, ACK)
        if reply == ACK and status == 200:
            self.acked.set()
        return status, reply.encode()


@pytest.fixture
def flaky_listener() -> Iterator[Listener]:
    listener = Listener([(500, "boom"), (200, "<ok/>")])  # a 500, then a 200 without a valid Ack
    yield listener
    listener.close()


def test_notification_is_retried_until_acknowledged(
    sandbox: SalesforceSandbox, sf: Salesforce, flaky_listener: Listener
) -> None:
    config = sandbox.admin("POST", "listeners", json={
        "url": flaky_listener.url, "object": "Lead", "fields": ["Email", "LastName", "Company"]
    })
    assert config["action_id"].startswith("04k")
    lead_id = sf.Lead.create({"LastName": "Hook", "Company": "Out & Bound", "Email": "hook@x.io"})["id"]
    assert flaky_listener.acked.wait(timeout=5), "listener never acknowledged"
    assert len(flaky_listener.requests) == 3  # 500, bad ack, then acked

    headers, body = flaky_listener.requests[-1]
    assert headers["Content-Type"] == "text/xml; charset=utf-8" and headers["SOAPAction"] == '""'
    root = ElementTree.fromstring(body)
    assert root.tag == f"{{{SOAPENV}}}Envelope"
    notifications = root.find(f"{{{SOAPENV}}}Body/{{{OUTBOUND}}}notifications")
    assert notifications is not None
    assert notifications.findtext(f"{{{OUTBOUND}}}OrganizationId", "").startswith("00D")
    assert notifications.findtext(f"{{{OUTBOUND}}}ActionId") == config["action_id"]
    session = notifications.find(f"{{{OUTBOUND}}}SessionId")
    assert session is not None and session.get(f"{{{XSI}}}nil") == "true"
    assert notifications.findtext(f"{{{OUTBOUND}}}EnterpriseUrl", "").startswith(f"{sandbox.base_url}/services/Soap/c/")
    assert notifications.findtext(f"{{{OUTBOUND}}}PartnerUrl", "").startswith(f"{sandbox.base_url}/services/Soap/u/")
    [notification] = notifications.findall(f"{{{OUTBOUND}}}Notification")
    assert notification.findtext(f"{{{OUTBOUND}}}Id", "").startswith("04l")
    sobject = notification.find(f"{{{OUTBOUND}}}sObject")
    assert sobject is not None and sobject.get(f"{{{XSI}}}type") == "sf:Lead"
    assert {child.tag.split("}")[1]: child.text for child in sobject} == {
        "Id": lead_id, "Email": "hook@x.io", "LastName": "Hook", "Company": "Out & Bound"
    }
    assert all(child.tag.startswith(f"{{{SOBJECT}}}") for child in sobject)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not sandbox.admin("GET", "outbound")[0]["acked"]:
        time.sleep(0.01)  # the sender records the ack just after the listener answers
    [log] = sandbox.admin("GET", "outbound")
    assert log["attempts"] == 3 and log["history"] == [500, 200, 200] and log["acked"] is True


def test_updates_of_other_objects_are_not_sent(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    listener = Listener([])
    try:
        sandbox.admin("POST", "listeners", json={"url": listener.url, "object": "Contact", "fields": ["Email"]})
        sf.Lead.create({"LastName": "Not sent", "Company": "C"})
        contact = sf.Contact.create({"LastName": "Sent"})["id"]
        sandbox.admin("PATCH", f"records/Contact/{contact}", json={"Email": "changed@x.io"})  # a user edit
        def sent() -> str:
            return "".join(body.decode() for _, body in listener.requests)

        deadline = time.monotonic() + 5
        while sent().count("<Notification>") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # create + update: two notifications, in one message or two
        assert sent().count("<Notification>") == 2 and sent().count(f"<sf:Id>{contact}</sf:Id>") == 2
        assert "changed@x.io" in listener.requests[-1][1].decode() and "Not sent" not in sent()
    finally:
        listener.close()
