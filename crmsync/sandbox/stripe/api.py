"""Every `/v1` request: API key, rate limit, `Request-Id`, form decoding, idempotency, dispatch, error envelope.

This is one function rather than ASGI middleware because idempotency has to see the decoded parameters
and the final response together; faults still sit in front of it (framework middleware), so an injected
failure is never remembered under an idempotency key.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from crmsync.sandbox.stripe.account import StripeAccount, current_request
from crmsync.sandbox.stripe.errors import StripeApiError, authentication_error, invalid_request, rate_limit_error
from crmsync.sandbox.stripe.forms import parse_params
from crmsync.sandbox.stripe.idempotency import IdempotencyStore, fingerprint
from crmsync.sandbox.stripe.routes import expand, resolve

DEFAULT_API_KEY = "sk_test_crmsync_sandbox_secret_key"
DEFAULT_RATE_LIMIT_PER_SECOND = 100


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str]


class RateLimiter:
    """At most `per_second` requests in any one-second span (wall time: rate limits are about real load)."""

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.per_second:
                return False
            self._recent.append(now)
            return True


def redact_key(key: str) -> str:
    return f"{key[:8]}****{key[-4:]}" if len(key) > 12 else "****"


def presented_key(authorization: str) -> str | None:
    """The secret key from `Bearer <key>` or HTTP Basic `<key>:` (both are accepted by Stripe)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().split(":", 1)[0] or None
        except (ValueError, UnicodeDecodeError):
            return None
    return None


class StripeApi:
    def __init__(self, account: StripeAccount, api_key: str, rate_limit_per_second: int) -> None:
        self.account, self.api_key = account, api_key
        self.rate_limiter = RateLimiter(rate_limit_per_second)
        self.idempotency = IdempotencyStore(account.clock)
        self._request_ids = itertools.count(1)

    def _authenticate(self, authorization: str) -> None:
        key = presented_key(authorization)
        if key is None:
            raise authentication_error("You did not provide an API key. You need to provide your API key in the "
                                       "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                                       "YOUR_SECRET_KEY').")
        if key != self.api_key:
            raise authentication_error(f"Invalid API Key provided: {redact_key(key)}")

    def handle(self, method: str, path: str, query: str, body: bytes, headers: dict[str, str]) -> ApiResponse:
        request_id = f"req_sbx{next(self._request_ids):012d}"
        base = {"Request-Id": request_id, "Stripe-Version": "2023-08-16"}
        try:
            self._authenticate(headers.get("authorization", ""))
            if not self.rate_limiter.allow():
                raise rate_limit_error()
            params = parse_params(body.decode("utf-8", "replace") if method == "POST" else query)
            found = resolve(method, path)
            if found is None:
                raise invalid_request(f"Unrecognized request URL ({method}: {path}). Please see "
                                      "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                                      status=404)
            key = headers.get("idempotency-key") if method == "POST" else None
            if key is None:
                status, payload = self._run(found, params, request_id, None)
                return ApiResponse(status, payload, base)
            with self.idempotency.key_lock(key):
                request_fingerprint = fingerprint(method, path, params)
                stored = self.idempotency.lookup(key, request_fingerprint)
                if stored is not None:
                    return ApiResponse(stored.status, stored.body, {**base, "Idempotent-Replayed": "true",
                                                                    "Original-Request": stored.request_id,
                                                                    "Idempotency-Key": key})
                status, payload = self._run(found, params, request_id, key)
                self.idempotency.save(key, request_fingerprint, status, payload, request_id)
                return ApiResponse(status, payload, {**base, "Idempotency-Key": key})
        except StripeApiError as exc:
            return ApiResponse(exc.status, exc.body(), {**base, **exc.headers})

    def _run(self, found: Any, params: dict[str, Any], request_id: str, key: str | None) -> tuple[int, Any]:
        handler, ids = found
        token = current_request.set({"id": request_id, "idempotency_key": key})
        try:
            result = handler(self.account, params, ids)
            return 200, expand(self.account, result, params)
        except StripeApiError as exc:
            return exc.status, exc.body()
        finally:
            current_request.reset(token)
