"""Customers and invoices: create, update and delete customers; invoice items, draft → open → paid invoices.

Finalizing an invoice with something due creates its payment intent (as Stripe does); paying it confirms
that intent with a test card, so the charge, the intent and the invoice all carry each other's ids.
"""

from __future__ import annotations

from crmsync.sandbox.stripe import objects
from crmsync.sandbox.stripe.account import StripeAccount
from crmsync.sandbox.stripe.errors import invalid_request, missing_param
from crmsync.sandbox.stripe.forms import Params, as_bool, metadata_update
from crmsync.sandbox.stripe.objects import Obj
from crmsync.sandbox.stripe.payments import (
    amount_param,
    confirm_payment_intent,
    create_payment_intent,
    currency_param,
)

CUSTOMER_FIELDS = ("email", "name", "phone", "description")
ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")


def _customer_values(params: Params, current: Obj | None) -> Obj:
    values: Obj = {key: (params[key] or None) for key in CUSTOMER_FIELDS if key in params}
    if "address" in params:
        raw = params["address"]
        if raw and not isinstance(raw, dict):
            raise invalid_request("Invalid object", param="address")
        values["address"] = {key: (raw or {}).get(key) for key in ADDRESS_FIELDS} if raw else None
    if "metadata" in params:
        values["metadata"] = metadata_update((current or {}).get("metadata", {}), params["metadata"])
    return values


def create_customer(account: StripeAccount, params: Params) -> Obj:
    values = _customer_values(params, None)
    return account.insert("customers", lambda oid, now: objects.customer(oid, now, values), "customer.created")


def update_customer(account: StripeAccount, customer: Obj, params: Params) -> Obj:
    return account.replace("customers", customer, _customer_values(params, customer), "customer.updated")


def delete_customer(account: StripeAccount, customer: Obj) -> Obj:
    with account.lock:
        account.remove("customers", customer["id"])
        account.emit("customer.deleted", customer)
    return objects.deleted_customer(customer["id"])


# -- invoices -------------------------------------------------------------------------------------------------
def create_invoice_item(account: StripeAccount, params: Params) -> Obj:
    if not params.get("customer"):
        raise missing_param("customer")
    customer = account.get("customers", str(params["customer"]), param="customer")
    currency = currency_param(params)
    invoice = account.get("invoices", str(params["invoice"]), param="invoice") if params.get("invoice") else None
    if invoice is not None and invoice["status"] != "draft":
        raise invalid_request(f"Invoice {invoice['id']} is no longer editable.", param="invoice",
                              code="invoice_not_editable")
    values = {"amount": amount_param(params, currency), "currency": currency, "customer": customer["id"],
              "description": params.get("description"), "invoice": invoice["id"] if invoice else None,
              "metadata": metadata_update({}, params.get("metadata"))}
    with account.lock:
        item = account.insert("invoiceitems", lambda oid, now: objects.invoice_item(oid, now, values))
        if invoice is not None:
            _attach(account, invoice, [item])
        return item


def _attach(account: StripeAccount, invoice: Obj, items: list[Obj]) -> None:
    lines = [*invoice["lines"]["data"], *(objects.line_item(f"il_{item['id']}", item) for item in items)]
    for item in items:
        item["invoice"] = invoice["id"]
    total = sum(line["amount"] for line in lines)
    currency = lines[0]["currency"] if lines else invoice["currency"]
    account.replace("invoices", invoice, {
        "lines": {**invoice["lines"], "data": lines}, "currency": currency, "subtotal": total,
        "subtotal_excluding_tax": total, "total": total, "total_excluding_tax": total, "amount_due": total,
        "amount_remaining": total,
    }, "invoice.updated")


def create_invoice(account: StripeAccount, params: Params) -> Obj:
    if not params.get("customer"):
        raise missing_param("customer")
    customer = account.get("customers", str(params["customer"]), param="customer")
    values = {"description": params.get("description"), "metadata": metadata_update({}, params.get("metadata")),
              "collection_method": params.get("collection_method", "charge_automatically"),
              "auto_advance": as_bool(params, "auto_advance"), "currency": str(params.get("currency") or "usd")}
    with account.lock:
        invoice = account.insert("invoices", lambda oid, now: objects.invoice(oid, now, values, customer),
                                 "invoice.created")
        if params.get("pending_invoice_items_behavior", "exclude") == "include":
            pending = [item for item in account.tables["invoiceitems"].values()
                       if item["customer"] == customer["id"] and item["invoice"] is None]
            if pending:
                _attach(account, invoice, pending)
        return invoice


def update_invoice(account: StripeAccount, invoice: Obj, params: Params) -> Obj:
    changes: Obj = {key: params[key] for key in ("description",) if key in params}
    if "metadata" in params:
        changes["metadata"] = metadata_update(invoice["metadata"], params["metadata"])
    return account.replace("invoices", invoice, changes, "invoice.updated")


def finalize_invoice(account: StripeAccount, invoice: Obj, params: Params) -> Obj:
    with account.lock:
        if invoice["status"] != "draft":
            raise invalid_request("This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                                  code="invoice_not_editable")
        sequence = sum(1 for other in account.tables["invoices"].values() if other.get("number")) + 1
        changes: Obj = {"status": "open", "number": f"{invoice['id'][-8:].upper()}-{sequence:04d}",
                        "status_transitions": {**invoice["status_transitions"], "finalized_at": account.now()},
                        "effective_at": account.now(),
                        "hosted_invoice_url": f"https://invoice.stripe.com/i/sandbox/{invoice['id']}"}
        if invoice["amount_due"] > 0:
            intent = create_payment_intent(account, {
                "amount": invoice["amount_due"], "currency": invoice["currency"], "customer": invoice["customer"],
                "description": f"Invoice {changes['number']}", "invoice": invoice["id"],
            })
            changes["payment_intent"] = intent["id"]
        account.replace("invoices", invoice, changes)
        account.emit("invoice.finalized", invoice)
        return invoice


def pay_invoice(account: StripeAccount, invoice: Obj, params: Params) -> Obj:
    with account.lock:
        if invoice["status"] == "draft":
            finalize_invoice(account, invoice, {})
        if invoice["status"] != "open":
            code = "invoice_already_paid" if invoice["status"] == "paid" else "invoice_not_open"
            raise invalid_request(f"Invoice is already {invoice['status']}.", code=code)
        now, out_of_band = account.now(), as_bool(params, "paid_out_of_band")
        changes: Obj = {"attempted": True, "attempt_count": invoice["attempt_count"] + 1}
        if invoice["payment_intent"] and not out_of_band:
            intent = account.get("payment_intents", invoice["payment_intent"])
            confirm_payment_intent(account, intent, {"payment_method": params.get("payment_method") or "pm_card_visa"})
            changes["charge"] = intent["latest_charge"]
        changes |= {"status": "paid", "paid": True, "paid_out_of_band": out_of_band,
                    "amount_paid": invoice["amount_due"], "amount_remaining": 0,
                    "status_transitions": {**invoice["status_transitions"], "paid_at": now}}
        account.replace("invoices", invoice, changes)
        account.emit("invoice.paid", invoice)
        account.emit("invoice.payment_succeeded", invoice)
        return invoice
