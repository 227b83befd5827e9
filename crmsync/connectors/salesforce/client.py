"""OAuth, the HTTP session simple-salesforce runs on, and the SDK-error → connector-error table.

Every SDK call (REST, SFType, Bulk 2.0 pages, composite) goes through `SalesforceHttp.request`, so auth
refresh, retries and the API-quota guard live in one place: the current token is injected on each call, a
401 INVALID_SESSION_ID refreshes once and replays, 5xx/timeouts/dropped connections are retried with
exponential backoff, and `Sforce-Limit-Info` is read from every response.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession, SalesforceOperationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from crmsync.connectors.base import AuthenticationError, ConnectorError, TransientError
from crmsync.connectors.salesforce.quota import ApiUsageMeter
from crmsync.connectors.salesforce.settings import SalesforceSettings
from crmsync.store.tokens import TokenStore

log = logging.getLogger("crmsync.connectors.salesforce")

RETRYABLE_EXCEPTIONS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
# Error codes worth a retry of the whole read: a query locator that expired, a row lock, an overloaded pod.
TRANSIENT_CODES = frozenset({"INVALID_QUERY_LOCATOR", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})


@dataclass(frozen=True)
class OrgIdentity:
    """Who we are logged in as, from the token response's identity URL (`.../id/<orgId>/<userId>`)."""

    org_id: str
    user_id: str
    instance_url: str


def first_error(content: Any) -> tuple[str, str]:
    """(errorCode, message) of a Salesforce error body (a JSON array), or ("", text)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))[:300]
    return "", str(content)[:300]


def org_time_of(response: requests.Response) -> datetime | None:
    """A moment at or before the org received this request, on the org's clock: its `Date` (whole seconds) less
    the round trip, floored to the second (SOQL literals are whole seconds). None without a usable Date."""
    try:
        answered = parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError):
        return None
    if answered.tzinfo is None:
        return None
    return (answered - response.elapsed).replace(microsecond=0)


def _is_retryable_status(response: requests.Response) -> bool:
    # 429 is not Salesforce's own limit signal (that is 403 REQUEST_LIMIT_EXCEEDED), but gateways and proxies
    # in front of an org answer it with Retry-After; it is worth waiting for, like a 5xx.
    return response.status_code >= 500 or response.status_code == 429


def retry_after_seconds(response: requests.Response) -> float | None:
    """Retry-After in seconds (the delta form; an HTTP date is rare from these APIs and ignored)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _give_back_last_outcome(state: RetryCallState) -> Any:
    assert state.outcome is not None
    return state.outcome.result()  # the last 5xx response, or re-raise the last connection error


