"""stripe-python's StripeClient pointed at the configured API, with retries and the SDK-error → connector-error table.

The SDK's own retries are off (`max_network_retries=0`): tenacity retries here instead, honouring
`Retry-After` on 429 and backing off on 5xx and dropped connections, so every call has one policy and one
log line per retry. Errors are classified by SDK class / HTTP status, never by message text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import stripe
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from crmsync.connectors.base import AuthenticationError, ConnectorError, RateLimited, TransientError
from crmsync.connectors.stripe.settings import StripeSettings

log = logging.getLogger("crmsync.connectors.stripe")
T = TypeVar("T")


class PinnedCaSession(requests.Session):
    """stripe-python passes its bundled CA file as `verify` on each call; a configured private CA must win."""

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self.trust_env = False  # REQUESTS_CA_BUNDLE and proxy variables would override us otherwise
        self.ca_bundle = ca_bundle

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["verify"] = self.ca_bundle
        return super().request(*args, **kwargs)


class NotFound(ConnectorError):
    """Stripe answered 404 resource_missing (a deleted customer, an expired event)."""


def _retry_after(exc: stripe.StripeError) -> float | None:
    value = (exc.headers or {}).get("Retry-After") if exc.headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: stripe.StripeError, where: str) -> ConnectorError:
    """One SDK error → the connector branch that says what to do about it (message without secrets)."""
    status, code = exc.http_status, getattr(exc, "code", None)
    detail = f"HTTP {status} {type(exc).__name__}{f' ({code})' if code else ''}, request {exc.request_id or '?'}"
    if isinstance(exc, stripe.RateLimitError) or status == 429:
        return RateLimited(f"{where}: Stripe asked us to slow down ({detail})", _retry_after(exc))
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return AuthenticationError(f"{where}: the API key was refused ({detail}); check api_key of this connection "
                                   "and that a restricted key may read and write the objects it needs")
    if isinstance(exc, stripe.APIConnectionError) or (status is not None and status >= 500) or status == 409:
        return TransientError(f"{where}: {detail}")
    if status == 404:
        return NotFound(f"{where}: {detail}: {exc.user_message or ''}".rstrip(": "))
    return ConnectorError(f"{where}: {detail}: {exc.user_message or ''}".rstrip(": "))


class StripeApiClient:
    def __init__(self, settings: StripeSettings, connection: str) -> None:
        self.settings, self.connection = settings, connection
        session = PinnedCaSession(str(settings.ca_bundle)) if settings.ca_bundle else None
        http_client = stripe.RequestsClient(session=session, timeout=settings.timeout_seconds)
        self._session = session
        base = {"api": settings.api_base.rstrip("/")} if settings.api_base else None
        self.sdk = stripe.StripeClient(settings.api_key.get_secret_value(), base_addresses=base,
                                       http_client=http_client, max_network_retries=0)
        self.v1 = self.sdk.v1

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and isinstance(outcome.exception(), RateLimited):
            retry_after = outcome.exception().retry_after  # type: ignore[union-attr]
            if retry_after is not None:
                return min(retry_after, self.settings.retry_max_seconds)
        backoff = wait_exponential(multiplier=self.settings.retry_initial_seconds, max=self.settings.retry_max_seconds)
        return float(backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        assert state.outcome is not None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("stripe %s: %s; attempt %d of %d, retrying in %.2fs", self.connection, state.outcome.exception(),
                    state.attempt_number, self.settings.max_attempts, wait)

    def call(self, doing: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one SDK call; retry transient failures; raise the connector error for the rest."""
        where = f"stripe {self.connection}: {doing}"

        def attempt() -> T:
            try:
                return fn(*args, **kwargs)
            except stripe.StripeError as exc:
                raise classify(exc, where) from exc

        retrying = Retrying(stop=stop_after_attempt(self.settings.max_attempts), wait=self._wait,
                            retry=retry_if_exception_type(TransientError), before_sleep=self._log_retry, reraise=True)
        return retrying(attempt)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
