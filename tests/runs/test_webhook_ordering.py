"""Webhook events delivered shuffled, duplicated and in odd batches end in the state in-order delivery gives:
source timestamps decide, not arrival (HubSpot property changes, through the adapter and the one ingest path)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot_sandbox_support import HubSpotPortalAdmin, hubspot_emulator, portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runs_support import ReceiverServer, hubspot_connection
from sqlalchemy import Engine, select
from test_webhook_receiver import signed

from crmsync.config.settings import Settings
from crmsync.receiver.processor import wait_until_empty
from crmsync.receiver.server import Receiver
from crmsync.store import db
from crmsync.store.models import ExternalRef, Lead
from crmsync.store.provenance import unpack
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.ingest import Ingestor
from crmsync.sync_engine.workspace import Workspace

__all__ = ["hubspot_emulator", "portal"]
PROPERTIES = ("firstname", "lastname", "jobtitle", "city", "company")
T0_MS = 1_760_000_000_000


def events(count: int, contacts: int, seed: int) -> list[dict[str, Any]]:
    """Property changes on a few contacts, each at its own time (ties at equal times included)."""
    rng = random.Random(seed)
    return [{"eventId": 10_000 + i, "subscriptionId": 1, "portalId": 62515, "appId": 1,
             "occurredAt": T0_MS + i * 1000 - rng.choice((0, 0, 0, 1000)),  # some share a timestamp
             "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
             "objectId": 900 + rng.randrange(contacts), "changeSource": "CRM_UI",
             "propertyName": rng.choice(PROPERTIES), "propertyValue": rng.choice(("", "Ada", "Bo", "Cy", "Di"))}
            for i in range(count)]


def canonical_state(engine: Engine) -> dict[str, Any]:
    """Per HubSpot contact: its lead's fields and their provenance (minus ids, run ids and wall-clock times)."""
    with engine.connect() as conn:
        refs = dict(conn.execute(select(ExternalRef.canonical_id, ExternalRef.external_id)).all())
        leads = {row.id: row for row in conn.execute(select(Lead))}
    state = {}
    for canonical_id, external_id in refs.items():
        lead = leads[canonical_id]
        fields = {k: v for k, v in lead._mapping.items() if k not in ("id", "created_at", "updated_at", "provenance")}
        provenance = unpack(lead.provenance)
        state[external_id] = (fields, {k: v[:2] for k, v in provenance.items()})
    return state


@pytest.fixture(scope="module")
def adapter_workspace(hubspot_emulator: HubSpotPortalAdmin, tmp_path_factory) -> Iterator[Workspace]:
    path = tmp_path_factory.mktemp("ordering") / "unused.db"
    settings = Settings.model_validate({"database_url": f"sqlite:///{path}",
                                        "connections": [hubspot_connection(hubspot_emulator)]})
    db.upgrade(db.make_engine(settings.database_url))
    workspace = Workspace(settings, token_store=NoTokenStore())
    yield workspace
    workspace.close()


def apply(workspace: Workspace, batches: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Deliver batches (as the inbox hands them over) into a fresh in-memory store; return its state."""
    from crmsync.receiver.server import build_adapter

    config = workspace.connection("hs")
    adapter = build_adapter("hubspot", workspace.connector("hs"), config, None)
    engine = db.make_engine("sqlite://")
    db.upgrade(engine)
    ingestor = Ingestor(engine, workspace.mappings_for("hs"), workspace.settings.merge)
    seen: set[int] = set()
    for batch in batches:
        fresh = [event for event in batch if event["eventId"] not in seen]  # the inbox drops redeliveries
        seen.update(event["eventId"] for event in fresh)
        ingestor.ingest_page(adapter.records(fresh), "run")
    return canonical_state(engine)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_delivery_order_with_duplicates_converges_to_the_in_order_state(adapter_workspace: Workspace,
                                                                             data: st.DataObject) -> None:
    original = events(data.draw(st.integers(5, 40)), contacts=3, seed=data.draw(st.integers(0, 10_000)))
    delivered = data.draw(st.permutations(original))
    duplicates = data.draw(st.lists(st.sampled_from(original), max_size=len(original) // 5 + 1))
    delivered = list(delivered) + duplicates
    cuts = sorted(data.draw(st.lists(st.integers(0, len(delivered)), max_size=6)))
    batches = [delivered[a:b] for a, b in zip([0, *cuts], [*cuts, len(delivered)], strict=True)]
    assert apply(adapter_workspace, batches) == apply(adapter_workspace, [original])


def test_a_thousand_events_shuffled_with_duplicates_through_the_receiver(portal, tmp_path: Path) -> None:
    original = events(1000, contacts=25, seed=7)
    rng = random.Random(11)
    delivered = original + rng.sample(original, 200)  # 20 % duplicates
    rng.shuffle(delivered)
    states = []
    for name, stream in (("in-order", original), ("shuffled", delivered)):
        settings = Settings.model_validate({"database_url": f"sqlite:///{tmp_path / name}.db",
                                            "connections": [hubspot_connection(portal)]})
        engine = db.make_engine(settings.database_url)
        db.upgrade(engine)
        workspace = Workspace(settings, engine, token_store=NoTokenStore())
        receiver = Receiver(workspace, with_scheduler=False)
        with ReceiverServer(receiver.app) as server:
            url = f"{server.url}/webhooks/hs"
            position = 0
            while position < len(stream):
                size = rng.randint(1, 100) if name == "shuffled" else 100
                body, headers = signed(portal, url, stream[position:position + size])
                assert requests.post(url, data=body, headers=headers).status_code == 204
                position += size
                if name == "shuffled" and rng.random() < 0.3:
                    wait_until_empty(receiver.processor, 10)  # processing interleaves with delivery
            assert wait_until_empty(receiver.processor, 30)
        states.append(canonical_state(engine))
        workspace.close()
    assert len(states[0]) == 25
    assert states[1] == states[0]
