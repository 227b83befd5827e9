"""Stripe write-back (idempotent metadata), error classification and retries, webhook verification."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest
import stripe
from sandbox_support import LocalListener

from crmsync.connectors.base import AuthenticationError, RateLimited, TransientError, WriteItem
from crmsync.connectors.stripe import WebhookSignatureError, parse_event, verify_signature

if TYPE_CHECKING:
    from collections.abc import Callable

    from stripe_sandbox_support import StripeSandbox

    from crmsync.connectors.stripe import StripeConnector

pytest_plugins = ["stripe_fixtures", "stripe_connector_fixtures"]


def test_write_back_puts_the_canonical_id_in_metadata_idempotently(stripe_sandbox: StripeSandbox,
                                                                   stripe_connector: StripeConnector) -> None:
    existing = stripe_sandbox.admin("POST", "records/customers", json={"email": "a@example.com",
                                                                       "metadata": {"keep": "me"}})
    new_item = WriteItem("lead-new", {"email": "new@example.com", "name": "New Person"})
    first = stripe_connector.write("customers", [new_item, WriteItem("lead-1", {"phone": "+14155550100"},
                                                                    existing["id"])])
    assert [r.ok for r in first] == [True, True] and first[0].created
    replay = stripe_connector.write("customers", [new_item])  # e.g. a crash before the checkpoint
    assert replay[0].external_id == first[0].external_id  # Stripe's idempotency cache answered
    customers = {c["id"]: c for c in stripe_sandbox.admin("GET", "records/customers")}
    assert len(customers) == 2
    assert customers[first[0].external_id]["metadata"] == {"crmsync_id": "lead-new"}
    assert customers[existing["id"]]["metadata"] == {"keep": "me", "crmsync_id": "lead-1"}
    assert customers[existing["id"]]["phone"] == "+14155550100"


def test_a_delete_item_never_becomes_an_update(stripe_sandbox: StripeSandbox,
                                               stripe_connector: StripeConnector) -> None:
    customer = stripe_sandbox.admin("POST", "records/customers", json={"email": "keep@example.com"})
    [result] = stripe_connector.write("customers", [WriteItem("lead-1", {}, customer["id"], delete=True)])
    assert not result.ok and "not written to Stripe" in (result.error or "")
    [kept] = stripe_sandbox.admin("GET", "records/customers")
    assert kept["metadata"] == {} and kept["email"] == "keep@example.com"


def test_a_missing_customer_fails_that_item_only(stripe_connector: StripeConnector) -> None:
    results = stripe_connector.write("customers", [WriteItem("lead-x", {"email": "x@example.com"}, "cus_gone")])
    assert not results[0].ok and not results[0].retryable and "404" in (results[0].error or "")


def test_rate_limit_is_retried_then_reported(stripe_sandbox: StripeSandbox,
                                             stripe_connector: StripeConnector) -> None:
    stripe_sandbox.admin("POST", "faults", json={"kind": "rate_limited", "path": "/v1/customers", "count": 2})
    assert list(stripe_connector.read("customers", None, until=None))  # two 429s, then success
    stripe_sandbox.admin("POST", "faults", json={"kind": "rate_limited", "path": "/v1/events", "count": None})
    with pytest.raises(RateLimited) as caught:
        list(stripe_connector.read("customers", None))
    assert caught.value.retry_after == 1.0
    stripe_sandbox.admin("DELETE", "faults")
    stripe_sandbox.admin("POST", "faults", json={"kind": "server_error", "path": "/v1/events", "count": None})
    with pytest.raises(TransientError):
        list(stripe_connector.read("customers", None))
    stripe_sandbox.admin("DELETE", "faults")


def test_a_wrong_key_is_an_authentication_error(make_stripe_connector: Callable[..., StripeConnector]) -> None:
    connector = make_stripe_connector(api_key="sk_test_not_the_right_key")
    with pytest.raises(AuthenticationError) as caught:
        list(connector.read("customers", None))
    assert "not_the_right_key" not in str(caught.value)


# -- webhooks -----------------------------------------------------------------------------------------------
SECRET, NEW_SECRET = "whsec_old_secret", "whsec_new_secret"
BODY = json.dumps({"id": "evt_1", "type": "customer.created", "created": 1, "data": {"object": {"id": "cus_1"}}})


def _header(body: str, secret: str, timestamp: int) -> str:
    return stripe.WebhookSignature._compute_signature(f"{timestamp}.{body}", secret)  # type: ignore[no-any-return]


def test_signature_checks_valid_stale_tampered_and_rotated() -> None:
    now = int(time.time())
    header = f"t={now},v1={_header(BODY, SECRET, now)}"
    assert verify_signature(BODY.encode(), header, [SECRET], now) == now
    # stripe-python itself agrees with this header
    stripe.WebhookSignature.verify_header(BODY, header, SECRET, tolerance=300)
    with pytest.raises(WebhookSignatureError, match="old"):
        verify_signature(BODY.encode(), header, [SECRET], now + 301)
    with pytest.raises(WebhookSignatureError, match="matches"):
        verify_signature(BODY.replace("cus_1", "cus_2").encode(), header, [SECRET], now)
    with pytest.raises(WebhookSignatureError):
        verify_signature(BODY.encode(), None, [SECRET], now)
    rotated = f"t={now},v1={_header(BODY, NEW_SECRET, now)},v1={_header(BODY, SECRET, now)}"
    assert verify_signature(BODY.encode(), rotated, [SECRET], now) == now  # receiver not yet rotated
    assert verify_signature(BODY.encode(), rotated, [NEW_SECRET], now) == now  # receiver already rotated
    assert parse_event(BODY.encode()).id == "evt_1"


def test_emulator_webhooks_verify_and_duplicates_are_detectable(stripe_sandbox: StripeSandbox,
                                                                stripe_connector: StripeConnector) -> None:
    answers = iter([500, 200, 200, 200, 200, 200])
    listener = LocalListener(lambda body: (next(answers), b"{}"))
    try:
        stripe_sandbox.admin("POST", "listeners", json={"url": listener.url, "secrets": [SECRET, NEW_SECRET],
                                                        "enabled_events": ["customer.*"]})
        stripe_sandbox.admin("POST", "records/customers", json={"email": "hook@example.com"})
        deadline = time.monotonic() + 5
        while len(listener.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        listener.close()
    assert len(listener.requests) == 2  # the 500 was retried
    (_, body_1), (headers_2, body_2) = listener.requests
    clock_now = json.loads(body_2)["created"]
    for secret in (SECRET, NEW_SECRET):
        verify_signature(body_2, headers_2["Stripe-Signature"], [secret], clock_now)
    assert headers_2["Stripe-Signature"].count("v1=") == 2
    # The retry is the same event: a receiver deduplicating by event id applies it once.
    assert parse_event(body_1).id == parse_event(body_2).id
    deliveries = stripe_sandbox.admin("GET", "webhooks/deliveries")
    assert deliveries[0]["history"] == [500, 200] and deliveries[0]["delivered"]
