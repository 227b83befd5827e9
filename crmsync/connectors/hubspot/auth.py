"""Access tokens: a private-app token as is, or OAuth access tokens refreshed from the refresh token.

A refresh is retried with backoff when HubSpot answers 429 or 5xx (or the network fails), so a busy
token endpoint delays a run instead of failing it; a refused refresh token is an AuthenticationError.
"""

from __future__ import annotations

import logging
import threading
import time

import urllib3
from hubspot.oauth import ApiException as OAuthApiException
from hubspot.oauth import TokensApi
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from crmsync.connectors.base import AuthenticationError, TransientError
from crmsync.connectors.hubspot.settings import HubSpotSettings
from crmsync.store.tokens import TokenStore

log = logging.getLogger("crmsync.connectors.hubspot")
EXPIRY_MARGIN_SECONDS = 60.0  # refresh this long before HubSpot says the token expires


class _RefreshRefusedForNow(Exception):
    """429 / 5xx / network trouble on the token endpoint: worth another try."""


class TokenProvider:
    def __init__(self, settings: HubSpotSettings, connection: str, tokens_api: TokensApi | None,
                 token_store: TokenStore | None = None) -> None:
        self.settings, self.connection, self._tokens_api = settings, connection, tokens_api
        self.token_store = token_store if settings.uses_oauth else None
        self._lock = threading.Lock()
        self._token: str | None = settings.access_token.get_secret_value() if settings.access_token else None
        self._expires_at = float("inf")
        self.refreshes = 0  # successful OAuth refreshes, for operators and tests
        self._restore()

    def _restore(self) -> None:
        """Reuse an OAuth access token a previous run obtained while it is still valid (they last 30 minutes)."""
        stored = self.token_store.load(self.connection) if self.token_store else None
        if not stored or stored.get("client_id") != self.settings.client_id:
            return
        left = float(stored.get("expires_at") or 0) - time.time()
        if left > EXPIRY_MARGIN_SECONDS:
            self._token, self._expires_at = str(stored["access_token"]), time.monotonic() + left

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at - EXPIRY_MARGIN_SECONDS:
                self._refresh()
            assert self._token is not None
            return self._token

    def invalidate(self, rejected: str) -> bool:
        """Forget a token the API refused; True when a refresh can help (OAuth), False for a private-app token."""
        if not self.settings.uses_oauth:
            return False
        with self._lock:
            if self._token == rejected:
                self._token = None
        return True

    def _refresh(self) -> None:
        settings = self.settings
        assert self._tokens_api is not None and settings.client_secret and settings.refresh_token
        retrying = Retrying(
            stop=stop_after_attempt(settings.token_refresh_attempts),
            wait=wait_exponential(multiplier=max(settings.retry_initial_seconds, 0.001),
                                  max=settings.rate_limit_max_wait_seconds),
            retry=retry_if_exception_type(_RefreshRefusedForNow), reraise=True,
        )
        try:
            response = retrying(self._call_token_endpoint)
        except _RefreshRefusedForNow as exc:
            raise TransientError(f"hubspot {self.connection}: the OAuth token endpoint kept refusing to refresh "
                                 f"the access token ({exc}) after {settings.token_refresh_attempts} attempts; "
                                 "the run can resume later") from None
        self._token = str(response.access_token)
        lifetime = float(response.expires_in or 1800)
        self._expires_at = time.monotonic() + lifetime
        self.refreshes += 1
        if self.token_store is not None:
            self.token_store.save(self.connection, {"client_id": settings.client_id, "access_token": self._token,
                                                    "expires_at": time.time() + lifetime})
        log.info("hubspot %s: refreshed the OAuth access token (valid %ss)", self.connection, response.expires_in)

    def _call_token_endpoint(self) -> object:
        settings = self.settings
        assert self._tokens_api is not None and settings.client_secret and settings.refresh_token
        try:
            return self._tokens_api.create(
                grant_type="refresh_token", client_id=settings.client_id,
                client_secret=settings.client_secret.get_secret_value(),
                refresh_token=settings.refresh_token.get_secret_value(), _request_timeout=settings.timeout_seconds)
        except OAuthApiException as exc:
            if exc.status == 429 or exc.status >= 500 or exc.status == 0:
                log.warning("hubspot %s: token endpoint answered HTTP %s; retrying", self.connection, exc.status)
                raise _RefreshRefusedForNow(f"HTTP {exc.status}") from None
            raise AuthenticationError(
                f"hubspot {self.connection}: the OAuth refresh was refused (HTTP {exc.status}); check client_id, "
                "client_secret and refresh_token of this connection, and that the app is still installed") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _RefreshRefusedForNow(type(exc).__name__) from None
