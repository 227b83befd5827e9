"""Payment flows: payment intents (create, confirm, capture, cancel), charges and refunds.

Test payment methods behave as in Stripe test mode: `pm_card_visa` / `tok_visa` succeed,
`pm_card_chargeDeclined` / `tok_chargeDeclined` are declined (402 card_error, a failed charge, and the
intent back to `requires_payment_method`). A refund moves the charge's `amount_refunded` and `refunded`.
"""

from __future__ import annotations

import re
from typing import Any

from crmsync.sandbox.stripe import objects
from crmsync.sandbox.stripe.account import StripeAccount
from crmsync.sandbox.stripe.errors import StripeApiError, invalid_request, missing_param
from crmsync.sandbox.stripe.forms import Params, as_bool, as_int, metadata_update
from crmsync.sandbox.stripe.objects import Obj

DECLINING_METHODS = frozenset({"pm_card_chargeDeclined", "pm_card_visa_chargeDeclined", "tok_chargeDeclined"})
_CURRENCY = re.compile(r"^[a-z]{3}$")
# Stripe keeps ISK two-decimal in the API but only accepts whole krónur (multiples of 100).
WHOLE_UNIT_ONLY = frozenset({"isk"})
UPDATABLE_INTENT_FIELDS = ("description", "receipt_email")


def currency_param(params: Params) -> str:
    raw = params.get("currency")
    if not raw:
        raise missing_param("currency")
    currency = str(raw).lower()
    if not _CURRENCY.match(currency):
        raise invalid_request(f"Invalid currency: {raw}.", param="currency", code="invalid_currency")
    return currency


def amount_param(params: Params, currency: str, name: str = "amount") -> int:
    amount = as_int(params, name, minimum=1)
    if amount is None:
        raise missing_param(name)
    if currency in WHOLE_UNIT_ONLY and amount % 100:
        raise invalid_request(f"Invalid amount. Currency {currency.upper()} has become effectively zero-decimal and "
                              "charged amounts must be evenly divisible by 100.", param=name,
                              code="invalid_charge_amount_no_decimal_compatible")
    return amount


def _customer_id(account: StripeAccount, params: Params) -> str | None:
    raw = params.get("customer")
    if not raw:
        return None
    return str(account.get("customers", str(raw), param="customer")["id"])


def _card_declined(charge: Obj, intent: Obj | None) -> StripeApiError:
    extra: dict[str, Any] = {"charge": charge["id"], "decline_code": "generic_decline"}
    if intent is not None:
        extra["payment_intent"] = intent
    return StripeApiError(402, "card_error", "Your card was declined.", code="card_declined", extra=extra)


def _new_charge(account: StripeAccount, values: Obj) -> Obj:
    customer_id = values.get("customer")
    billing = account.tables["customers"].get(customer_id, {}) if customer_id else {}
    values = {"email": billing.get("email"), "name": billing.get("name"), "phone": billing.get("phone"), **values}
    event_type = "charge.succeeded" if values.get("status", "succeeded") == "succeeded" else "charge.failed"
    return account.insert("charges", lambda oid, now: objects.charge(oid, now, values), event_type)


# -- payment intents --------------------------------------------------------------------------------------
def create_payment_intent(account: StripeAccount, params: Params) -> Obj:
    currency = currency_param(params)
    values = {
        "amount": amount_param(params, currency), "currency": currency, "customer": _customer_id(account, params),
        "description": params.get("description"), "receipt_email": params.get("receipt_email"),
        "metadata": metadata_update({}, params.get("metadata")), "payment_method": params.get("payment_method"),
        "capture_method": params.get("capture_method", "automatic"), "invoice": params.get("invoice"),
    }
    values["status"] = "requires_confirmation" if values["payment_method"] else "requires_payment_method"
    with account.lock:
        intent = account.insert("payment_intents", lambda oid, now: objects.payment_intent(oid, now, values),
                                "payment_intent.created")
        if as_bool(params, "confirm"):
            confirm_payment_intent(account, intent, {})
        return intent


def confirm_payment_intent(account: StripeAccount, intent: Obj, params: Params) -> Obj:
    with account.lock:
        method = params.get("payment_method") or intent.get("payment_method")
        if not method:
            raise invalid_request("You cannot confirm this PaymentIntent because it's missing a payment method.",
                                  param="payment_method", code="payment_intent_unexpected_state")
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise invalid_request(f"This PaymentIntent's status is {intent['status']} and cannot be confirmed.",
                                  code="payment_intent_unexpected_state")
        declined = method in DECLINING_METHODS
        manual = intent["capture_method"] == "manual"
        charge = _new_charge(account, {
            "amount": intent["amount"], "currency": intent["currency"], "customer": intent["customer"],
            "payment_intent": intent["id"], "payment_method": method, "invoice": intent.get("invoice"),
            "receipt_email": intent.get("receipt_email"), "metadata": dict(intent["metadata"]),
            "description": intent.get("description"), "captured": not manual,
            "status": "failed" if declined else "succeeded",
            **({"failure_code": "card_declined", "failure_message": "Your card was declined."} if declined else {}),
        })
        if declined:
            error = {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                     "message": "Your card was declined.", "charge": charge["id"]}
            account.replace("payment_intents", intent, {"payment_method": None, "latest_charge": charge["id"],
                                                        "last_payment_error": error,
                                                        "status": "requires_payment_method"})
            account.emit("payment_intent.payment_failed", intent)
            raise _card_declined(charge, intent)
        changes: Obj = {"payment_method": method, "latest_charge": charge["id"], "last_payment_error": None}
        if manual:
            changes |= {"status": "requires_capture", "amount_capturable": intent["amount"]}
            account.replace("payment_intents", intent, changes)
            account.emit("payment_intent.amount_capturable_updated", intent)
        else:
            changes |= {"status": "succeeded", "amount_received": intent["amount"]}
            account.replace("payment_intents", intent, changes)
            account.emit("payment_intent.succeeded", intent)
        return intent


