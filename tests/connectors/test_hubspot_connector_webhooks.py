"""HubSpot webhooks at the connector: signature checks, event parsing, batch fetch, and merges redirected."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hubspot_connector_support as fixtures
import pytest
from hubspot_connector_support import HubSpotPortalAdmin
from sandbox_support import LocalListener
from sqlalchemy import Engine, select

from crmsync.config.policy import MergePolicy
from crmsync.connectors.hubspot import HubSpotConnector, WebhookSignatureError, parse_events
from crmsync.connectors.hubspot import verify_signature as verify
from crmsync.mappings.loader import load_mappings
from crmsync.store import db
from crmsync.store.models import ExternalRef, Lead
from crmsync.sync_engine.ingest import CheckpointUpdate, Ingestor
from crmsync.sync_engine.source_merges import merge_hook

SECRET = "app-client-secret"
URI = "https://crmsync.example.com/webhooks/hubspot?portal=62515"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BODY = json.dumps([{"eventId": 1, "subscriptionType": "contact.propertyChange", "objectId": 101, "portalId": 62515,
                    "occurredAt": int(NOW.timestamp() * 1000), "propertyName": "email", "propertyValue": "a@b.co",
                    "attemptNumber": 0, "changeSource": "CRM_UI"}]).encode()

hubspot_emulator, portal, make_connector = (  # fixtures used by name
    fixtures.hubspot_emulator, fixtures.portal, fixtures.make_connector)


def _v3_headers(body: bytes, uri: str = URI, at: datetime = NOW) -> dict[str, str]:
    timestamp = str(int(at.timestamp() * 1000))
    digest = hmac.new(SECRET.encode(), b"POST" + uri.encode() + body + timestamp.encode(), hashlib.sha256).digest()
    return {"x-hubspot-signature-v3": base64.b64encode(digest).decode(), "X-HubSpot-Request-Timestamp": timestamp}


def test_a_valid_v3_signature_passes() -> None:
    assert verify("POST", URI, BODY, _v3_headers(BODY), SECRET, NOW + timedelta(seconds=10)) == "v3"


@pytest.mark.parametrize("case", ["stale", "tampered body", "wrong uri", "wrong secret", "no signature"])
def test_bad_v3_requests_are_refused(case: str) -> None:
    headers, body, uri, secret, now = _v3_headers(BODY), BODY, URI, SECRET, NOW
    if case == "stale":
        now = NOW + timedelta(seconds=301)
    elif case == "tampered body":
        body = BODY.replace(b"a@b.co", b"x@y.co")
    elif case == "wrong uri":
        uri = URI.replace("portal=62515", "portal=1")
    elif case == "wrong secret":
        secret = "other"
    else:
        headers = {}
    with pytest.raises(WebhookSignatureError):
        verify("POST", uri, body, headers, secret, now)


def test_v1_and_v2_signatures() -> None:
    v1 = hashlib.sha256(SECRET.encode() + BODY).hexdigest()
    v2 = hashlib.sha256(SECRET.encode() + b"POST" + URI.encode() + BODY).hexdigest()
    assert verify("POST", URI, BODY, {"X-HubSpot-Signature-Version": "v1", "X-HubSpot-Signature": v1}, SECRET,
                  NOW) == "v1"
    assert verify("POST", URI, BODY, {"X-HubSpot-Signature-Version": "v2", "X-HubSpot-Signature": v2}, SECRET,
                  NOW) == "v2"
    with pytest.raises(WebhookSignatureError):
        verify("POST", URI, BODY + b" ", {"X-HubSpot-Signature-Version": "v2", "X-HubSpot-Signature": v2}, SECRET,
               NOW)


def test_events_become_thin_notices() -> None:
    merge = {"eventId": 2, "subscriptionType": "contact.merge", "objectId": 7, "occurredAt": 0,
             "primaryObjectId": 5, "mergedObjectIds": [6], "newObjectId": 7}
    call = {"eventId": 3, "subscriptionType": "object.deletion", "objectTypeId": "0-48", "objectId": 9,
            "occurredAt": 0}
    change, merged, deleted = parse_events(json.dumps([json.loads(BODY)[0], merge, call]).encode())
    assert (change.object_type, change.object_id, change.property_name, change.change) == (
        "contacts", "101", "email", "propertyChange")
    assert merged.change == "merge" and merged.merged_ids == ("6",) and merged.record_id == "7"
    assert (deleted.object_type, deleted.change) == ("calls", "deletion")


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_emulator_webhooks_verify_and_fetch_in_batch(portal: HubSpotPortalAdmin,
                                                     make_connector: Callable[..., HubSpotConnector]) -> None:
    listener = LocalListener(lambda body: (204, b""), path="/webhooks/hubspot")
    try:
        portal.admin("POST", "listeners", json={"url": listener.url})
        first = portal.create("contacts", email="one@example.com")
        portal.create("contacts", email="two@example.com")
        portal.delete("contacts", first)
        _wait_for(lambda: sum(len(json.loads(body)) for _, body in listener.requests) >= 3)
        notices = []
        for headers, body in listener.requests:
            verify("POST", listener.url, body, headers, portal.endpoint.credentials["client_secret"],
                   portal.backend.clock.now())
            notices += parse_events(body)
        records = make_connector().fetch_notices(notices)
        assert sorted((r.payload["properties"]["email"], r.deleted) for r in records) == [
            ("one@example.com", True), ("two@example.com", False)]
    finally:
        listener.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'crmsync.db'}")
    db.upgrade(engine)
    yield engine
    engine.dispose()


def test_a_hubspot_merge_becomes_a_canonical_merge(portal: HubSpotPortalAdmin, store: Engine,
                                                   make_connector: Callable[..., HubSpotConnector]) -> None:
    primary = portal.create("contacts", email="pat@example.com", firstname="Pat")
    other = portal.create("contacts", email="patricia@example.com", lastname="Smith")
    connector, ingestor = make_connector(), Ingestor(store, load_mappings(), MergePolicy())
    ingestor.page_hooks.append(merge_hook(MergePolicy()))  # as every Workspace ingestor has
    cursor = None
    for page in connector.read("contacts", None):
        ingestor.ingest_page(page.records, "run-1", CheckpointUpdate(connector.name, page.stream, page.cursor))
        cursor = page.cursor
    survivor = portal.merge("contacts", primary, other)
    portal.advance(1)
    for page in connector.read("contacts", cursor):
        result = ingestor.ingest_page(page.records, "run-2", CheckpointUpdate(connector.name, page.stream, page.cursor))
        # A contact merge makes a new id: it joins the person of the first old record, the other folds in.
        assert (result.counts["created"], result.counts["merged"]) == (0, 1)
    with store.connect() as conn:
        refs = dict(conn.execute(select(ExternalRef.external_id, ExternalRef.canonical_id)).all())
        closed = set(conn.execute(select(ExternalRef.external_id).where(ExternalRef.deleted_at.is_not(None)))
                     .scalars())
        live = conn.execute(select(Lead.id, Lead.last_name).where(Lead.merged_into.is_(None))).all()
    assert refs[primary] == refs[other] == refs[survivor]  # every old id redirects to the survivor
    assert closed == {primary, other}  # no longer records of HubSpot's: the survivor stands for them
    assert [(lead_id, last) for lead_id, last in live] == [(refs[survivor], "Smith")]


def test_a_property_change_becomes_a_partial_record(portal: HubSpotPortalAdmin,
                                                    make_connector: Callable[..., HubSpotConnector]) -> None:
    from crmsync.connectors.hubspot.webhook import HubSpotWebhookAdapter

    adapter = HubSpotWebhookAdapter(make_connector(), SECRET)
    cleared = {**json.loads(BODY)[0], "eventId": 2, "propertyName": "firstname", "propertyValue": ""}
    changed, emptied = adapter.records([json.loads(BODY)[0], cleared])
    assert (changed.partial, changed.payload["properties"], changed.cleared) == (True, {"email": "a@b.co"},
                                                                                 frozenset())
    assert (emptied.partial, emptied.cleared) == (True, frozenset({"properties.firstname"}))
