"""Razorpay entities → SourceRecords, with the `crmsync` block the mapping reads for payments.

A payment made for an order belongs to the order (one canonical Payment per order, whatever the number of
attempts); a payment without an order stands alone. Amounts stay in paise (minor units) with their
currency: the mapping's ISO 4217 minor_units transform is right for Razorpay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crmsync.sync_engine.records import SourceRecord

Entity = dict[str, Any]
PAYMENT_STATUSES = {"created": "pending", "authorized": "authorized", "captured": "succeeded",
                    "refunded": "refunded", "failed": "failed"}
ORDER_STATUSES = {"created": "pending", "attempted": "pending", "paid": "succeeded"}


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(int(unix), UTC)


def _notes(entity: Entity) -> dict[str, Any]:
    notes = entity.get("notes")
    return notes if isinstance(notes, dict) else {}  # Razorpay answers [] for "no notes"


def _payment_block(payment: Entity | None, deal_key: str, notes: dict[str, Any]) -> Entity:
    payment = payment or {}
    status = PAYMENT_STATUSES.get(payment.get("status", ""), payment.get("status"))
    if payment.get("refund_status") == "partial":
        status = "partially_refunded"
    captured = payment.get("captured") or payment.get("status") in ("captured", "refunded")
    return {"status": status, "paid_at": at(payment["created_at"]).isoformat() if captured else None,
            "amount_refunded": payment.get("amount_refunded") or None,
            "customer_email": payment.get("email"), "customer_phone": payment.get("contact"),
            "customer_id": payment.get("customer_id"),
            "deal_reference": notes.get(deal_key) or _notes(payment).get(deal_key)}


def settled_payment(payments: list[Entity]) -> Entity | None:
    """The attempt that tells an order's state: a captured (or refunded) one, else the latest."""
    done = [p for p in payments if p.get("status") in ("captured", "refunded")]
    pool = done or payments
    return max(pool, key=lambda p: p["created_at"]) if pool else None


def payment_record(payment: Entity, connection: str, deal_key: str) -> SourceRecord:
    payload = {**payment, "crmsync": _payment_block(payment, deal_key, {})}
    return SourceRecord("razorpay", "payments", str(payment["id"]), at(payment["created_at"]), payload,
                        connection=connection)


def order_record(order: Entity, payments: list[Entity], connection: str, deal_key: str) -> SourceRecord:
    settled = settled_payment(payments)
    block = _payment_block(settled, deal_key, _notes(order))
    if settled is None or (order.get("status") == "paid" and block["status"] == "authorized"):
        block["status"] = ORDER_STATUSES.get(order.get("status", ""), order.get("status"))
    payload = {**order, "crmsync": block}
    return SourceRecord("razorpay", "orders", str(order["id"]), at(order["created_at"]), payload,
                        connection=connection)


def customer_record(customer: Entity, connection: str) -> SourceRecord:
    return SourceRecord("razorpay", "customers", str(customer["id"]), at(customer["created_at"]), dict(customer),
                        connection=connection)
