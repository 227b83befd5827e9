"""Stripe payments become one canonical Payment each: amounts by Stripe's exponents, refunds, invoices, mapping."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from stripe_connector_support import ids_of, last_cursor

from crmsync.connectors.stripe import stripe_amount
from crmsync.mappings.loader import MappingSet

if TYPE_CHECKING:
    from stripe_sandbox_support import StripeSandbox

    from crmsync.connectors.stripe import StripeConnector

pytest_plugins = ["stripe_fixtures", "stripe_connector_fixtures"]


def _pay(sandbox: StripeSandbox, amount: int, currency: str, **extra: object) -> dict:
    return sandbox.admin("POST", "records/payment_intents", json={
        "amount": amount, "currency": currency, "payment_method": "pm_card_visa", "confirm": True, **extra})


@pytest.mark.parametrize(("minor", "currency", "expected"), [
    (1999, "usd", "19.99"), (500, "jpy", "500"), (10000, "isk", "100.00"), (1500, "mga", "1500"),
    (12345, "kwd", "12.345"), (250000, "inr", "2500.00"), (700, "huf", "7.00"),
])
def test_stripe_exponents_differ_from_iso_where_stripe_says(minor: int, currency: str, expected: str) -> None:
    assert stripe_amount(minor, currency) == Decimal(expected)


def test_payment_maps_to_a_payment_with_amount_status_and_links(stripe_sandbox: StripeSandbox,
                                                                stripe_connector: StripeConnector,
                                                                mappings: MappingSet) -> None:
    customer = stripe_sandbox.admin("POST", "records/customers", json={"email": "Ada@Example.com",
                                                                       "phone": "+14155550100", "name": "Ada L"})
    intent = _pay(stripe_sandbox, 4200, "jpy", customer=customer["id"], metadata={"deal_id": "DEAL-7"})
    _pay(stripe_sandbox, 1999, "usd")
    records = [r for p in stripe_connector.read("payment_intents", None) for r in p.records]
    by_id = {r.external_id: r for r in records}
    patch = mappings.get("stripe", "payment_intents").to_patch(by_id[intent["id"]])
    assert patch.entity == "payment"
    assert patch.values["amount"] == Decimal("4200") and patch.values["currency"] == "JPY"
    assert patch.values["status"] == "succeeded" and patch.values["paid_at"] is not None
    assert patch.values["customer_email"] == "ada@example.com"
    assert patch.values["deal_reference"] == "DEAL-7" and patch.values["provider"] == "stripe"
    assert patch.refs["lead_id"].external_id == customer["id"]
    lead = mappings.get("stripe", "customers").to_patch(
        next(r for p in stripe_connector.read("customers", None) for r in p.records))
    assert (lead.values["first_name"], lead.values["last_name"], lead.values["phone"]) == ("Ada", "L", "+14155550100")


def test_refund_updates_the_same_payment(stripe_sandbox: StripeSandbox, stripe_connector: StripeConnector,
                                         mappings: MappingSet) -> None:
    intent = _pay(stripe_sandbox, 10000, "usd")
    cursor = last_cursor(list(stripe_connector.read("payment_intents", None)))
    stripe_sandbox.admin("POST", "records/refunds", json={"payment_intent": intent["id"], "amount": 2500})
    pages = list(stripe_connector.read("payment_intents", cursor))
    assert ids_of(pages) == [intent["id"]]
    patch = mappings.get("stripe", "payment_intents").to_patch(pages[0].records[0])
    assert patch.values["refunded_amount"] == Decimal("25.00")
    assert patch.values["status"] == "partially_refunded"
    stripe_sandbox.admin("POST", "records/refunds", json={"payment_intent": intent["id"]})
    final = [r for p in stripe_connector.read("payment_intents", last_cursor(pages)) for r in p.records]
    assert final[0].payload["crmsync"]["status"] == "refunded"


def test_an_invoiced_payment_is_one_invoice_payment(stripe_sandbox: StripeSandbox,
                                                   stripe_connector: StripeConnector) -> None:
    customer = stripe_sandbox.admin("POST", "records/customers", json={"email": "inv@example.com"})
    markers = {stream: last_cursor(list(stripe_connector.read(stream, None)))
               for stream in ("payment_intents", "charges", "invoices")}
    invoice = stripe_sandbox.admin("POST", "records/invoices", json={
        "customer": customer["id"], "metadata": {"deal_id": "D-9"}, "pay": True,
        "lines": [{"amount": 15000, "description": "Plan"}]})
    read = {stream: [r for p in stripe_connector.read(stream, cursor) for r in p.records]
            for stream, cursor in markers.items()}
    assert read["payment_intents"] == [] and read["charges"] == []
    assert [r.external_id for r in read["invoices"]] == [invoice["id"]]
    block = read["invoices"][0].payload["crmsync"]
    assert (block["amount"], block["status"], block["deal_reference"]) == (Decimal("150.00"), "succeeded", "D-9")


def test_failed_payment_reads_as_failed(stripe_sandbox: StripeSandbox, stripe_connector: StripeConnector) -> None:
    response = stripe_sandbox.http.post(f"{stripe_sandbox.base_url}/__sandbox/records/payment_intents", json={
        "amount": 900, "currency": "eur", "payment_method": "pm_card_chargeDeclined", "confirm": True})
    assert response.status_code == 400 and "card_declined" in response.text
    records = [r for p in stripe_connector.read("payment_intents", None) for r in p.records]
    assert [r.payload["crmsync"]["status"] for r in records] == ["failed"]
