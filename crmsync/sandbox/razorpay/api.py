"""The `/v1` API: HTTP Basic `key_id:key_secret`, JSON bodies, the route table and the error envelope."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crmsync.sandbox.razorpay import resources
from crmsync.sandbox.razorpay.account import Entity, RazorpayAccount
from crmsync.sandbox.razorpay.errors import AUTH_FAILED, RazorpayApiError, bad_request

Handler = Callable[[RazorpayAccount, dict[str, Any], tuple[str, ...]], Entity]
DEFAULT_KEY_ID = "rzp_test_SBXcrmsyncKey01"
DEFAULT_KEY_SECRET = "crmsync_sandbox_razorpay_key_secret"


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any


def _lister(kind: str) -> Handler:
    return lambda account, params, _ids: account.collection(kind, params)


def _getter(kind: str) -> Handler:
    return lambda account, _params, ids: account.get(kind, ids[0])


def _on(kind: str, action: Callable[[RazorpayAccount, Entity, dict[str, Any]], Entity]) -> Handler:
    return lambda account, params, ids: action(account, account.get(kind, ids[0]), params)


def _order_payments(account: RazorpayAccount, params: dict[str, Any], ids: tuple[str, ...]) -> Entity:
    account.get("orders", ids[0])
    return account.collection("payments", params, lambda payment: payment["order_id"] == ids[0])


def _payment_refunds(account: RazorpayAccount, params: dict[str, Any], ids: tuple[str, ...]) -> Entity:
    account.get("payments", ids[0])
    return account.collection("refunds", params, lambda refund: refund["payment_id"] == ids[0])


_ID = r"([A-Za-z0-9_]+)"
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(f"^{path}/?$"), handler) for method, path, handler in [
        ("GET", "/v1/customers", _lister("customers")),
        ("POST", "/v1/customers", lambda a, p, _i: resources.create_customer(a, p)),
        ("GET", f"/v1/customers/{_ID}", _getter("customers")),
        ("PUT", f"/v1/customers/{_ID}", _on("customers", resources.edit_customer)),
        ("GET", "/v1/orders", _lister("orders")),
        ("POST", "/v1/orders", lambda a, p, _i: resources.create_order(a, p)),
        ("GET", f"/v1/orders/{_ID}", _getter("orders")),
        ("GET", f"/v1/orders/{_ID}/payments", _order_payments),
        ("GET", "/v1/payments", _lister("payments")),
        ("GET", f"/v1/payments/{_ID}", _getter("payments")),
        ("POST", f"/v1/payments/{_ID}/capture", _on("payments", resources.capture_payment)),
        ("POST", f"/v1/payments/{_ID}/refund", _on("payments", resources.refund_payment)),
        ("GET", f"/v1/payments/{_ID}/refunds", _payment_refunds),
        ("GET", "/v1/refunds", _lister("refunds")),
        ("GET", f"/v1/refunds/{_ID}", _getter("refunds")),
    ]
]


class RazorpayApi:
    def __init__(self, account: RazorpayAccount, key_id: str, key_secret: str) -> None:
        self.account, self.key_id, self.key_secret = account, key_id, key_secret

    def _authenticate(self, authorization: str) -> None:
        scheme, _, value = authorization.partition(" ")
        try:
            presented = base64.b64decode(value.strip()).decode() if scheme.lower() == "basic" else ""
        except (ValueError, UnicodeDecodeError):
            presented = ""
        if presented != f"{self.key_id}:{self.key_secret}":
            raise AUTH_FAILED

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes, authorization: str) -> ApiResponse:
        try:
            self._authenticate(authorization)
            params: dict[str, Any] = dict(query)
            if method in ("POST", "PUT", "PATCH") and body.strip():
                try:
                    decoded = json.loads(body)
                except ValueError:
                    raise bad_request("The request body is not valid JSON") from None
                if not isinstance(decoded, dict):
                    raise bad_request("The request body must be a JSON object")
                params.update(decoded)
            for route_method, pattern, handler in ROUTES:
                match = pattern.match(path) if route_method == method else None
                if match is not None:
                    return ApiResponse(200, handler(self.account, params, match.groups()))
            raise RazorpayApiError(404, "The requested URL was not found on the server.", reason="NA", source="NA",
                                   step="NA")
        except RazorpayApiError as exc:
            return ApiResponse(exc.status, exc.body())