class SalesforceHttp(requests.Session):
    """The `requests.Session` handed to simple-salesforce; also performs the OAuth token calls."""

    def __init__(self, settings: SalesforceSettings, connection: str, token_store: TokenStore | None = None) -> None:
        super().__init__()
        if settings.ca_bundle is not None:
            # With trust_env on, REQUESTS_CA_BUNDLE silently overrides `verify`; a configured CA must win.
            self.trust_env = False
            self.verify = str(settings.ca_bundle)
        self.settings, self.connection = settings, connection
        self.usage = ApiUsageMeter(settings.quota_reserve, connection)
        self.identity: OrgIdentity | None = None
        self.logins = 0  # token grants made, for operators and tests
        self.token_store = token_store
        self._access_token: str | None = None
        self._api_prefix: str | None = None
        self._answered = threading.local()  # per thread: the org time of the last API call it made
        self._restore_token()

    def _restore_token(self) -> None:
        """Reuse the token a previous run obtained (a 401 still refreshes it once)."""
        stored = self.token_store.load(self.connection) if self.token_store else None
        if not stored or stored.get("token_url") != self.settings.token_url:
            return
        self._adopt(stored)

    def _retrying(self) -> Retrying:
        settings = self.settings
        return Retrying(
            stop=stop_after_attempt(settings.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(RETRYABLE_EXCEPTIONS) | retry_if_result(_is_retryable_status),
            retry_error_callback=_give_back_last_outcome,
            before_sleep=self._log_retry,
        )

    def _wait(self, state: RetryCallState) -> float:
        """The server's Retry-After when it sent one (capped), else exponential backoff."""
        settings = self.settings
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            asked = retry_after_seconds(outcome.result())
            if asked is not None:
                return min(asked, settings.retry_max_seconds)
        backoff = wait_exponential(multiplier=settings.retry_initial_seconds, max=settings.retry_max_seconds)
        return float(backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        outcome = state.outcome
        assert outcome is not None
        why = type(outcome.exception()).__name__ if outcome.failed else f"HTTP {outcome.result().status_code}"
        wait = state.next_action.sleep if state.next_action else 0.0
        path = urlsplit(str(state.args[1])).path if len(state.args) > 1 else "?"  # no query string: no data
        log.warning("salesforce %s: %s failed (%s), attempt %d of %d, retrying in %.2fs", self.connection, path, why,
                    state.attempt_number, self.settings.max_attempts, wait)

    # -- OAuth ----------------------------------------------------------------------------------------
    def _grant_form(self) -> dict[str, str]:
        settings = self.settings
        grant = settings.effective_grant
        form = {"grant_type": grant, "client_id": settings.client_id,
                "client_secret": settings.client_secret.get_secret_value()}
        if grant == "password":
            assert settings.username is not None and settings.password is not None
            token = settings.security_token.get_secret_value() if settings.security_token else ""
            form |= {"username": settings.username, "password": settings.password.get_secret_value() + token}
        elif grant == "refresh_token":
            assert settings.refresh_token is not None
            form["refresh_token"] = settings.refresh_token.get_secret_value()
        return form

    def login(self) -> OrgIdentity:
        """Run the configured grant against the token endpoint; AuthenticationError when refused."""
        settings, grant = self.settings, self.settings.effective_grant
        try:
            response = self._retrying()(super().request, "POST", settings.token_url, data=self._grant_form(),
                                        headers={"Accept": "application/json"}, timeout=settings.timeout_seconds)
        except requests.RequestException as exc:
            raise TransientError(f"salesforce {self.connection}: cannot reach the token endpoint {settings.token_url} "
                                 f"({type(exc).__name__}); check login_url and the network") from None
        if response.status_code >= 500:
            raise TransientError(f"salesforce {self.connection}: token endpoint answered HTTP {response.status_code}")
        body = _json_or_empty(response)
        body = body if isinstance(body, dict) else {}
        if response.status_code != 200 or not {"access_token", "instance_url"} <= set(body):
            reason = f"{body.get('error', response.status_code)}: {body.get('error_description', '')}".strip(": ")
            raise AuthenticationError(
                f"salesforce {self.connection}: the {grant} login was refused ({reason}); check client_id, "
                f"client_secret and the {'refresh_token' if grant == 'refresh_token' else 'username/password'} "
                f"of this connection, and that the connected app allows the {grant} flow"
            )
        identity = self._adopt(body)
        self.logins += 1
        if self.token_store is not None:
            self.token_store.save(self.connection, {
                "token_url": settings.token_url, "access_token": body["access_token"],
                "instance_url": body["instance_url"], "id": body.get("id", "")})
        log.info("salesforce %s: logged in with the %s grant (org %s)", self.connection, grant, identity.org_id)
        return identity

    def _adopt(self, token: dict[str, Any]) -> OrgIdentity:
        *_, org_id, user_id = str(token.get("id", "//")).rstrip("/").split("/")
        instance_url = str(token["instance_url"]).rstrip("/")
        self.identity = OrgIdentity(org_id, user_id, instance_url)
        self._access_token = str(token["access_token"])
        self._api_prefix = instance_url + "/services/"
        return self.identity

    @property
    def access_token(self) -> str:
        if self._access_token is None:
            self.login()
        assert self._access_token is not None
        return self._access_token

    # -- every SDK call -------------------------------------------------------------------------------
    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self._api_prefix is None or not str(url).startswith(self._api_prefix):
            return super().request(method, url, *args, **kwargs)
        self.usage.check()  # stop before a call that would eat into the reserve
        kwargs.setdefault("timeout", self.settings.timeout_seconds)
        response = self._send(method, url, args, kwargs)
        if response.status_code == 401 and first_error(_json_or_empty(response))[0] == "INVALID_SESSION_ID":
            log.info("salesforce %s: session expired; refreshing the token once and replaying", self.connection)
            self.login()
            response = self._send(method, url, args, kwargs)
        self.usage.observe(response.headers.get("Sforce-Limit-Info"))
        self._answered.at = org_time_of(response) if response.status_code < 300 else None
        return response

    def org_time(self) -> datetime | None:
        """When the org ran the last API call this thread made (see `org_time_of`), if it said."""
        return getattr(self._answered, "at", None)

    def _send(self, method: str | bytes, url: str | bytes, args: tuple[Any, ...], kwargs: dict[str, Any]
              ) -> requests.Response:
        # The SDK keeps the token it was built with; the current one always wins.
        headers = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {self.access_token}"}
        call = {**kwargs, "headers": headers}
        return self._retrying()(super().request, method, url, *args, **call)  # type: ignore[no-any-return]


def _json_or_empty(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


class SalesforceClient:
    """A logged-in simple-salesforce client (built lazily) with a per-connector describe cache."""

    def __init__(self, settings: SalesforceSettings, connection: str, token_store: TokenStore | None = None) -> None:
        self.settings, self.connection = settings, connection
        self.http = SalesforceHttp(settings, connection, token_store)
        self._sf: Salesforce | None = None
        self._describes: dict[str, dict[str, Any]] = {}

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            identity = self.http.identity or self.http.login()
            # object_pairs_hook=None: plain dicts from json's C decoder. The SDK's default, OrderedDict, sends every
            # JSON object through a Python call, and decoding was the largest cost of reading a page.
            self._sf = Salesforce(instance_url=identity.instance_url, session_id=self.http.access_token,
                                  version=self.settings.api_version, session=self.http, object_pairs_hook=None)
        return self._sf

    @property
    def identity(self) -> OrgIdentity:
        _ = self.sf
        assert self.http.identity is not None
        return self.http.identity

    def describe(self, object_name: str) -> dict[str, Any]:
        if object_name not in self._describes:
            with self.errors(f"describing {object_name}"):
                self._describes[object_name] = dict(getattr(self.sf, object_name).describe())
        return self._describes[object_name]

    def rest(self, path: str, method: str = "GET", **kwargs: Any) -> Any:
        with self.errors(f"calling {method} {path}"):
            return self.sf.restful(path, method=method, **kwargs)

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Translate SDK and transport exceptions into the connector's error branches (by status/code)."""
        where = f"salesforce {self.connection}: {doing}"
        try:
            yield
        except ConnectorError:
            raise
        except SalesforceExpiredSession as exc:
            raise AuthenticationError(f"{where}: the session was refused again right after a token refresh; "
                                      "check the connected app's session policies and the user's API access") from exc
        except SalesforceError as exc:
            code, message = first_error(exc.content)
            if exc.status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
                raise self.http.usage.exhausted(f"{where}: the org refused the call ({code})") from exc
            if exc.status >= 500 or code in TRANSIENT_CODES:
                raise TransientError(f"{where}: HTTP {exc.status} {code} {message}".rstrip()) from exc
            raise ConnectorError(f"{where}: HTTP {exc.status} {code}: {message}") from exc
        except SalesforceOperationError as exc:
            raise ConnectorError(f"{where}: {exc}") from exc
        except requests.RequestException as exc:
            host = urlsplit(self.http.identity.instance_url).netloc if self.http.identity else "?"
            raise TransientError(f"{where}: {type(exc).__name__} talking to {host} after "
                                 f"{self.settings.max_attempts} attempts") from exc

    def close(self) -> None:
        self.http.close()
