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


def _pay(sandbox: StripeSandbox, customer: str) -> None:
    sandbox.admin("POST", "records/payment_intents", json={
        "amount": 1500, "currency": "usd", "customer": customer, "payment_method": "pm_card_visa", "confirm": True})


def test_idle_passes_read_nothing(stripe_sandbox: StripeSandbox, stripe_connector: StripeConnector) -> None:
    customers = _customers(stripe_sandbox, 3)
    for customer in customers:
        _pay(stripe_sandbox, customer)
    streams = ("customers", "payment_intents")
    cursors = {stream: last_cursor(list(stripe_connector.read(stream, None))) for stream in streams}
    for _ in range(3):
        for stream in streams:
            pages = list(stripe_connector.read(stream, cursors[stream]))
            assert ids_of(pages) == [], stream
            cursors[stream] = last_cursor(pages) if pages else cursors[stream]


def test_a_quiet_stream_follows_the_events_of_others_instead_of_expiring(
        stripe_sandbox: StripeSandbox, stripe_connector: StripeConnector, caplog: pytest.LogCaptureFixture) -> None:
    # Customers never change again; payments keep coming. Every pass is within Stripe's 30 days of the last,
    # so no event is ever lost: the customers cursor must keep up, not look 30 days old and re-list everyone.
    [customer] = _customers(stripe_sandbox, 1)
    streams = ("customers", "payment_intents")
    cursors = {stream: last_cursor(list(stripe_connector.read(stream, None))) for stream in streams}
    with caplog.at_level(logging.WARNING, logger="crmsync.connectors.stripe"):
        for _ in range(3):
            stripe_sandbox.advance(20 * 86400)
            _pay(stripe_sandbox, customer)
            for stream in streams:
                pages = list(stripe_connector.read(stream, cursors[stream]))
                cursors[stream] = last_cursor(pages) if pages else cursors[stream]
                if stream == "customers":
                    assert ids_of(pages) == []
    assert not any("event retention" in message for message in caplog.messages)


def test_list_ids_pages_live_objects_that_stand_alone(stripe_sandbox: StripeSandbox,
                                                      stripe_connector: StripeConnector) -> None:
    from crmsync.connectors.base import Capability

    kept, deleted = _customers(stripe_sandbox, 5), None
    deleted = kept.pop(1)
    stripe_sandbox.admin("DELETE", f"records/customers/{deleted}")
    stripe_sandbox.advance(31 * 86400)  # its customer.deleted event is gone: only the listing can tell
    assert Capability.ID_LISTING in stripe_connector.capabilities
    assert Capability.DELETE_WRITES not in stripe_connector.capabilities  # a CRM delete never deletes a customer
    pages = list(stripe_connector.list_ids("customers"))
    assert [len(page) for page in pages] == [2, 2] and sorted(i for page in pages for i in page) == sorted(kept)
    _pay(stripe_sandbox, kept[0])
    invoice = stripe_sandbox.admin("POST", "records/invoices", json={
        "customer": kept[0], "lines": [{"amount": 900}], "pay": True})
    intents = [i for page in stripe_connector.list_ids("payment_intents") for i in page]
    standalone = [r.external_id for p in stripe_connector.read("payment_intents", None) for r in p.records]
    assert intents == standalone and len(intents) == 1  # the invoice's own intent is the invoices stream's
    assert [i for page in stripe_connector.list_ids("invoices") for i in page] == [invoice["id"]]
