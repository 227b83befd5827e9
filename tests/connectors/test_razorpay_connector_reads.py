"""Razorpay connector through razorpay-python over HTTPS: windows and skip paging, paise, orders, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from sandbox_support import LocalListener

from crmsync.connectors.base import AuthenticationError, RateLimited
from crmsync.connectors.razorpay import WebhookSignatureError, parse_event, verify_signature
from crmsync.mappings.loader import MappingSet

if TYPE_CHECKING:
    from collections.abc import Callable

    from razorpay_sandbox_support import RazorpaySandbox

    from crmsync.connectors.razorpay import RazorpayConnector

pytest_plugins = ["razorpay_fixtures"]
WEBHOOK_SECRET = "razorpay_webhook_secret"


def _ids(pages) -> list[str]:  # type: ignore[no-untyped-def]
    return [record.external_id for page in pages for record in page.records]


def test_skip_paging_across_windows_split_under_the_cap(razorpay_sandbox: RazorpaySandbox,
                                                         make_razorpay_connector: Callable[..., RazorpayConnector]
                                                         ) -> None:
    razorpay_sandbox.admin("PUT", "limits", json={"max_skip": 4})
    created = []
    for index in range(11):
        created.append(razorpay_sandbox.pay(100 + index)["id"])
        razorpay_sandbox.advance(60 if index % 3 else 1)
    connector = make_razorpay_connector(page_size=2, skip_cap=4)
    pages = list(connector.read("payments", None))
    assert sorted(_ids(pages)) == sorted(created)  # all, although the whole range holds more than the cap
    assert len(_ids(pages)) == len(created)  # and none twice
    cursor = pages[-1].cursor
    assert cursor["window"] is None
    # Resume from a page in the middle: exactly the rest arrives.
    middle = next(i for i, page in enumerate(pages) if page.cursor["window"] is not None)
    rest = list(connector.read("payments", pages[middle].cursor))
    assert sorted(_ids(pages[middle + 1 :])) == sorted(_ids(rest))
    # Incremental: only what is new (same-second siblings of the watermark are not repeated).
    late = razorpay_sandbox.pay(999)["id"]
    assert _ids(connector.read("payments", cursor)) == [late]


def test_one_second_over_the_cap_is_reported(razorpay_sandbox: RazorpaySandbox,
                                            make_razorpay_connector: Callable[..., RazorpayConnector]) -> None:
    razorpay_sandbox.admin("POST", "clock/freeze")
    razorpay_sandbox.admin("PUT", "limits", json={"max_skip": 3})
    for _ in range(4):
        razorpay_sandbox.pay(100)
    with pytest.raises(Exception, match="cannot be paged"):
        list(make_razorpay_connector(skip_cap=3).read("payments", None))


def test_paise_and_orders_map_to_one_payment(razorpay_sandbox: RazorpaySandbox,
                                            make_razorpay_connector: Callable[..., RazorpayConnector],
                                            mappings: MappingSet) -> None:
    customer = razorpay_sandbox.admin("POST", "records/customers", json={"name": "Asha Rao", "email": "asha@example.in",
                                                                         "contact": "+919812345678"})
    order = razorpay_sandbox.admin("POST", "records/orders", json={"amount": 123456, "currency": "INR",
                                                                   "notes": {"deal_id": "DEAL-42"}})
    razorpay_sandbox.pay(123456, order_id=order["id"], status="failed")
    paid = razorpay_sandbox.pay(123456, order_id=order["id"], status="captured", email="Asha@Example.in",
                                contact="+919812345678", customer_id=customer["id"])
    razorpay_sandbox.admin("PATCH", f"records/payments/{paid['id']}", json={"action": "refund", "amount": 23456})
    loose = razorpay_sandbox.pay(50000, status="captured")
    connector = make_razorpay_connector()
    payments = [r for p in connector.read("payments", None) for r in p.records]
    assert [r.external_id for r in payments] == [loose["id"]]  # order payments are read with their order
    orders = [r for p in connector.read("orders", None) for r in p.records]
    patch = mappings.get("razorpay", "orders").to_patch(orders[0])
    assert patch.values["amount"] == Decimal("1234.56") and patch.values["currency"] == "INR"
    assert patch.values["refunded_amount"] == Decimal("234.56")
    assert patch.values["status"] == "partially_refunded" and patch.values["deal_reference"] == "DEAL-42"
    assert patch.values["customer_email"] == "asha@example.in" and patch.values["customer_phone"] == "+919812345678"
    assert patch.refs["lead_id"].external_id == customer["id"]
    lead = mappings.get("razorpay", "customers").to_patch(
        next(r for p in connector.read("customers", None) for r in p.records))
    assert (lead.values["first_name"], lead.values["last_name"]) == ("Asha", "Rao")


def test_errors_are_classified_by_status(razorpay_sandbox: RazorpaySandbox,
                                         make_razorpay_connector: Callable[..., RazorpayConnector]) -> None:
    razorpay_sandbox.pay(100)
    razorpay_sandbox.admin("POST", "faults", json={"kind": "rate_limited", "path": "/v1/payments", "count": 2})
    assert _ids(make_razorpay_connector().read("payments", None))  # retried past two 429s
    razorpay_sandbox.admin("POST", "faults", json={"kind": "rate_limited", "path": "/v1/payments", "count": None})
    with pytest.raises(RateLimited):
        list(make_razorpay_connector().read("payments", None))
    razorpay_sandbox.admin("DELETE", "faults")
    with pytest.raises(AuthenticationError) as caught:
        list(make_razorpay_connector(key_secret="wrong-secret").read("payments", None))
    assert "wrong-secret" not in str(caught.value)


def test_signature_valid_tampered_and_wrong_secret() -> None:
    body = json.dumps({"entity": "event", "event": "payment.captured", "contains": ["payment"],
                       "payload": {"payment": {"entity": {"id": "pay_1"}}}, "created_at": 1}).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    verify_signature(body, signature, WEBHOOK_SECRET)
    with pytest.raises(WebhookSignatureError):
        verify_signature(body.replace(b"pay_1", b"pay_2"), signature, WEBHOOK_SECRET)
    with pytest.raises(WebhookSignatureError):
        verify_signature(body, signature, "another-secret")
    with pytest.raises(WebhookSignatureError):
        verify_signature(body, None, WEBHOOK_SECRET)
    assert parse_event(body, "evt_1").entities["payment"]["id"] == "pay_1"


def test_webhooks_duplicated_and_reordered_are_verifiable_and_deduplicable(
        razorpay_sandbox: RazorpaySandbox, make_razorpay_connector: Callable[..., RazorpayConnector]) -> None:
    listener = LocalListener(lambda body: (200, b"{}"))
    try:
        razorpay_sandbox.admin("POST", "listeners", json={"url": listener.url, "secret": WEBHOOK_SECRET,
                                                          "duplicates": 1, "reorder": True})
        razorpay_sandbox.pay(5000, status="captured")  # authorized, then captured, in one go
        deadline = time.monotonic() + 5
        while len(listener.requests) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        listener.close()
    connector = make_razorpay_connector(webhook_secret=WEBHOOK_SECRET)
    events = [connector.verify_webhook(body, headers["X-Razorpay-Signature"], headers["X-Razorpay-Event-Id"])
              for headers, body in listener.requests]
    assert len(events) == 4
    # Delivery order is the emulator's (reordered when both events are queued together): not asserted.
    assert sorted(e.event for e in events) == ["payment.authorized"] * 2 + ["payment.captured"] * 2
    seen: set[str] = set()
    applied = [event for event in events if event.id not in seen and not seen.add(event.id)]  # type: ignore[func-returns-value]
    assert sorted(e.event for e in applied) == ["payment.authorized", "payment.captured"]  # each once
    captured = next(e for e in applied if e.event == "payment.captured")
    assert captured.entities["payment"]["status"] == "captured"
