"""The Razorpay sandbox behind the generic admin API; admin writes play the buyer and the dashboard user.

`POST /__sandbox/records/payments` is a buyer paying (status authorized, captured or failed, optionally for
an `order_id`); updates take an `action` (`capture`, `refund`) or plain customer fields.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from faker import Faker
from fastapi import APIRouter
from pydantic import BaseModel, Field

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.emulator import SandboxAdminError
from crmsync.sandbox.framework.faults import FaultInjector
from crmsync.sandbox.razorpay import resources
from crmsync.sandbox.razorpay.account import DEFAULT_MAX_SKIP, ENTITY_NAMES, RazorpayAccount
from crmsync.sandbox.razorpay.api import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, RazorpayApi
from crmsync.sandbox.razorpay.errors import RazorpayApiError
from crmsync.sandbox.razorpay.webhooks import WebhookDispatcher, WebhookPolicy


class LimitsRequest(BaseModel):
    max_skip: int = Field(ge=1)


class RazorpaySandbox:
    def __init__(self, clock: SandboxClock, faults: FaultInjector, faker_seed: int,
                 options: Mapping[str, Any]) -> None:
        self.clock, self.faults, self.faker_seed = clock, faults, faker_seed
        self.account = RazorpayAccount(clock, int(options.get("max_skip", DEFAULT_MAX_SKIP)))
        self._configured_max_skip = self.account.max_skip
        self.key_id = str(options.get("key_id", DEFAULT_KEY_ID))
        self.key_secret = str(options.get("key_secret", DEFAULT_KEY_SECRET))
        self.api = RazorpayApi(self.account, self.key_id, self.key_secret)
        self.webhooks = WebhookDispatcher(self.account, WebhookPolicy(
            float(options.get("webhook_retry_initial_seconds", WebhookPolicy.initial_seconds)),
            float(options.get("webhook_retry_max_seconds", WebhookPolicy.max_seconds)),
            float(options.get("webhook_give_up_after_seconds", WebhookPolicy.give_up_after_seconds)),
            float(options.get("webhook_batch_seconds", WebhookPolicy.batch_seconds)),
        ))

    def _kind(self, object_name: str) -> str:
        if object_name not in ENTITY_NAMES:
            raise SandboxAdminError(f"unknown Razorpay entity {object_name!r}; entities: {', '.join(ENTITY_NAMES)}",
                                    404)
        return object_name

    @staticmethod
    def _admin_error(exc: RazorpayApiError) -> SandboxAdminError:
        return SandboxAdminError(f"{exc.code}: {exc.description}", 400)

    def seed(self, object_name: str, count: int, faker_seed: int | None) -> dict[str, Any]:
        kind = self._kind(object_name)
        if kind not in ("customers", "payments"):
            raise SandboxAdminError("seeding makes customers or payments (captured, INR)")
        seed = self.faker_seed if faker_seed is None else faker_seed
        existing = len(self.account.tables[kind])
        fake, rng = Faker("en_IN"), random.Random(f"{seed}:{kind}:{existing}")
        fake.seed_instance(rng.randrange(2**32))
        for index in range(existing, existing + count):
            first, last = fake.first_name(), fake.last_name()
            email = f"{first}.{last}{index}@example.in".lower()
            contact = f"+91{rng.choice((98, 97, 96, 90))}{rng.randint(10_000_000, 99_999_999)}"
            if kind == "customers":
                resources.create_customer(self.account, {"name": f"{first} {last}", "email": email, "contact": contact})
            else:
                resources.create_payment(self.account, {"amount": rng.randint(1, 500) * 100, "currency": "INR",
                                                        "email": email, "contact": contact, "status": "captured"})
        return {"object": kind, "created": count, "total": existing + count}

    def list_records(self, object_name: str, include_deleted: bool) -> list[dict[str, Any]]:
        with self.account.lock:
            return sorted(self.account.tables[self._kind(object_name)].values(), key=lambda e: e["created_at"])

    def create_record(self, object_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        creators = {"customers": resources.create_customer, "orders": resources.create_order,
                    "payments": resources.create_payment}
        kind = self._kind(object_name)
        try:
            if kind == "refunds":
                payment = self.account.get("payments", str(fields.pop("payment_id", "")))
                return resources.refund_payment(self.account, payment, fields)
            return creators[kind](self.account, fields)
        except RazorpayApiError as exc:
            raise self._admin_error(exc) from None

    def update_record(self, object_name: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        kind, action = self._kind(object_name), fields.pop("action", None)
        try:
            entity = self.account.get(kind, record_id)
            if kind == "payments" and action == "capture":
                return resources.capture_payment(self.account, entity, {
                    "amount": entity["amount"], "currency": entity["currency"], **fields})
            if kind == "payments" and action == "refund":
                return resources.refund_payment(self.account, entity, fields)
            if kind == "customers" and action is None:
                return resources.edit_customer(self.account, entity, fields)
        except RazorpayApiError as exc:
            raise self._admin_error(exc) from None
        raise SandboxAdminError("updates: customers (fields), payments with action capture or refund")

    def delete_record(self, object_name: str, record_id: str) -> None:
        raise SandboxAdminError("Razorpay entities cannot be deleted")

    def add_listener(self, config: dict[str, Any]) -> dict[str, Any]:
        return self.webhooks.add(config)

    def list_listeners(self) -> list[dict[str, Any]]:
        return [self.webhooks.describe(listener) for listener in self.webhooks.listeners.values()]

    def clear_listeners(self) -> None:
        self.webhooks.clear()

    def set_daily_quota(self, daily_limit: int | None, used: int | None) -> dict[str, Any]:
        raise SandboxAdminError("Razorpay has no daily API quota here; inject a rate_limited fault instead")

    def reset(self) -> None:
        self.account.reset()
        self.account.max_skip = self._configured_max_skip
        self.webhooks.clear()

    def close(self) -> None:
        self.webhooks.close()

    def admin_routes(self) -> APIRouter:
        router = APIRouter()

        @router.get("/webhooks/deliveries")
        async def deliveries() -> list[dict[str, Any]]:
            return [delivery.describe() for delivery in self.webhooks.deliveries]

        @router.put("/limits")
        async def limits(body: LimitsRequest) -> dict[str, int]:
            self.account.max_skip = body.max_skip
            return {"max_skip": body.max_skip}

        return router
