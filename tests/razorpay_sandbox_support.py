"""Helpers for the Razorpay emulator and connector tests; fixtures live in the `razorpay_fixtures` plugin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import razorpay
import requests
from sandbox_support import PinnedCaSession, SandboxHandle

from crmsync.connectors.razorpay import RazorpaySettings

RAZORPAY_OPTIONS = {"webhook_retry_initial_seconds": 0.05, "webhook_retry_max_seconds": 0.2,
                    "webhook_batch_seconds": 0.1}
TEST_DEFAULTS: dict[str, Any] = {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.01, "max_attempts": 3,
                                 "timeout_seconds": 10, "lookback_seconds": 0}


@dataclass
class RazorpaySandbox(SandboxHandle):
    @property
    def auth(self) -> tuple[str, str]:
        return self.endpoint.credentials["key_id"], self.endpoint.credentials["key_secret"]

    def pay(self, amount: int, **fields: Any) -> dict[str, Any]:
        return dict(self.admin("POST", "records/payments", json={"amount": amount, "currency": "INR", **fields}))

    def advance(self, seconds: float) -> None:
        self.admin("POST", "clock/advance", json={"seconds": seconds})

    def client(self, session: requests.Session | None = None) -> razorpay.Client:
        return razorpay.Client(session=session or PinnedCaSession(self.endpoint.ca_bundle), auth=self.auth,
                               base_url=self.base_url)


def settings_for(sandbox: RazorpaySandbox, **overrides: Any) -> RazorpaySettings:
    key_id, key_secret = sandbox.auth
    return RazorpaySettings(**{"key_id": key_id, "key_secret": key_secret, "base_url": sandbox.base_url,
                               "ca_bundle": sandbox.endpoint.ca_bundle, **TEST_DEFAULTS, **overrides})
