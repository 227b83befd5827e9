"""The Stripe sandbox behind the generic admin API: seed, records "as a dashboard user", webhook endpoints, reset.

Admin writes run the same flows as the API (so they emit the same events and webhooks) with no request
attached, as Stripe reports dashboard changes. A few extra keys make test set-up short: `confirm` and
`payment_method` on payment intents; `lines`, `finalize` and `pay` on invoices; `action` on updates
(`confirm`, `capture`, `cancel` for intents, `finalize`, `pay` for invoices).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from faker import Faker
from fastapi import APIRouter
from pydantic import BaseModel, Field

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.emulator import SandboxAdminError
from crmsync.sandbox.framework.faults import FaultInjector
from crmsync.sandbox.stripe import billing, payments
from crmsync.sandbox.stripe.account import StripeAccount
from crmsync.sandbox.stripe.api import DEFAULT_API_KEY, DEFAULT_RATE_LIMIT_PER_SECOND, StripeApi
from crmsync.sandbox.stripe.errors import StripeApiError
from crmsync.sandbox.stripe.objects import Obj
from crmsync.sandbox.stripe.webhooks import WebhookDispatcher, WebhookRetryPolicy, add_listener

SEED_CURRENCIES = ("usd", "usd", "eur", "gbp", "jpy")
ACTIONS: dict[str, dict[str, Callable[[StripeAccount, Obj, dict[str, Any]], Obj]]] = {
    "payment_intents": {"confirm": payments.confirm_payment_intent, "capture": payments.capture_payment_intent,
                        "cancel": payments.cancel_payment_intent},
    "invoices": {"finalize": billing.finalize_invoice, "pay": billing.pay_invoice},
}


class RollRequest(BaseModel):
    secret: str | None = None


class RateLimitRequest(BaseModel):
    per_second: int = Field(ge=1)


class StripeSandbox:
    def __init__(self, clock: SandboxClock, faults: FaultInjector, faker_seed: int,
                 options: Mapping[str, Any]) -> None:
        self.clock, self.faults, self.faker_seed = clock, faults, faker_seed
        self.account = StripeAccount(clock)
        self.api_key = str(options.get("api_key", DEFAULT_API_KEY))
        self.api = StripeApi(self.account, self.api_key,
                             int(options.get("rate_limit_per_second", DEFAULT_RATE_LIMIT_PER_SECOND)))
        policy = WebhookRetryPolicy(
            float(options.get("webhook_retry_initial_seconds", WebhookRetryPolicy.initial_seconds)),
            float(options.get("webhook_retry_max_seconds", WebhookRetryPolicy.max_seconds)),
            float(options.get("webhook_give_up_after_seconds", WebhookRetryPolicy.give_up_after_seconds)),
        )
        self.webhooks = WebhookDispatcher(self.account, policy)
        self.account.webhooks = self.webhooks  # type: ignore[attr-defined]  # for /v1/webhook_endpoints

    @staticmethod
    def _admin_error(exc: StripeApiError) -> SandboxAdminError:
        return SandboxAdminError(f"{exc.code or exc.error_type}: {exc.message}", 404 if exc.status == 404 else 400)

    def _kind(self, object_name: str) -> str:
        if object_name not in ("customers", "payment_intents", "charges", "invoices", "refunds", "events"):
            raise SandboxAdminError(f"unknown Stripe object {object_name!r}; objects: customers, payment_intents, "
                                    "charges, invoices, refunds, events", 404)
        return object_name

    # -- SandboxBackend -------------------------------------------------------------------------------
    def seed(self, object_name: str, count: int, faker_seed: int | None) -> dict[str, Any]:
        kind = self._kind(object_name)
        if kind not in ("customers", "payment_intents"):
            raise SandboxAdminError("seeding makes customers or payment_intents (succeeded, with their charges)")
        seed = self.faker_seed if faker_seed is None else faker_seed
        existing = len(self.account.tables[kind])
        fake, rng = Faker("en_US"), random.Random(f"{seed}:{kind}:{existing}")
        fake.seed_instance(rng.randrange(2**32))
        for index in range(existing, existing + count):
            if kind == "customers":
                first, last = fake.first_name(), fake.last_name()
                billing.create_customer(self.account, {
                    "name": f"{first} {last}", "email": f"{first}.{last}{index}@example.com".lower(),
                    "phone": f"+1{rng.choice((212, 415, 646, 312, 617))}{rng.randint(2000000, 9999999)}"})
            else:
                customers = list(self.account.tables["customers"]) or [
                    billing.create_customer(self.account, {"email": f"buyer{index}@example.com"})["id"]]
                currency = rng.choice(SEED_CURRENCIES)
                payments.create_payment_intent(self.account, {
                    "amount": rng.randint(5, 500) * (1 if currency == "jpy" else 100), "currency": currency,
                    "customer": rng.choice(customers), "payment_method": "pm_card_visa", "confirm": True})
        return {"object": kind, "created": count, "total": existing + count}

    def list_records(self, object_name: str, include_deleted: bool) -> list[dict[str, Any]]:
        with self.account.lock:
            return sorted(self.account.tables[self._kind(object_name)].values(), key=lambda row: row["created"])

    def create_record(self, object_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        kind = self._kind(object_name)
        try:
            if kind == "customers":
                return billing.create_customer(self.account, fields)
            if kind == "payment_intents":
                return payments.create_payment_intent(self.account, fields)
            if kind == "charges":
                return payments.create_charge(self.account, fields)
            if kind == "refunds":
                return payments.create_refund(self.account, fields)
            if kind == "invoices":
                return self._create_invoice(fields)
        except StripeApiError as exc:
            raise self._admin_error(exc) from None
        raise SandboxAdminError("events are made by changes, not created directly")

    def _create_invoice(self, fields: dict[str, Any]) -> Obj:
        lines = fields.pop("lines", [])
        finalize, pay = bool(fields.pop("finalize", False)), bool(fields.pop("pay", False))
        invoice = billing.create_invoice(self.account, fields)
        for line in lines:
            billing.create_invoice_item(self.account, {"customer": invoice["customer"], "invoice": invoice["id"],
                                                       "currency": invoice["currency"], **line})
        if finalize or pay:
            billing.finalize_invoice(self.account, invoice, {})
        if pay:
            billing.pay_invoice(self.account, invoice, {})
        return invoice

    def update_record(self, object_name: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        kind = self._kind(object_name)
        action = fields.pop("action", None)
        try:
            obj = self.account.get(kind, record_id)
            if action is not None:
                handler = ACTIONS.get(kind, {}).get(str(action))
                if handler is None:
                    raise SandboxAdminError(f"no action {action!r} on {kind}; actions: "
                                            f"{', '.join(ACTIONS.get(kind, {})) or 'none'}")
                return handler(self.account, obj, fields)
            updaters = {"customers": billing.update_customer, "payment_intents": payments.update_payment_intent,
                        "charges": payments.update_charge, "invoices": billing.update_invoice}
            if kind not in updaters:
                raise SandboxAdminError(f"{kind} cannot be updated")
            return updaters[kind](self.account, obj, fields)
        except StripeApiError as exc:
            raise self._admin_error(exc) from None

    def delete_record(self, object_name: str, record_id: str) -> None:
        if self._kind(object_name) != "customers":
            raise SandboxAdminError("only customers can be deleted")
        try:
            billing.delete_customer(self.account, self.account.get("customers", record_id))
        except StripeApiError as exc:
            raise self._admin_error(exc) from None

    def add_listener(self, config: dict[str, Any]) -> dict[str, Any]:
        return add_listener(self.webhooks, config)

    def list_listeners(self) -> list[dict[str, Any]]:
        return [{**e.as_stripe(with_secret=False), "secrets": e.secrets} for e in self.webhooks.endpoints.values()]

    def clear_listeners(self) -> None:
        self.webhooks.clear()

    def set_daily_quota(self, daily_limit: int | None, used: int | None) -> dict[str, Any]:
        raise SandboxAdminError("Stripe has no daily API quota; use PUT /__sandbox/rate_limit or a rate_limited fault")

    def reset(self) -> None:
        self.account.reset()
        self.api.idempotency.reset()
        self.webhooks.clear()

    def close(self) -> None:
        self.webhooks.close()

    # -- Stripe-only admin routes ---------------------------------------------------------------------
    def admin_routes(self) -> APIRouter:
        router = APIRouter()

        @router.get("/webhooks/deliveries")
        async def deliveries() -> list[dict[str, Any]]:
            return [delivery.describe() for delivery in self.webhooks.deliveries]

        @router.post("/webhooks/{endpoint_id}/roll")
        async def roll(endpoint_id: str, body: RollRequest) -> dict[str, Any]:
            if endpoint_id not in self.webhooks.endpoints:
                raise SandboxAdminError(f"no webhook endpoint {endpoint_id!r}", 404)
            endpoint = self.webhooks.roll_secret(endpoint_id, body.secret)
            return {**endpoint.as_stripe(with_secret=False), "secrets": endpoint.secrets}

        @router.put("/rate_limit")
        async def rate_limit(body: RateLimitRequest) -> dict[str, int]:
            self.api.rate_limiter.per_second = body.per_second
            return {"per_second": body.per_second}

        return router
