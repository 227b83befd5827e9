"""Stripe API objects as the 2023-08-16 spec describes them: every required field, the CRM-relevant optional ones.

Builders take already-validated values; the account and flows decide what they are. Fields crmsync never
exercises keep Stripe's "nothing here" value (null, false, empty list) so responses stay spec-valid.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

ID_PREFIXES = {
    "customers": "cus", "payment_intents": "pi", "charges": "ch", "invoices": "in", "refunds": "re",
    "events": "evt", "invoiceitems": "ii", "webhook_endpoints": "we", "payment_methods": "pm",
}
OBJECT_NAMES = {
    "customers": "customer", "payment_intents": "payment_intent", "charges": "charge", "invoices": "invoice",
    "refunds": "refund", "events": "event", "invoiceitems": "invoiceitem", "webhook_endpoints": "webhook_endpoint",
}
KIND_BY_PREFIX = {prefix: kind for kind, prefix in ID_PREFIXES.items()}


def make_id(kind: str, sequence: int) -> str:
    """Deterministic ids shaped like Stripe's (`cus_` + 14 base-62-ish characters)."""
    return f"{ID_PREFIXES[kind]}_SBX{sequence:011d}"


def kind_of_id(object_id: str) -> str | None:
    return KIND_BY_PREFIX.get(object_id.split("_", 1)[0])


def customer(object_id: str, created: int, values: Obj) -> Obj:
    return {
        "id": object_id, "object": "customer", "address": values.get("address"), "balance": 0,
        "created": created, "currency": None, "default_source": None, "delinquent": False,
        "description": values.get("description"), "discount": None, "email": values.get("email"),
        "invoice_prefix": object_id[-8:].upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "livemode": False, "metadata": values.get("metadata", {}), "name": values.get("name"),
        "next_invoice_sequence": 1, "phone": values.get("phone"), "preferred_locales": [], "shipping": None,
        "tax_exempt": "none", "test_clock": None,
    }


def deleted_customer(object_id: str) -> Obj:
    return {"id": object_id, "object": "customer", "deleted": True}


def payment_intent(object_id: str, created: int, values: Obj) -> Obj:
    return {
        "id": object_id, "object": "payment_intent", "amount": values["amount"], "amount_capturable": 0,
        "amount_received": 0, "application": None, "application_fee_amount": None,
        "automatic_payment_methods": None, "canceled_at": None, "cancellation_reason": None,
        "capture_method": values.get("capture_method", "automatic"),
        "client_secret": f"{object_id}_secret_sandbox", "confirmation_method": "automatic", "created": created,
        "currency": values["currency"], "customer": values.get("customer"), "description": values.get("description"),
        "invoice": values.get("invoice"), "last_payment_error": None, "latest_charge": None, "livemode": False,
        "metadata": values.get("metadata", {}), "next_action": None, "on_behalf_of": None,
        "payment_method": values.get("payment_method"), "payment_method_options": {},
        "payment_method_types": ["card"], "processing": None, "receipt_email": values.get("receipt_email"),
        "review": None, "setup_future_usage": None, "shipping": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": values.get("status", "requires_payment_method"),
        "transfer_data": None, "transfer_group": None,
    }


def charge(object_id: str, created: int, values: Obj) -> Obj:
    succeeded = values.get("status", "succeeded") == "succeeded"
    return {
        "id": object_id, "object": "charge", "amount": values["amount"],
        "amount_captured": values["amount"] if succeeded and values.get("captured", True) else 0,
        "amount_refunded": 0, "application": None, "application_fee": None, "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": {"address": None, "email": values.get("email"), "name": values.get("name"),
                            "phone": values.get("phone")},
        "calculated_statement_descriptor": "CRMSYNC SANDBOX", "captured": succeeded and values.get("captured", True),
        "created": created, "currency": values["currency"], "customer": values.get("customer"),
        "description": values.get("description"), "disputed": False, "failure_balance_transaction": None,
        "failure_code": values.get("failure_code"), "failure_message": values.get("failure_message"),
        "fraud_details": {}, "invoice": values.get("invoice"), "livemode": False,
        "metadata": values.get("metadata", {}), "on_behalf_of": None, "outcome": None, "paid": succeeded,
        "payment_intent": values.get("payment_intent"), "payment_method": values.get("payment_method"),
        "payment_method_details": None, "receipt_email": values.get("receipt_email"), "receipt_number": None,
        "receipt_url": None, "refunded": False, "review": None, "shipping": None, "source_transfer": None,
        "statement_descriptor": None, "statement_descriptor_suffix": None,
        "status": values.get("status", "succeeded"), "transfer_data": None, "transfer_group": None,
    }


