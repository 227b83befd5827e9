"""razorpay-python's Client on a session we control, with retries and the error table.

razorpay-python raises BadRequestError / GatewayError / ServerError by `error.code` only, without the HTTP
status, so the session remembers the last status and `Retry-After`: a 401 is an authentication problem, a
429 a rate limit, 5xx and gateway errors transient, whatever the code says. It also passes its bundled CA
file as `verify` on every call, so a configured private CA is pinned on the session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import razorpay
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from crmsync.connectors.base import AuthenticationError, ConnectorError, RateLimited, TransientError
from crmsync.connectors.razorpay.settings import RazorpaySettings

log = logging.getLogger("crmsync.connectors.razorpay")
T = TypeVar("T")


class RazorpaySession(requests.Session):
    def __init__(self, ca_bundle: str | None, timeout: float) -> None:
        super().__init__()
        self.ca_bundle, self.timeout = ca_bundle, timeout
        if ca_bundle:
            self.trust_env = False  # REQUESTS_CA_BUNDLE and proxy variables would override the pinned CA
        self._last = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.ca_bundle:
            kwargs["verify"] = self.ca_bundle
        kwargs.setdefault("timeout", self.timeout)
        response = super().request(*args, **kwargs)
        self._last.status, self._last.retry_after = response.status_code, response.headers.get("Retry-After")
        return response

    @property
    def last_status(self) -> int | None:
        return getattr(self._last, "status", None)

    @property
    def last_retry_after(self) -> float | None:
        value = getattr(self._last, "retry_after", None)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class RazorpayApiClient:
    def __init__(self, settings: RazorpaySettings, connection: str) -> None:
        self.settings, self.connection = settings, connection
        self.session = RazorpaySession(str(settings.ca_bundle) if settings.ca_bundle else None,
                                       settings.timeout_seconds)
        options = {"base_url": settings.base_url.rstrip("/")} if settings.base_url else {}
        self.sdk = razorpay.Client(session=self.session, auth=(settings.key_id, settings.key_secret.get_secret_value()),
                                   **options)

    def classify(self, exc: Exception, where: str) -> ConnectorError:
        status = self.session.last_status
        kind = f"HTTP {status} {type(exc).__name__}" if status else type(exc).__name__
        description = str(exc)[:200]  # Razorpay's description; it never holds a credential
        if isinstance(exc, requests.RequestException):
            return TransientError(f"{where}: {kind} talking to Razorpay")
        if status == 401:
            return AuthenticationError(f"{where}: the key was refused ({kind}); check key_id and key_secret of this "
                                       "connection (test keys start rzp_test_)")
        if status == 429:
            return RateLimited(f"{where}: Razorpay asked us to slow down ({kind})", self.session.last_retry_after)
        if isinstance(exc, GatewayError | ServerError) or (status is not None and status >= 500):
            return TransientError(f"{where}: {kind}: {description}")
        return ConnectorError(f"{where}: {kind}: {description}")

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self.settings.retry_max_seconds)
        return float(wait_exponential(multiplier=self.settings.retry_initial_seconds,
                                      max=self.settings.retry_max_seconds)(state))

    def call(self, doing: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        where = f"razorpay {self.connection}: {doing}"

        def attempt() -> T:
            try:
                return fn(*args, **kwargs)
            except (BadRequestError, GatewayError, ServerError, requests.RequestException) as exc:
                raise self.classify(exc, where) from exc

        def log_retry(state: RetryCallState) -> None:
            assert state.outcome is not None
            log.warning("razorpay %s: %s; attempt %d of %d", self.connection, state.outcome.exception(),
                        state.attempt_number, self.settings.max_attempts)

        retrying = Retrying(stop=stop_after_attempt(self.settings.max_attempts), wait=self._wait,
                            retry=retry_if_exception_type(TransientError), before_sleep=log_retry, reraise=True)
        return retrying(attempt)

    def close(self) -> None:
        self.session.close()