def capture_payment_intent(account: StripeAccount, intent: Obj, params: Params) -> Obj:
    with account.lock:
        if intent["status"] != "requires_capture":
            raise invalid_request(f"This PaymentIntent could not be captured because it has a status of "
                                  f"{intent['status']}.", code="payment_intent_unexpected_state")
        amount = as_int(params, "amount_to_capture", default=intent["amount_capturable"], minimum=1)
        charge = account.get("charges", intent["latest_charge"])
        account.replace("charges", charge, {"captured": True, "amount_captured": amount}, "charge.captured")
        account.replace("payment_intents", intent, {"status": "succeeded", "amount_received": amount,
                                                    "amount_capturable": 0})
        account.emit("payment_intent.succeeded", intent)
        return intent


def cancel_payment_intent(account: StripeAccount, intent: Obj, params: Params) -> Obj:
    with account.lock:
        if intent["status"] in ("succeeded", "canceled"):
            raise invalid_request(f"You cannot cancel this PaymentIntent because it has a status of "
                                  f"{intent['status']}.", code="payment_intent_unexpected_state")
        account.replace("payment_intents", intent, {
            "status": "canceled", "canceled_at": account.now(),
            "cancellation_reason": params.get("cancellation_reason") or "requested_by_customer",
        })
        account.emit("payment_intent.canceled", intent)
        return intent


def update_payment_intent(account: StripeAccount, intent: Obj, params: Params) -> Obj:
    changes: Obj = {key: params[key] for key in UPDATABLE_INTENT_FIELDS if key in params}
    if "metadata" in params:
        changes["metadata"] = metadata_update(intent["metadata"], params["metadata"])
    if "customer" in params:
        changes["customer"] = _customer_id(account, params)
    if "amount" in params:
        if intent["status"] in ("succeeded", "canceled", "processing"):
            raise invalid_request("This PaymentIntent's amount could not be updated because it has a status of "
                                  f"{intent['status']}.", param="amount", code="payment_intent_unexpected_state")
        changes["amount"] = amount_param(params, intent["currency"])
    return account.replace("payment_intents", intent, changes, "payment_intent.updated")


# -- charges and refunds --------------------------------------------------------------------------------------
def create_charge(account: StripeAccount, params: Params) -> Obj:
    currency = currency_param(params)
    source = str(params.get("source") or "")
    if not source and not params.get("customer"):
        raise invalid_request("Must provide source or customer.", param="source", code="parameter_missing")
    declined = source in DECLINING_METHODS
    with account.lock:
        charge = _new_charge(account, {
            "amount": amount_param(params, currency), "currency": currency,
            "customer": _customer_id(account, params), "description": params.get("description"),
            "receipt_email": params.get("receipt_email"), "metadata": metadata_update({}, params.get("metadata")),
            "payment_method": f"card_{source or 'default'}", "status": "failed" if declined else "succeeded",
            **({"failure_code": "card_declined", "failure_message": "Your card was declined."} if declined else {}),
        })
    if declined:
        raise _card_declined(charge, None)
    return charge


def update_charge(account: StripeAccount, charge: Obj, params: Params) -> Obj:
    changes: Obj = {key: params[key] for key in ("description", "receipt_email") if key in params}
    if "metadata" in params:
        changes["metadata"] = metadata_update(charge["metadata"], params["metadata"])
    return account.replace("charges", charge, changes, "charge.updated")


def create_refund(account: StripeAccount, params: Params) -> Obj:
    with account.lock:
        if params.get("charge"):
            charge = account.get("charges", str(params["charge"]), param="charge")
        elif params.get("payment_intent"):
            intent = account.get("payment_intents", str(params["payment_intent"]), param="payment_intent")
            if not intent.get("latest_charge") or intent["status"] != "succeeded":
                raise invalid_request(f"This PaymentIntent ({intent['id']}) does not have a successful charge to "
                                      "refund.", param="payment_intent", code="charge_not_refundable")
            charge = account.get("charges", intent["latest_charge"])
        else:
            raise invalid_request("One of the following params should be provided for this request: payment_intent "
                                  "or charge.", code="parameter_missing")
        if charge["status"] != "succeeded" or not charge["captured"]:
            raise invalid_request(f"Charge {charge['id']} has not been captured or did not succeed.",
                                  param="charge", code="charge_not_refundable")
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise invalid_request(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
        amount = as_int(params, "amount", default=remaining, minimum=1)
        assert amount is not None
        if amount > remaining:
            raise invalid_request(f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                                  f"({remaining})", param="amount", code="amount_too_large")
        values = {"amount": amount, "charge": charge["id"], "currency": charge["currency"],
                  "payment_intent": charge.get("payment_intent"), "reason": params.get("reason"),
                  "metadata": metadata_update({}, params.get("metadata"))}
        refund = account.insert("refunds", lambda oid, now: objects.refund(oid, now, values), "refund.created")
        refunded_total = charge["amount_refunded"] + amount
        account.replace("charges", charge, {"amount_refunded": refunded_total,
                                            "refunded": refunded_total >= charge["amount_captured"]},
                        "charge.refunded")
        return refund