def refund(object_id: str, created: int, values: Obj) -> Obj:
    return {
        "id": object_id, "object": "refund", "amount": values["amount"], "balance_transaction": None,
        "charge": values["charge"], "created": created, "currency": values["currency"],
        "metadata": values.get("metadata", {}), "payment_intent": values.get("payment_intent"),
        "reason": values.get("reason"), "receipt_number": None, "source_transfer_reversal": None,
        "status": "succeeded", "transfer_reversal": None,
    }


def line_item(object_id: str, item: Obj) -> Obj:
    return {
        "id": object_id, "object": "line_item", "amount": item["amount"], "amount_excluding_tax": item["amount"],
        "currency": item["currency"], "description": item.get("description"), "discount_amounts": [],
        "discountable": True, "discounts": [], "invoice_item": item["id"], "livemode": False,
        "metadata": item.get("metadata", {}), "period": {"end": item["date"], "start": item["date"]},
        "price": None, "proration": False, "proration_details": {"credited_items": None}, "quantity": 1,
        "subscription": None, "tax_amounts": [], "tax_rates": [], "type": "invoiceitem",
        "unit_amount_excluding_tax": str(item["amount"]),
    }


def invoice(object_id: str, created: int, values: Obj, customer_obj: Obj) -> Obj:
    return {
        "id": object_id, "object": "invoice", "account_country": "US", "account_name": "crmsync sandbox",
        "account_tax_ids": None, "amount_due": 0, "amount_paid": 0, "amount_remaining": 0, "amount_shipping": 0,
        "application": None, "application_fee_amount": None, "attempt_count": 0, "attempted": False,
        "auto_advance": values.get("auto_advance", False), "automatic_tax": {"enabled": False, "status": None},
        "billing_reason": "manual", "charge": None, "collection_method": values.get("collection_method",
                                                                                   "charge_automatically"),
        "created": created, "currency": values.get("currency", "usd"), "custom_fields": None,
        "customer": customer_obj["id"], "customer_address": customer_obj.get("address"),
        "customer_email": customer_obj.get("email"), "customer_name": customer_obj.get("name"),
        "customer_phone": customer_obj.get("phone"), "customer_shipping": None, "customer_tax_exempt": "none",
        "customer_tax_ids": [], "default_payment_method": None, "default_source": None, "default_tax_rates": [],
        "description": values.get("description"), "discount": None, "discounts": [], "due_date": None,
        "effective_at": None, "ending_balance": None, "footer": None, "from_invoice": None,
        "hosted_invoice_url": None, "invoice_pdf": None, "last_finalization_error": None, "latest_revision": None,
        "lines": {"object": "list", "data": [], "has_more": False, "url": f"/v1/invoices/{object_id}/lines"},
        "livemode": False, "metadata": values.get("metadata", {}), "next_payment_attempt": None, "number": None,
        "on_behalf_of": None, "paid": False, "paid_out_of_band": False, "payment_intent": None,
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "period_end": created, "period_start": created, "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0, "quote": None, "receipt_number": None, "rendering_options": None,
        "shipping_cost": None, "shipping_details": None, "starting_balance": 0, "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None,
                               "voided_at": None},
        "subscription": None, "subtotal": 0, "subtotal_excluding_tax": 0, "tax": None, "test_clock": None,
        "total": 0, "total_discount_amounts": [], "total_excluding_tax": 0, "total_tax_amounts": [],
        "transfer_data": None, "webhooks_delivered_at": None,
    }


def invoice_item(object_id: str, created: int, values: Obj) -> Obj:
    return {
        "id": object_id, "object": "invoiceitem", "amount": values["amount"], "currency": values["currency"],
        "customer": values["customer"], "date": created, "description": values.get("description"),
        "discountable": True, "invoice": values.get("invoice"), "livemode": False,
        "metadata": values.get("metadata", {}), "proration": False, "quantity": 1,
    }


def event(object_id: str, created: int, event_type: str, snapshot: Obj, previous: Obj | None,
          request: Obj | None, api_version: str) -> Obj:
    data: Obj = {"object": snapshot}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": object_id, "object": "event", "api_version": api_version, "created": created,
        "data": data, "livemode": False, "pending_webhooks": 0, "request": request, "type": event_type,
    }
