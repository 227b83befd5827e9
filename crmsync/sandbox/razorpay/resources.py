"""Razorpay flows: customers (with `fail_existing`), orders, payments (authorize → capture → refund), refunds.

Payments are made "by the buyer" through the admin API (Razorpay's checkout is a browser flow); the API
captures and refunds them. Capturing an order's payment marks the order paid (`order.paid`).
"""

from __future__ import annotations

import re
from typing import Any

from crmsync.sandbox.razorpay.account import Entity, RazorpayAccount, int_param, notes_param
from crmsync.sandbox.razorpay.errors import RazorpayApiError, bad_request

_CURRENCY = re.compile(r"^[A-Z]{3}$")
MIN_AMOUNT = 100  # Razorpay's minimum is one unit (INR 1.00 = 100 paise)
PAYMENT_METHODS = ("card", "netbanking", "wallet", "emi", "upi")


def _amount(params: dict[str, Any], name: str = "amount", required: bool = True) -> int | None:
    amount = int_param(params, name, minimum=0)
    if amount is None:
        if required:
            raise bad_request(f"The {name} field is required.", name)
        return None
    if amount < MIN_AMOUNT:
        raise bad_request("Order amount less than minimum amount allowed", name)
    return amount


def _currency(params: dict[str, Any]) -> str:
    currency = str(params.get("currency") or "INR").upper()
    if not _CURRENCY.match(currency):
        raise bad_request("The selected currency is invalid.", "currency")
    return currency


# -- customers ------------------------------------------------------------------------------------------------
def create_customer(account: RazorpayAccount, params: dict[str, Any]) -> Entity:
    email, contact = params.get("email") or None, params.get("contact") or None
    if email is None and contact is None and not params.get("name"):
        raise bad_request("The name field is required.", "name")
    with account.lock:
        for existing in account.tables["customers"].values():
            if (email and existing["email"] == email) or (contact and existing["contact"] == str(contact)):
                if str(params.get("fail_existing", "1")) == "0":
                    return existing  # Razorpay hands back the customer it already has
                raise bad_request("Customer already exists for the merchant")
        return account.insert("customers", {
            "name": params.get("name"), "email": email, "contact": str(contact) if contact else None,
            "gstin": params.get("gstin"), "notes": notes_param(params.get("notes"))})


def edit_customer(account: RazorpayAccount, customer: Entity, params: dict[str, Any]) -> Entity:
    with account.lock:
        for key in ("name", "email", "contact", "gstin"):
            if key in params:
                customer[key] = str(params[key]) if params[key] is not None else None
        if "notes" in params:
            customer["notes"] = notes_param(params["notes"])
        return customer


# -- orders ---------------------------------------------------------------------------------------------------
def create_order(account: RazorpayAccount, params: dict[str, Any]) -> Entity:
    amount = _amount(params)
    return account.insert("orders", {
        "amount": amount, "amount_paid": 0, "amount_due": amount, "currency": _currency(params),
        "receipt": params.get("receipt"), "offer_id": None, "status": "created", "attempts": 0,
        "notes": notes_param(params.get("notes"))})


# -- payments -------------------------------------------------------------------------------------------------
def create_payment(account: RazorpayAccount, params: dict[str, Any]) -> Entity:
    """A buyer's payment (admin only): `status` authorized (default), captured or failed."""
    status = str(params.get("status") or "authorized")
    if status not in ("authorized", "captured", "failed"):
        raise bad_request("status must be authorized, captured or failed", "status")
    with account.lock:
        order = account.get("orders", str(params["order_id"])) if params.get("order_id") else None
        amount = order["amount"] if order is not None else _amount(params)
        currency = order["currency"] if order is not None else _currency(params)
        method = str(params.get("method") or "card")
        failed = status == "failed"
        payment = account.insert("payments", {
            "amount": amount, "currency": currency, "status": "failed" if failed else "authorized",
            "order_id": order["id"] if order else None, "invoice_id": None, "international": False,
            "method": method if method in PAYMENT_METHODS else "card", "amount_refunded": 0, "refund_status": None,
            "captured": False, "description": params.get("description"), "card_id": None, "bank": None,
            "wallet": None, "vpa": None, "email": params.get("email"), "contact": params.get("contact"),
            "customer_id": params.get("customer_id"), "notes": notes_param(params.get("notes")), "fee": None,
            "tax": None, "error_code": "BAD_REQUEST_ERROR" if failed else None,
            "error_description": "Payment failed because the card was declined" if failed else None,
            "error_source": "bank" if failed else None, "error_step": "payment_authorization" if failed else None,
            "error_reason": "payment_failed" if failed else None, "acquirer_data": {}})
        if order is not None:
            order.update(attempts=order["attempts"] + 1, status="attempted" if order["status"] == "created"
                         else order["status"])
        account.emit("payment.failed" if failed else "payment.authorized", payment=payment)
        if status == "captured":
            capture_payment(account, payment, {"amount": amount, "currency": currency})
        return payment


def capture_payment(account: RazorpayAccount, payment: Entity, params: dict[str, Any]) -> Entity:
    with account.lock:
        if payment["status"] != "authorized":
            raise bad_request("This payment has already been captured" if payment["captured"]
                              else "Only payments which have been authorized and not yet captured can be captured")
        if _amount(params) != payment["amount"]:
            raise bad_request("Capture amount must be equal to the amount authorized", "amount")
        if _currency(params) != payment["currency"]:
            raise bad_request("The currency should be same as the payment currency", "currency")
        fee = payment["amount"] * 2 // 100
        payment.update(status="captured", captured=True, fee=fee, tax=fee * 18 // 118)
        account.emit("payment.captured", payment=payment)
        if payment["order_id"]:
            order = account.get("orders", payment["order_id"])
            order.update(status="paid", amount_paid=payment["amount"], amount_due=0)
            account.emit("order.paid", payment=payment, order=order)
        return payment


def refund_payment(account: RazorpayAccount, payment: Entity, params: dict[str, Any]) -> Entity:
    with account.lock:
        if payment["status"] not in ("captured", "refunded") or not payment["captured"]:
            raise bad_request("The payment has not been captured yet, so it cannot be refunded")
        remaining = payment["amount"] - payment["amount_refunded"]
        amount = _amount(params, required=False) or remaining
        if remaining <= 0:
            raise bad_request("The payment has been fully refunded already")
        if amount > remaining:
            raise RazorpayApiError(400, "The refund amount provided is greater than amount captured", field="amount")
        refund = account.insert("refunds", {
            "amount": amount, "currency": payment["currency"], "payment_id": payment["id"],
            "notes": notes_param(params.get("notes")), "receipt": params.get("receipt"),
            "acquirer_data": {"arn": None}, "batch_id": None, "status": "processed",
            "speed_processed": "normal", "speed_requested": str(params.get("speed") or "normal")})
        refunded = payment["amount_refunded"] + amount
        payment.update(amount_refunded=refunded, refund_status="full" if refunded >= payment["amount"] else "partial",
                       status="refunded" if refunded >= payment["amount"] else "captured")
        account.emit("refund.created", refund=refund, payment=payment)
        account.emit("refund.processed", refund=refund, payment=payment)
        return refund
