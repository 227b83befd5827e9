"""Razorpay's error envelope `{"error": {"code", "description", "source", "step", "reason", "metadata", "field"}}`.

razorpay-python picks its exception by `error.code` alone (BAD_REQUEST_ERROR → BadRequestError,
GATEWAY_ERROR → GatewayError, anything else → ServerError) and calls `.json()` on every non-2xx answer, so
every error here, faults included, is this JSON shape.
"""

from __future__ import annotations

from typing import Any

from crmsync.sandbox.framework.faults import FaultProfile, FaultTemplate


class RazorpayApiError(Exception):
    def __init__(self, status: int, description: str, *, code: str = "BAD_REQUEST_ERROR", field: str | None = None,
                 reason: str = "input_validation_failed", source: str = "business", step: str = "payment_initiation",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.code, self.field = status, description, code, field
        self.reason, self.source, self.step = reason, source, step
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.description, field=self.field, reason=self.reason, source=self.source,
                          step=self.step)


def error_body(code: str, description: str, *, field: str | None = None, reason: str = "NA", source: str = "NA",
               step: str = "NA") -> dict[str, Any]:
    return {"error": {"code": code, "description": description, "source": source, "step": step, "reason": reason,
                      "metadata": {}, "field": field}}


def bad_request(description: str, field: str | None = None) -> RazorpayApiError:
    return RazorpayApiError(400, description, field=field)


def no_such_id() -> RazorpayApiError:
    return RazorpayApiError(400, "The id provided does not exist", reason="NA", source="NA", step="NA")


AUTH_FAILED = RazorpayApiError(401, "Authentication failed", reason="NA", source="NA", step="NA")
TOO_MANY = error_body("BAD_REQUEST_ERROR", "Too many requests. Please try after some time.")
RAZORPAY_FAULTS: FaultProfile = {
    "rate_limited": FaultTemplate(429, TOO_MANY, {"Retry-After": "1"}),
    "quota_exhausted": FaultTemplate(429, TOO_MANY),
    "server_error": FaultTemplate(500, error_body("SERVER_ERROR", "The server encountered an error. The incident "
                                                  "has been reported to admins.", source="internal")),
    "slow": FaultTemplate(None, delay_seconds=2.0),
    "token_expired": FaultTemplate(401, AUTH_FAILED.body()),
}
