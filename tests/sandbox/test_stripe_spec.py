"""Every kind of emulator response validates against Stripe's official OpenAPI spec (spec3.yaml, 2023-08-16)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from stripe_sandbox_support import StripeSandbox

pytest_plugins = ["stripe_fixtures"]


def _paid_invoice(sandbox: StripeSandbox, customer_id: str) -> dict:
    return sandbox.admin("POST", "records/invoices", json={
        "customer": customer_id, "metadata": {"deal_id": "D-1"}, "pay": True,
        "lines": [{"amount": 12000, "description": "Onboarding"}, {"amount": 3000, "description": "Support"}]})


def test_object_responses_match_the_spec(stripe_sandbox: StripeSandbox, stripe_spec) -> None:
    sandbox = stripe_sandbox
    created = sandbox.raw("POST", "/v1/customers", data={
        "email": "ada@example.com", "name": "Ada Lovelace", "phone": "+14155550100", "metadata[crm]": "L1",
        "address[city]": "London", "address[country]": "GB"})
    stripe_spec("POST", "/v1/customers", created)
    customer_id = created.json()["id"]
    stripe_spec("GET", f"/v1/customers/{customer_id}", sandbox.raw("GET", f"/v1/customers/{customer_id}"))

    intent = sandbox.raw("POST", "/v1/payment_intents", data={
        "amount": 2500, "currency": "usd", "customer": customer_id, "payment_method": "pm_card_visa",
        "confirm": "true", "metadata[deal_id]": "D-1"})
    stripe_spec("POST", "/v1/payment_intents", intent)
    charge_id = intent.json()["latest_charge"]
    stripe_spec("GET", f"/v1/charges/{charge_id}", sandbox.raw("GET", f"/v1/charges/{charge_id}"))
    refund = sandbox.raw("POST", "/v1/refunds", data={"charge": charge_id, "amount": 500})
    stripe_spec("POST", "/v1/refunds", refund)
    stripe_spec("GET", f"/v1/charges/{charge_id}", sandbox.raw("GET", f"/v1/charges/{charge_id}"))

    invoice_id = _paid_invoice(sandbox, customer_id)["id"]
    stripe_spec("GET", f"/v1/invoices/{invoice_id}", sandbox.raw("GET", f"/v1/invoices/{invoice_id}"))
    expanded = sandbox.raw("GET", f"/v1/payment_intents/{intent.json()['id']}", params={"expand[]": "latest_charge"})
    stripe_spec("GET", f"/v1/payment_intents/{intent.json()['id']}", expanded)
    stripe_spec("DELETE", f"/v1/customers/{customer_id}", sandbox.raw("DELETE", f"/v1/customers/{customer_id}"))


@pytest.mark.parametrize("resource", ["customers", "payment_intents", "charges", "invoices", "refunds", "events"])
def test_lists_match_the_spec(stripe_sandbox: StripeSandbox, stripe_spec, resource: str) -> None:
    customer_id = stripe_sandbox.raw("POST", "/v1/customers", data={"email": "b@example.com"}).json()["id"]
    stripe_sandbox.raw("POST", "/v1/payment_intents", data={"amount": 100, "currency": "eur", "customer": customer_id,
                                                             "payment_method": "pm_card_visa", "confirm": "true"})
    stripe_sandbox.raw("POST", "/v1/refunds", data={"payment_intent": stripe_sandbox.admin(
        "GET", "records/payment_intents")[0]["id"]})
    _paid_invoice(stripe_sandbox, customer_id)
    response = stripe_sandbox.raw("GET", f"/v1/{resource}", params={"limit": 3})
    assert response.json()["data"], resource
    stripe_spec("GET", f"/v1/{resource}", response)


def test_events_match_the_spec(stripe_sandbox: StripeSandbox, stripe_spec) -> None:
    customer_id = stripe_sandbox.raw("POST", "/v1/customers", data={"email": "c@example.com"}).json()["id"]
    stripe_sandbox.raw("POST", f"/v1/customers/{customer_id}", data={"name": "Grace Hopper"})
    events = stripe_sandbox.raw("GET", "/v1/events", params={"type": "customer.updated"})
    stripe_spec("GET", "/v1/events", events)
    event = events.json()["data"][0]
    assert event["data"]["previous_attributes"] == {"name": None}
    stripe_spec("GET", f"/v1/events/{event['id']}", stripe_sandbox.raw("GET", f"/v1/events/{event['id']}"))


def test_errors_match_the_spec(stripe_sandbox: StripeSandbox, stripe_spec) -> None:
    stripe_spec("GET", "/v1/customers/cus_missing", stripe_sandbox.raw("GET", "/v1/customers/cus_missing"))
    stripe_spec("POST", "/v1/payment_intents", stripe_sandbox.raw("POST", "/v1/payment_intents", data={"amount": 5}))
    declined = stripe_sandbox.raw("POST", "/v1/payment_intents", data={
        "amount": 700, "currency": "usd", "payment_method": "pm_card_chargeDeclined", "confirm": "true"})
    assert declined.status_code == 402
    stripe_spec("POST", "/v1/payment_intents", declined)
    unauthorized = stripe_sandbox.raw("GET", "/v1/customers", key="sk_test_wrong_key_1234")
    assert unauthorized.status_code == 401
    stripe_spec("GET", "/v1/customers", unauthorized)
