"""The Razorpay emulator through razorpay-python over HTTPS: entities, paging, errors, capture and refund."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import razorpay
from razorpay.errors import BadRequestError, ServerError

if TYPE_CHECKING:
    from razorpay_sandbox_support import RazorpaySandbox

pytest_plugins = ["razorpay_fixtures"]
MOCKS = Path(__file__).resolve().parents[3] / "shared" / "specs" / "razorpay"


def _mock_keys(name: str) -> set[str]:
    path = MOCKS / name
    if not path.is_file():
        pytest.skip(f"Razorpay SDK mocks are not at {MOCKS}")
    text = path.read_text().replace(",\n}", "\n}")  # fake_customer.json has a trailing comma
    return {key.strip() for key in json.loads(text)}


def test_entities_have_the_sdk_mock_shapes(razorpay_sandbox: RazorpaySandbox, razorpay_client: razorpay.Client) -> None:
    customer = razorpay_client.customer.create({"name": "Asha Rao", "email": "asha@example.in",
                                                "contact": "+919812345678"})
    order = razorpay_client.order.create({"amount": 50000, "currency": "INR", "receipt": "r-1",
                                          "notes": {"deal_id": "D-1"}})
    payment = razorpay_sandbox.pay(50000, order_id=order["id"], email="asha@example.in", status="captured")
    refund = razorpay_client.payment.refund(payment["id"], {"amount": 10000})
    assert _mock_keys("fake_customer.json") <= set(customer)
    assert _mock_keys("fake_order.json") <= set(razorpay_client.order.fetch(order["id"]))
    assert _mock_keys("fake_payment.json") - {"udf"} <= set(razorpay_client.payment.fetch(payment["id"]))
    assert _mock_keys("fake_refund.json") <= set(refund)
    fetched = razorpay_client.payment.fetch(payment["id"])
    assert (fetched["amount_refunded"], fetched["refund_status"], fetched["status"]) == (10000, "partial", "captured")
    assert razorpay_client.order.fetch(order["id"])["status"] == "paid"
    assert customer["notes"] == [] and order["notes"] == {"deal_id": "D-1"}


def test_skip_paging_newest_first_without_has_more(razorpay_sandbox: RazorpaySandbox,
                                                    razorpay_client: razorpay.Client) -> None:
    created = []
    for index in range(5):
        created.append(razorpay_sandbox.pay(100 * (index + 1))["id"])
        razorpay_sandbox.advance(10)
    first = razorpay_client.payment.all({"count": 2})
    assert first["entity"] == "collection" and first["count"] == 2 and "has_more" not in first
    assert [p["id"] for p in first["items"]] == created[:-3:-1]
    rest = razorpay_client.payment.all({"count": 2, "skip": 4})
    assert [p["id"] for p in rest["items"]] == [created[0]]
    newest, second = first["items"][0]["created_at"], first["items"][1]["created_at"]
    window = razorpay_client.payment.all({"from": second, "to": newest})
    assert [p["id"] for p in window["items"]] == created[:-3:-1]
    with pytest.raises(BadRequestError):
        razorpay_client.payment.all({"count": 101})
    razorpay_sandbox.admin("PUT", "limits", json={"max_skip": 3})
    with pytest.raises(BadRequestError, match="skip"):
        razorpay_client.payment.all({"count": 2, "skip": 2})


def test_errors_use_the_envelope_the_sdk_reads(razorpay_sandbox: RazorpaySandbox,
                                               razorpay_client: razorpay.Client) -> None:
    with pytest.raises(BadRequestError, match="does not exist"):
        razorpay_client.payment.fetch("pay_missing")
    with pytest.raises(BadRequestError, match="minimum"):
        razorpay_client.order.create({"amount": 5, "currency": "INR"})
    bad = razorpay_sandbox.http.post(f"{razorpay_sandbox.base_url}/v1/orders", json={"amount": 5},
                                     auth=razorpay_sandbox.auth)
    assert bad.status_code == 400 and set(bad.json()["error"]) >= {"code", "description", "source", "step",
                                                                   "reason", "metadata", "field"}
    assert bad.json()["error"]["field"] == "amount"
    wrong = razorpay.Client(session=razorpay_client.session, auth=("rzp_test_x", "nope"),
                            base_url=razorpay_sandbox.base_url)
    with pytest.raises(BadRequestError, match="Authentication failed"):
        wrong.payment.all()
    razorpay_sandbox.admin("POST", "faults", json={"kind": "server_error", "path": "/v1/payments"})
    with pytest.raises(ServerError):
        razorpay_client.payment.all()


def test_customer_fail_existing_and_capture_rules(razorpay_sandbox: RazorpaySandbox,
                                                  razorpay_client: razorpay.Client) -> None:
    first = razorpay_client.customer.create({"name": "A", "email": "a@example.in"})
    assert razorpay_client.customer.create({"name": "A", "email": "a@example.in", "fail_existing": "0"})["id"] \
        == first["id"]
    with pytest.raises(BadRequestError, match="already exists"):
        razorpay_client.customer.create({"name": "A", "email": "a@example.in"})
    payment = razorpay_sandbox.pay(2500)
    with pytest.raises(BadRequestError, match="equal"):
        razorpay_client.payment.capture(payment["id"], 2000, {"currency": "INR"})
    captured = razorpay_client.payment.capture(payment["id"], 2500, {"currency": "INR"})
    assert captured["status"] == "captured" and captured["captured"] is True
