"""The hubspot-api-client APIs one connection uses, and the single place every call goes through.

`HubSpotClient.call` injects the current access token, refreshes it once on a 401 and replays, retries
5xx, dropped connections and 429s with tenacity (a 429 waits as long as HubSpot's policy says), and maps
what is left to the connector's error classes by HTTP status and HubSpot `category`/`policyName`, never
by message text. The SDK's own urllib3 retries are off so there is one retry policy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import hubspot
import urllib3
from hubspot.crm.associations.v4 import exceptions as associations_exceptions
from hubspot.crm.objects import exceptions as objects_exceptions
from hubspot.crm.properties import exceptions as properties_exceptions
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from crmsync.connectors.base import AuthenticationError, ConnectorError, QuotaExhausted, RateLimited, TransientError
from crmsync.connectors.hubspot.auth import TokenProvider
from crmsync.connectors.hubspot.settings import HubSpotSettings
from crmsync.store.tokens import TokenStore

log = logging.getLogger("crmsync.connectors.hubspot")
T = TypeVar("T")
POLICY_WAIT_SECONDS = {"SECONDLY": 1.0, "TEN_SECONDLY_ROLLING": 10.0}


class _Unauthorized(Exception):
    """A 401 the caller may fix by refreshing the OAuth token once."""


def error_details(exc: Exception) -> tuple[int, dict[str, Any], Any]:
    """(status, JSON body or {}, headers) of any hubspot-api-client ApiException."""
    status = int(getattr(exc, "status", 0) or 0)
    try:
        body = json.loads(getattr(exc, "body", None) or "{}")
    except (TypeError, ValueError):
        body = {}
    return status, body if isinstance(body, dict) else {}, getattr(exc, "headers", None) or {}


# Every generated SDK package has its own ApiException (401/403/404/5xx subclasses derive from it).
API_EXCEPTIONS: tuple[type[Exception], ...] = (
    objects_exceptions.ApiException, properties_exceptions.ApiException, associations_exceptions.ApiException,
)


def next_utc_midnight(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


class HubSpotClient:
    def __init__(self, settings: HubSpotSettings, connection: str, token_store: TokenStore | None = None) -> None:
        self.settings, self.connection = settings, connection
        sdk_options: dict[str, Any] = {"host": settings.base_url.rstrip("/"), "retry": urllib3.Retry(0, redirect=0)}
        if settings.ca_bundle is not None:
            sdk_options["ssl_ca_cert"] = str(settings.ca_bundle)
        # Each SDK property builds a fresh ApiClient and connection pool: build every API once and keep it.
        sdk = hubspot.Client.create(access_token="pending", **sdk_options)
        self.objects = sdk.crm.objects.basic_api
        self.batch = sdk.crm.objects.batch_api
        self.search = sdk.crm.objects.search_api
        self.properties = sdk.crm.properties.core_api
        self.associations = sdk.crm.associations.v4.batch_api
        self._apis = [self.objects, self.batch, self.search, self.properties, self.associations]
        self.tokens = TokenProvider(settings, connection, sdk.oauth.tokens_api if settings.uses_oauth else None,
                                    token_store)
        if settings.uses_oauth:
            self._apis.append(self.tokens._tokens_api)
        self.rate_limited = 0  # 429s absorbed by waiting, for operators and tests

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self.settings.rate_limit_max_wait_seconds)
        backoff = wait_exponential(multiplier=self.settings.retry_initial_seconds, max=self.settings.retry_max_seconds)
        return float(backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("hubspot %s: %s; attempt %d of %d, retrying in %.2fs", self.connection, error,
                    state.attempt_number, self.settings.max_attempts, wait)

    def call(self, doing: str, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one SDK method with auth, retries and error mapping; `doing` names it in messages."""
        retrying = Retrying(stop=stop_after_attempt(self.settings.max_attempts), wait=self._wait,
                            retry=retry_if_exception_type(TransientError), before_sleep=self._log_retry, reraise=True)
        return retrying(self._call_with_refresh, doing, method, args, kwargs)

    def call_json(self, doing: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Like `call`, but the response body as plain JSON: the SDK still builds, authenticates and checks the
        request, and skipping its model layer (a dateutil parse per timestamp) makes bulk reads several times
        faster."""
        response = self.call(doing, method, *args, _preload_content=False, **kwargs)
        try:
            return json.loads(response.data or b"null")
        finally:
            response.release_conn()

    def _call_with_refresh(self, doing: str, method: Callable[..., T], args: tuple[Any, ...],
                           kwargs: dict[str, Any]) -> T:
        for attempt in (1, 2):
            token = self.tokens.token()
            try:
                return self._once(doing, method, token, args, kwargs)
            except _Unauthorized:
                if attempt == 2 or not self.tokens.invalidate(token):
                    break
                log.info("hubspot %s: access token refused; refreshing once and replaying", self.connection)
        kind = "OAuth access token was refused again right after a refresh" if self.settings.uses_oauth else \
            "private-app token was refused"
        raise AuthenticationError(f"hubspot {self.connection}: {doing}: the {kind}; check the token and the "
                                  "app's scopes in the HubSpot portal")

    def _once(self, doing: str, method: Callable[..., T], token: str, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> T:
        for api in self._apis:
            api.api_client.configuration.access_token = token
        where = f"hubspot {self.connection}: {doing}"
        try:
            return method(*args, _request_timeout=self.settings.timeout_seconds, **kwargs)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransientError(f"{where}: {type(exc).__name__} talking to {self.settings.base_url}") from exc
        except API_EXCEPTIONS as exc:
            raise self._classify(where, exc) from exc

    def _classify(self, where: str, exc: Exception) -> Exception:
        status, body, headers = error_details(exc)
        category, message = str(body.get("category", "")), str(body.get("message", ""))[:300]
        if status == 401:
            return _Unauthorized()
        if status == 429:
            policy = str(body.get("policyName", ""))
            if policy == "DAILY":
                resume_at = next_utc_midnight()
                return QuotaExhausted(f"{where}: the portal's daily API limit is spent (429 DAILY); the sync resumes "
                                      f"from its checkpoint after {resume_at:%Y-%m-%d %H:%M} UTC (HubSpot resets the "
                                      "allowance at midnight in the portal's time zone)", resume_at=resume_at,
                                      details={"policy": policy})
            self.rate_limited += 1
            return RateLimited(f"{where}: rate limited by HubSpot (429 {policy or category})", self._retry_after(
                headers, policy))
        if status == 0 or status >= 500:
            return TransientError(f"{where}: HTTP {status} {category} {message}".rstrip())
        if status == 403:
            return AuthenticationError(f"{where}: HTTP 403 {category}: {message}; grant the app the scopes this "
                                       "object needs")
        return ConnectorError(f"{where}: HTTP {status} {category}: {message}")

    @staticmethod
    def _retry_after(headers: Any, policy: str) -> float | None:
        retry_after = headers.get("Retry-After") if hasattr(headers, "get") else None
        if retry_after is not None:
            try:
                return float(retry_after)
            except ValueError:
                pass
        interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds") if hasattr(headers, "get") else None
        if policy == "TEN_SECONDLY_ROLLING" and interval is not None and str(interval).isdigit():
            return int(interval) / 1000
        return POLICY_WAIT_SECONDS.get(policy, 1.0)

    def close(self) -> None:
        for api in self._apis:
            api.api_client.rest_client.pool_manager.clear()
