"""Stripe's error envelope `{"error": {"type", "code", "message", "param", ...}}` and the statuses that go with it.

stripe-python picks its exception by status (400/404 InvalidRequestError, or IdempotencyError by type; 401
AuthenticationError; 402 CardError; 403 PermissionError; 429 RateLimitError; else APIError), so each helper
here fixes the status and type together.
"""

from __future__ import annotations

from typing import Any

from crmsync.sandbox.framework.faults import FaultProfile, FaultTemplate

DOC_URL = "https://stripe.com/docs/error-codes/"


class StripeApiError(Exception):
    def __init__(self, status: int, error_type: str, message: str, *, code: str | None = None,
                 param: str | None = None, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message
        self.code, self.param, self.extra = code, param, extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.error_type, self.message, code=self.code, param=self.param, extra=self.extra)


def error_body(error_type: str, message: str, *, code: str | None = None, param: str | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if code is not None:
        error["code"] = code
        error["doc_url"] = DOC_URL + code
    if param is not None:
        error["param"] = param
    return {"error": {**error, **(extra or {})}}


def invalid_request(message: str, *, param: str | None = None, code: str | None = None,
                    status: int = 400) -> StripeApiError:
    return StripeApiError(status, "invalid_request_error", message, code=code, param=param)


def missing_param(param: str) -> StripeApiError:
    return invalid_request(f"Missing required param: {param}.", param=param, code="parameter_missing")


def no_such(kind: str, object_id: str, param: str = "id") -> StripeApiError:
    return invalid_request(f"No such {kind}: '{object_id}'", param=param, code="resource_missing", status=404)


def authentication_error(message: str) -> StripeApiError:
    return StripeApiError(401, "invalid_request_error", message)


def rate_limit_error() -> StripeApiError:
    return StripeApiError(429, "invalid_request_error", "Request rate limit exceeded. Learn more about rate limits "
                          "here https://stripe.com/docs/rate-limits.", code="rate_limit")


def idempotency_error(key: str) -> StripeApiError:
    return StripeApiError(400, "idempotency_error", "Keys for idempotent requests can only be used with the same "
                          f"parameters they were first used with. Try using a key other than '{key}' if you meant "
                          "to execute a different request.")


STRIPE_FAULTS: FaultProfile = {
    "rate_limited": FaultTemplate(429, rate_limit_error().body(), {"Retry-After": "1"}),
    "quota_exhausted": FaultTemplate(429, rate_limit_error().body()),
    "server_error": FaultTemplate(
        500, error_body("api_error", "An unknown error occurred"), {"Stripe-Should-Retry": "true"}
    ),
    "slow": FaultTemplate(None, delay_seconds=2.0),
    "token_expired": FaultTemplate(
        401, error_body("invalid_request_error", "Expired API Key provided: sk_test_****", code="api_key_expired")
    ),
}
