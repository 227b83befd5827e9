"""Stripe objects → SourceRecords: which stream owns an object, and the normalized `crmsync` block.

One payment must become one canonical Payment, though Stripe shows it as an invoice, its payment intent and
its charge. Ownership decides: an invoice owns its intent and charge; otherwise an intent owns its charge;
a charge on its own (legacy Charges API) owns itself. Refunds arrive as `charge.refunded` and update the
owner. Payment payloads gain a `crmsync` block the mapping reads: the amount as a Decimal by Stripe's
currency exponents, a canonical status, paid-at, refunded amount, customer e-mail/phone and the deal reference.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crmsync.connectors.stripe.currency import stripe_amount
from crmsync.sync_engine.records import SourceRecord

Obj = dict[str, Any]
PAYMENT_STREAMS = ("payment_intents", "charges", "invoices")
INTENT_STATUSES = {"succeeded": "succeeded", "processing": "pending", "requires_capture": "authorized",
                   "canceled": "canceled", "requires_payment_method": "pending", "requires_confirmation": "pending",
                   "requires_action": "pending"}
INVOICE_STATUSES = {"paid": "succeeded", "open": "pending", "void": "canceled", "uncollectible": "failed"}


def _id(value: Any) -> str | None:
    """An id field that may hold an expanded object."""
    return value.get("id") if isinstance(value, dict) else value


def owner_of(obj: Obj) -> tuple[str, str] | None:
    """(stream, id) of the record an object change belongs to, or None for objects no stream reads."""
    kind = obj.get("object")
    if kind == "customer":
        return "customers", str(obj["id"])
    if kind == "invoice":
        return "invoices", str(obj["id"])
    if kind == "payment_intent":
        invoice = _id(obj.get("invoice"))
        return ("invoices", invoice) if invoice else ("payment_intents", str(obj["id"]))
    if kind == "charge":
        invoice, intent = _id(obj.get("invoice")), _id(obj.get("payment_intent"))
        if invoice:
            return "invoices", invoice
        return ("payment_intents", intent) if intent else ("charges", str(obj["id"]))
    if kind == "refund":
        intent = _id(obj.get("payment_intent"))
        return ("payment_intents", intent) if intent else ("charges", str(_id(obj.get("charge"))))
    return None


def stands_alone(stream: str, obj: Obj) -> bool:
    """Does a listed object (backfill) own itself? Invoiced intents and charges of intents are read via owners."""
    owner = owner_of(obj)
    if owner != (stream, obj.get("id")):
        return False
    return not (stream == "invoices" and obj.get("status") == "draft")


def _iso(unix: int | None) -> str | None:
    return None if unix is None else datetime.fromtimestamp(int(unix), UTC).isoformat()


def _refund_state(status: str, amount: int, refunded: int) -> str:
    if status != "succeeded" or refunded <= 0:
        return status
    return "refunded" if refunded >= amount else "partially_refunded"


def _charge_facts(charge: Obj | None) -> tuple[int, Obj, int | None]:
    if not isinstance(charge, dict):
        return 0, {}, None
    return int(charge.get("amount_refunded") or 0), charge.get("billing_details") or {}, charge.get("created")


def payment_block(stream: str, obj: Obj, deal_key: str) -> Obj:
    """The normalized facts of a payment object (a payment intent with `latest_charge` expanded, a charge,
    or an invoice with `charge` expanded)."""
    currency = str(obj.get("currency") or "usd")
    if stream == "payment_intents":
        refunded, billing, charged_at = _charge_facts(obj.get("latest_charge"))
        status = INTENT_STATUSES.get(obj["status"], obj["status"])
        if obj["status"] == "requires_payment_method" and obj.get("last_payment_error"):
            status = "failed"
        amount, paid_at = int(obj["amount"]), charged_at if obj["status"] == "succeeded" else None
        email, phone = obj.get("receipt_email") or billing.get("email"), billing.get("phone")
    elif stream == "charges":
        refunded, billing, _ = _charge_facts(obj)
        status, amount = str(obj["status"]), int(obj["amount"])
        paid_at = obj["created"] if obj.get("paid") else None
        email, phone = billing.get("email") or obj.get("receipt_email"), billing.get("phone")
    else:
        refunded, billing, _ = _charge_facts(obj.get("charge"))
        status = INVOICE_STATUSES.get(obj["status"], obj["status"])
        amount = int(obj.get("total") or obj.get("amount_due") or 0)
        paid_at = (obj.get("status_transitions") or {}).get("paid_at")
        email = obj.get("customer_email") or billing.get("email")
        phone = obj.get("customer_phone") or billing.get("phone")
    refunded_amount: Decimal | None = stripe_amount(refunded, currency) if refunded else None
    return {
        "amount": stripe_amount(amount, currency), "currency": currency.upper(),
        "status": _refund_state(status, amount, refunded), "paid_at": _iso(paid_at),
        "refunded_amount": refunded_amount, "customer_email": email, "customer_phone": phone,
        "deal_reference": (obj.get("metadata") or {}).get(deal_key),
    }


def listed_at(stream: str, obj: Obj, read_at: datetime) -> datetime:
    """The source time of a listed object. Stripe objects carry no update time, only `created`: a payment
    is as recent as its charge, and a refunded one as the read (its refund has no time in the charge), so a
    refund read by listing is newer than the payment it changes."""
    moment = int(obj.get("created") or 0)
    if stream in PAYMENT_STREAMS:
        charge = obj.get("latest_charge") if stream == "payment_intents" else obj.get("charge") \
            if stream == "invoices" else obj
        if isinstance(charge, dict):
            moment = max(moment, int(charge.get("created") or 0))
            if int(charge.get("amount_refunded") or 0) > 0:  # after the charge, whatever the clocks say
                return max(read_at, datetime.fromtimestamp(moment + 1, UTC))
    return datetime.fromtimestamp(moment, UTC)


def to_source_record(stream: str, obj: Obj, modified_at: datetime, connection: str, deal_key: str) -> SourceRecord:
    payload = dict(obj)
    if stream in PAYMENT_STREAMS:
        payload["crmsync"] = payment_block(stream, obj, deal_key)
        payload["customer"] = _id(obj.get("customer"))
    return SourceRecord(system="stripe", object=stream, external_id=str(obj["id"]), modified_at=modified_at,
                        payload=payload, connection=connection)


def deleted_record(stream: str, object_id: str, modified_at: datetime, connection: str) -> SourceRecord:
    return SourceRecord(system="stripe", object=stream, external_id=object_id, modified_at=modified_at,
                        payload={"id": object_id, "deleted": True}, deleted=True, connection=connection)
