"""The Stripe emulator through stripe-python over HTTPS: paging, events, idempotency, auth, rate limits."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest
import stripe

if TYPE_CHECKING:
    from stripe_sandbox_support import StripeSandbox

pytest_plugins = ["stripe_fixtures"]


def test_lists_page_newest_first_in_both_directions(stripe_sandbox: StripeSandbox,
                                                    stripe_client: stripe.StripeClient) -> None:
    stripe_sandbox.admin("POST", "clock/freeze")  # same `created` for all: order falls back to creation order
    ids = [stripe_client.v1.customers.create(params={"email": f"c{i}@example.com"}).id for i in range(5)]
    first = stripe_client.v1.customers.list(params={"limit": 2})
    assert [c.id for c in first.data] == ids[:-3:-1] and first.has_more and first.url == "/v1/customers"
    following = stripe_client.v1.customers.list(params={"limit": 2, "starting_after": first.data[-1].id})
    assert [c.id for c in following.data] == [ids[2], ids[1]] and following.has_more
    back = stripe_client.v1.customers.list(params={"limit": 2, "ending_before": following.data[0].id})
    assert [c.id for c in back.data] == [ids[4], ids[3]] and not back.has_more
    assert [c.id for c in stripe_client.v1.customers.list(params={"limit": 2}).auto_paging_iter()] == ids[::-1]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.customers.list(params={"limit": 101})
    assert caught.value.param == "limit"


def test_created_filters_and_email_filter(stripe_sandbox: StripeSandbox, stripe_client: stripe.StripeClient) -> None:
    old = stripe_client.v1.customers.create(params={"email": "old@example.com"})
    stripe_sandbox.advance(100)
    new = stripe_client.v1.customers.create(params={"email": "new@example.com"})
    assert [c.id for c in stripe_client.v1.customers.list(params={"created": {"gt": old.created}}).data] == [new.id]
    assert [c.id for c in stripe_client.v1.customers.list(params={"created": {"lte": old.created}}).data] == [old.id]
    assert [c.id for c in stripe_client.v1.customers.list(params={"email": "old@example.com"}).data] == [old.id]


def test_events_record_changes_and_expire_after_30_days(stripe_sandbox: StripeSandbox,
                                                        stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(params={"email": "e@example.com", "metadata": {"a": "1"}},
                                                 options={"idempotency_key": "create-e"})
    stripe_client.v1.customers.update(customer.id, params={"metadata": {"b": "2"}})
    events = stripe_client.v1.events.list(params={"types": ["customer.created", "customer.updated"]}).data
    assert [e.type for e in events] == ["customer.updated", "customer.created"]
    assert events[0].data.object.metadata.to_dict() == {"a": "1", "b": "2"}
    assert events[0].data.previous_attributes.to_dict() == {"metadata": {"a": "1"}}
    assert events[1].request.idempotency_key == "create-e"
    assert [e.id for e in stripe_client.v1.events.list(params={"type": "customer.*"}).data] == [e.id for e in events]
    stripe_sandbox.advance(31 * 86400)
    assert stripe_client.v1.events.list().data == []
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.events.retrieve(events[0].id)


def test_idempotent_replay_and_idempotency_error(stripe_sandbox: StripeSandbox) -> None:
    form = {"amount": "1500", "currency": "usd", "payment_method": "pm_card_visa", "confirm": "true"}
    first = stripe_sandbox.raw("POST", "/v1/payment_intents", data=form, headers={"Idempotency-Key": "pay-1"})
    replay = stripe_sandbox.raw("POST", "/v1/payment_intents", data=form, headers={"Idempotency-Key": "pay-1"})
    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers and first.headers["Request-Id"].startswith("req_")
    assert len(stripe_sandbox.admin("GET", "records/charges")) == 1  # charged once
    other = stripe_sandbox.raw("POST", "/v1/payment_intents", data={**form, "amount": "1600"},
                               headers={"Idempotency-Key": "pay-1"})
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    client = stripe_sandbox.client()
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(params={"amount": 1600, "currency": "usd"},
                                         options={"idempotency_key": "pay-1"})


def test_auth_bearer_basic_and_refusals(stripe_sandbox: StripeSandbox) -> None:
    basic = base64.b64encode(f"{stripe_sandbox.api_key}:".encode()).decode()
    ok = stripe_sandbox.http.get(f"{stripe_sandbox.base_url}/v1/customers", headers={"Authorization": f"Basic {basic}"})
    assert ok.status_code == 200
    missing = stripe_sandbox.http.get(f"{stripe_sandbox.base_url}/v1/customers")
    assert missing.status_code == 401 and "API key" in missing.json()["error"]["message"]
    with pytest.raises(stripe.AuthenticationError) as caught:
        stripe_sandbox.client(api_key="sk_test_wrong_key_12345678").v1.customers.list()
    assert "sk_test_****5678" in str(caught.value)  # the key is redacted, as Stripe does


def test_rate_limit_answers_429_rate_limit(stripe_sandbox: StripeSandbox, stripe_client: stripe.StripeClient) -> None:
    stripe_sandbox.admin("PUT", "rate_limit", json={"per_second": 2})
    try:
        with pytest.raises(stripe.RateLimitError) as caught:
            for _ in range(5):
                stripe_client.v1.customers.list()
        assert caught.value.http_status == 429 and caught.value.json_body["error"]["code"] == "rate_limit"
    finally:
        stripe_sandbox.admin("PUT", "rate_limit", json={"per_second": 1000})


def test_refund_moves_the_charge_and_bracket_forms_decode(stripe_client: stripe.StripeClient) -> None:
    intent = stripe_client.v1.payment_intents.create(params={
        "amount": 5000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True,
        "metadata": {"deal_id": "D-1", "nested": "x"}, "expand": ["latest_charge"]})
    assert intent.latest_charge.object == "charge" and intent.metadata["deal_id"] == "D-1"
    stripe_client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 2000})
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge.id)
    assert (charge.amount_refunded, charge.refunded) == (2000, False)
    stripe_client.v1.refunds.create(params={"charge": charge.id})
    assert stripe_client.v1.charges.retrieve(charge.id).refunded is True
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.refunds.create(params={"charge": charge.id})
    assert caught.value.code == "charge_already_refunded"
