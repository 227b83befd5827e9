"""HubSpot emulator webhooks: batched, signed (v3 and v1), retried until the receiver answers 2xx."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import hubspot_sandbox_support as fixtures
from hubspot.utils.signature import Signature
from hubspot_sandbox_support import HubSpotPortalAdmin
from sandbox_support import LocalListener

hubspot_emulator, portal = fixtures.hubspot_emulator, fixtures.portal  # fixtures used by name


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for webhook deliveries"
        time.sleep(0.02)


def test_events_arrive_batched_and_signed_v3(portal: HubSpotPortalAdmin) -> None:
    listener = LocalListener(lambda body: (200, b""), path="/hooks/hubspot?portal=1")
    try:
        portal.admin("POST", "listeners", json={"url": listener.url})
        contact = portal.create("contacts", email="w@example.com")
        portal.update("contacts", contact, firstname="Wes")
        portal.delete("contacts", contact)
        _wait_for(lambda: sum(len(json.loads(body)) for _, body in listener.requests) >= 3)
        events = [event for _, body in listener.requests for event in json.loads(body)]
        assert [e["subscriptionType"] for e in events] == ["contact.creation", "contact.propertyChange",
                                                           "contact.deletion"]
        assert events[1]["propertyName"] == "firstname" and events[1]["propertyValue"] == "Wes"
        assert all(e["objectId"] == int(contact) and e["attemptNumber"] == 0 for e in events)
        headers, body = listener.requests[0]
        secret = portal.endpoint.credentials["client_secret"]
        assert Signature.is_valid(headers["X-HubSpot-Signature-v3"], secret, body.decode(), listener.url, "POST",
                                  "v3", headers["X-HubSpot-Request-Timestamp"])
    finally:
        listener.close()


def test_failed_deliveries_are_retried_and_v1_is_signed_when_asked(portal: HubSpotPortalAdmin) -> None:
    answers = iter([500, 503, 200])
    listener = LocalListener(lambda body: (next(answers, 200), b""))
    try:
        portal.admin("POST", "listeners", json={"url": listener.url, "signature_version": "v1"})
        portal.create("companies", name="Retry Co")
        _wait_for(lambda: len(listener.requests) >= 3)
        attempts = [json.loads(body)[0]["attemptNumber"] for _, body in listener.requests]
        assert attempts == [0, 1, 2]
        headers, body = listener.requests[-1]
        assert headers["X-HubSpot-Signature-Version"] == "v1"
        assert Signature.is_valid(headers["X-HubSpot-Signature"], portal.endpoint.credentials["client_secret"],
                                  body.decode(), signature_version="v1")
        [delivery] = portal.admin("GET", "webhooks")
        assert delivery["history"] == [500, 503, 200] and delivery["delivered"]
    finally:
        listener.close()
