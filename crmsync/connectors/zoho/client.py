"""A thin Zoho CRM v8 client over `requests`: OAuth refresh per data centre, retries, errors by code.

Why not Zoho's SDK (zohocrmsdk8-0)? Its `Initializer` is process-global: `initialize` from a second thread
silently points every thread at the last connection's org (tried: a thread set up for `.com` read the `.eu`
org's records), `switch_user` is thread-local state that a pooled scheduler thread carries into the next
connection's job, the token store and field-metadata cache stay global, and it calls module-level
`requests` (no session, so no per-connection CA, retries or timeouts on writes). crmsync runs connections
concurrently, so this client keeps all of that per connection.

Every call goes through `ZohoClient.call`: the token is refreshed on first use and once more on a 401
INVALID_TOKEN (then replayed); 5xx, dropped connections and 429s for concurrency are retried with
exponential backoff; credits are read from every answer and a spent allowance becomes QuotaExhausted.
Errors are classified by HTTP status and Zoho's `code`, never by message text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, retry_if_result, stop_after_attempt

from crmsync.connectors.base import AuthenticationError, ConnectorError, RateLimited, TransientError
from crmsync.connectors.zoho.credits import CreditMeter
from crmsync.connectors.zoho.settings import ZohoSettings
from crmsync.store.tokens import TokenStore

log = logging.getLogger("crmsync.connectors.zoho")

API_VERSION = "v8"
TOKEN_MARGIN_SECONDS = 120.0  # a stored token this close to expiry is refreshed instead
RETRYABLE_EXCEPTIONS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
AUTH_CODES = frozenset({"INVALID_TOKEN", "AUTHENTICATION_FAILURE", "OAUTH_SCOPE_MISMATCH", "NO_PERMISSION"})
TRANSIENT_CODES = frozenset({"INTERNAL_ERROR", "INTERNAL_SERVER_ERROR"})
ROW_KEYS = ("data", "watch")  # batch answers whose rows carry their own success or error


def body_of(response: requests.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


def error_code(response: requests.Response) -> str:
    body = body_of(response)
    return str(body.get("code", "")) if isinstance(body, Mapping) else ""


def _credits_left(response: requests.Response) -> int | None:
    try:
        return int(response.headers["X-RATELIMIT-REMAINING"])
    except (KeyError, ValueError):
        return None


def is_concurrency_limit(response: requests.Response) -> bool:
    """A 429 while credits remain: too many calls in flight, worth a short wait and a retry."""
    left = _credits_left(response)
    return response.status_code == 429 and (left is None or left > 0)


def _retry_worthy(response: requests.Response) -> bool:
    return response.status_code >= 500 or is_concurrency_limit(response)


def _give_back_last_outcome(state: RetryCallState) -> Any:
    assert state.outcome is not None
    return state.outcome.result()  # the last 5xx/429 response, or re-raise the last connection error


class ZohoClient:
    """One connection's HTTP session, access token and `api_domain` (the host the token is valid on)."""

    def __init__(self, settings: ZohoSettings, connection: str, token_store: TokenStore | None = None) -> None:
        self.settings, self.connection, self.token_store = settings, connection, token_store
        self.session = requests.Session()
        if settings.ca_bundle is not None:
            # With trust_env on, REQUESTS_CA_BUNDLE silently overrides `verify`; a configured CA must win.
            self.session.trust_env = False
            self.session.verify = str(settings.ca_bundle)
        self.credits = CreditMeter(settings.credits_reserve, connection)
        self.api_domain: str | None = None
        self.refreshes = 0  # access tokens obtained, for operators and tests
        self._access_token: str | None = None
        self._restore_token()

    def _restore_token(self) -> None:
        """Reuse an access token a previous run obtained while it is still valid (Zoho's last an hour)."""
        stored = self.token_store.load(self.connection) if self.token_store else None
        if (stored and stored.get("token_url") == self.settings.token_url
                and float(stored.get("expires_at") or 0) - time.time() > TOKEN_MARGIN_SECONDS):
            self._access_token, self.api_domain = str(stored["access_token"]), str(stored["api_domain"])

    def _wait(self, state: RetryCallState) -> float:
        settings = self.settings
        backoff = min(settings.retry_max_seconds, settings.retry_initial_seconds * 2 ** (state.attempt_number - 1))
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            retry_after = outcome.result().headers.get("Retry-After", "")
            if retry_after.isdigit():
                return min(settings.retry_max_seconds, max(backoff, float(retry_after)))
        return backoff

    def _retrying(self) -> Retrying:
        return Retrying(stop=stop_after_attempt(self.settings.max_attempts), wait=self._wait,
                        retry=retry_if_exception_type(RETRYABLE_EXCEPTIONS) | retry_if_result(_retry_worthy),
                        retry_error_callback=_give_back_last_outcome, before_sleep=self._log_retry)

    def _log_retry(self, state: RetryCallState) -> None:
        outcome = state.outcome
        assert outcome is not None
        why = type(outcome.exception()).__name__ if outcome.failed else f"HTTP {outcome.result().status_code}"
        path = urlsplit(str(state.args[1])).path if len(state.args) > 1 else "?"  # no query string: no data
        log.warning("zoho %s: %s failed (%s), attempt %d of %d", self.connection, path, why, state.attempt_number,
                    self.settings.max_attempts)

    # -- OAuth ----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Exchange the refresh token for an access token and the `api_domain` it is valid on."""
        settings, url = self.settings, self.settings.token_url
        form = {"refresh_token": settings.refresh_token.get_secret_value(), "client_id": settings.client_id,
                "client_secret": settings.client_secret.get_secret_value(), "grant_type": "refresh_token"}
        try:
            response = self._retrying()(self.session.request, "POST", url, data=form,
                                        timeout=settings.timeout_seconds)
        except requests.RequestException as exc:
            raise TransientError(f"zoho {self.connection}: cannot reach the accounts server {url} "
                                 f"({type(exc).__name__}); check dc/accounts_url and the network") from None
        if response.status_code >= 500:
            raise TransientError(f"zoho {self.connection}: accounts server answered HTTP {response.status_code}")
        body = body_of(response)
        body = body if isinstance(body, Mapping) else {}
        # Zoho answers refusals with HTTP 200 and an `error` key.
        if not {"access_token", "api_domain"} <= set(body):
            reason = body.get("error", f"HTTP {response.status_code}")
            raise AuthenticationError(
                f"zoho {self.connection}: the accounts server {url} refused the refresh token ({reason}); check "
                "client_id, client_secret and refresh_token, and that dc/accounts_url is the data centre where "
                "the refresh token was issued"
            )
        self._access_token = str(body["access_token"])
        self.api_domain = str(body["api_domain"]).rstrip("/")
        self.refreshes += 1
        if self.token_store is not None:
            self.token_store.save(self.connection, {
                "token_url": settings.token_url, "access_token": self._access_token, "api_domain": self.api_domain,
                "expires_at": time.time() + float(body.get("expires_in") or 3600)})
        log.info("zoho %s: access token refreshed (api domain %s)", self.connection, self.api_domain)

    # -- every API call -------------------------------------------------------------------------------
    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
             headers: Mapping[str, str] | None = None) -> requests.Response:
        """`{api_domain}/crm/v8/{path}`; returns 2xx/204/304 answers and 400s that carry per-row `data[]`."""
        self.credits.check()
        if self._access_token is None:
            self.refresh()
        response = self._send(method, path, params, json, headers)
        if response.status_code == 401 and error_code(response) == "INVALID_TOKEN":
            log.info("zoho %s: access token refused; refreshing once and replaying", self.connection)
            self.refresh()
            response = self._send(method, path, params, json, headers)
        self.credits.observe(response.headers)
        self._raise_for_error(method, path, response)
        return response

    def _send(self, method: str, path: str, params: Mapping[str, Any] | None, json: Any,
              headers: Mapping[str, str] | None) -> requests.Response:
        assert self.api_domain is not None
        url = f"{self.api_domain}/crm/{API_VERSION}/{path}"
        call_headers = {**(headers or {}), "Authorization": f"Zoho-oauthtoken {self._access_token}"}
        try:
            return self._retrying()(self.session.request, method, url, params=params, json=json,  # type: ignore[no-any-return]
                                    headers=call_headers, timeout=self.settings.timeout_seconds)
        except requests.RequestException as exc:
            host = urlsplit(url).netloc
            raise TransientError(f"zoho {self.connection}: {type(exc).__name__} talking to {host} after "
                                 f"{self.settings.max_attempts} attempts") from exc

    def _raise_for_error(self, method: str, path: str, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        body = body_of(response)
        if status == 400 and isinstance(body, Mapping) and any(isinstance(body.get(k), list) for k in ROW_KEYS):
            return  # every row of a write failed: the rows say why
        code = error_code(response)
        where = f"zoho {self.connection}: {method} {path.split('?')[0]}"
        message = str(body.get("message", ""))[:200] if isinstance(body, Mapping) else ""
        if status == 429:
            if is_concurrency_limit(response):
                retry_after = response.headers.get("Retry-After", "")
                raise RateLimited(f"{where}: too many concurrent calls ({code})",
                                  float(retry_after) if retry_after.isdigit() else None)
            raise self.credits.exhausted(f"{where}: the org's API credits are spent ({code})")
        if status == 401 or code in AUTH_CODES:
            raise AuthenticationError(f"{where}: refused with {code or status} right after a token refresh; check "
                                      "the OAuth scopes of this connection's refresh token and the user's access")
        if status >= 500 or code in TRANSIENT_CODES:
            raise TransientError(f"{where}: HTTP {status} {code}".rstrip())
        raise ConnectorError(f"{where}: HTTP {status} {code}: {message}".rstrip(": "))

    def close(self) -> None:
        self.session.close()
