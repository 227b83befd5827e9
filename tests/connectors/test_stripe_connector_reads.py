"""Stripe connector reads through stripe-python over HTTPS: listing, the events cursor, retention fallback."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
from stripe_connector_support import ids_of, last_cursor

if TYPE_CHECKING:
    from stripe_sandbox_support import StripeSandbox

    from crmsync.connectors.stripe import StripeConnector

pytest_plugins = ["stripe_fixtures", "stripe_connector_fixtures"]


def _customers(sandbox: StripeSandbox, count: int) -> list[str]:
    return [sandbox.admin("POST", "records/customers", json={"email": f"p{i}@example.com", "name": f"P {i}"})["id"]
            for i in range(count)]


def test_first_read_lists_every_customer_in_resumable_pages(stripe_sandbox: StripeSandbox,
                                                            stripe_connector: StripeConnector) -> None:
    created = _customers(stripe_sandbox, 5)
    pages = list(stripe_connector.read("customers", None))
    assert sorted(ids_of(pages)) == sorted(created)
    assert [len(page.records) for page in pages] == [2, 2, 1]
    assert last_cursor(pages)["mode"] == "events"
    # Resuming from the first page's cursor delivers exactly the rest.
    rest = list(stripe_connector.read("customers", pages[0].cursor))
    assert ids_of(rest) == ids_of(pages)[2:]


def test_events_cursor_delivers_changes_oldest_first_once(stripe_sandbox: StripeSandbox,
                                                          stripe_connector: StripeConnector) -> None:
    stripe_sandbox.admin("POST", "clock/freeze")  # every change in the same second: the boundary must dedupe
    first, second = _customers(stripe_sandbox, 2)
    cursor = last_cursor(list(stripe_connector.read("customers", None)))
    stripe_sandbox.admin("PATCH", f"records/customers/{second}", json={"name": "Second Renamed"})
    third = _customers(stripe_sandbox, 1)[0]
    stripe_sandbox.admin("PATCH", f"records/customers/{first}", json={"phone": "+14155550111"})
    pages = list(stripe_connector.read("customers", cursor))
    assert ids_of(pages) == [second, third, first]  # oldest change first
    assert next(r.payload.get("name") for p in pages for r in p.records) == "Second Renamed"
    again = list(stripe_connector.read("customers", last_cursor(pages)))
    assert ids_of(again) == []  # same second, already delivered: nothing twice
    stripe_sandbox.admin("DELETE", f"records/customers/{third}")
    deleted = [r for p in stripe_connector.read("customers", last_cursor(pages)) for r in p.records]
    assert [(r.external_id, r.deleted) for r in deleted] == [(third, True)]


def test_cursor_older_than_retention_falls_back_to_listing(stripe_sandbox: StripeSandbox,
                                                          stripe_connector: StripeConnector,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    _customers(stripe_sandbox, 1)
    cursor = last_cursor(list(stripe_connector.read("customers", None)))
    stripe_sandbox.advance(31 * 86400)
    late = _customers(stripe_sandbox, 1)[0]
    with caplog.at_level(logging.WARNING, logger="crmsync.connectors.stripe"):
        pages = list(stripe_connector.read("customers", cursor))
    assert late in ids_of(pages)  # (the boundary second is re-read: inclusive, harmless to re-ingest)
    assert any("event retention" in message for message in caplog.messages)
    assert last_cursor(pages)["mode"] == "events"  # and events take over again


def test_backfill_window_by_created(stripe_sandbox: StripeSandbox, stripe_connector: StripeConnector) -> None:
    from datetime import UTC, datetime, timedelta

    early = _customers(stripe_sandbox, 2)
    stripe_sandbox.advance(3600)
    middle = datetime.now(UTC) + timedelta(seconds=1800)
    _customers(stripe_sandbox, 1)
    assert sorted(ids_of(stripe_connector.read("customers", None, until=middle))) == sorted(early)
