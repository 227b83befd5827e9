"""Token check, API credits and concurrency for every `/api/<dc>/crm/v8/...` call.

- No `Authorization: Zoho-oauthtoken <token>` → 401 AUTHENTICATION_FAILURE; an unknown or expired token, or
  one issued by another data centre's accounts server → 401 INVALID_TOKEN. Neither costs a credit.
- Credits: a rolling 24 h allowance per org (sandbox clock). A spent allowance → 429 TOO_MANY_REQUESTS.
  Every answer carries `X-RATELIMIT-LIMIT`, `X-RATELIMIT-REMAINING` and `X-RATELIMIT-RESET` (epoch
  milliseconds when the window rolls); the header names follow Zoho's documentation, the reset value's
  shape is this emulator's choice.
- Concurrency: more than `concurrency_limit` calls in flight for one org → 429 TOO_MANY_REQUESTS with
  `Retry-After` (and the credits headers, whose REMAINING is then above 0: that is how a client tells
  "slow down" from "allowance spent").
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.zoho.errors import error_body

if TYPE_CHECKING:
    from crmsync.sandbox.zoho.org import ZohoSandbox

DEFAULT_DAILY_CREDITS = 50_000
DEFAULT_CONCURRENCY_LIMIT = 10
_API_PATH = re.compile(r"^/api/([a-z.]+)/crm/v8(?:/|$)")
ROLLING_WINDOW = timedelta(days=1)


class ApiCredits:
    """Credits left in the org's rolling day; `consume` refuses once the allowance is spent."""

    def __init__(self, clock: SandboxClock, daily_limit: int = DEFAULT_DAILY_CREDITS) -> None:
        self.clock, self._configured = clock, daily_limit
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.daily_limit, self.used, self.window_start = self._configured, 0, self.clock.now()

    def _roll(self) -> None:
        if self.clock.now() - self.window_start >= ROLLING_WINDOW:
            self.used, self.window_start = 0, self.clock.now()

    def consume(self, cost: int = 1) -> bool:
        with self._lock:
            self._roll()
            if self.used + cost > self.daily_limit:
                return False
            self.used += cost
            return True

    def charge(self, extra: int) -> None:
        """Add the cost an endpoint only knows after parsing (COQL by LIMIT), never beyond the allowance."""
        with self._lock:
            self.used = min(self.daily_limit, self.used + max(0, extra))

    def configure(self, daily_limit: int | None, used: int | None) -> dict[str, Any]:
        with self._lock:
            self._roll()
            if daily_limit is not None:
                self.daily_limit = daily_limit
            if used is not None:
                self.used = used
            return {"daily_limit": self.daily_limit, "used": self.used}

    @property
    def reset_at(self) -> datetime:
        return self.window_start + ROLLING_WINDOW

    def headers(self) -> list[tuple[bytes, bytes]]:
        with self._lock:
            remaining = max(0, self.daily_limit - self.used)
            values = (self.daily_limit, remaining, int(self.reset_at.timestamp() * 1000))
        names = (b"x-ratelimit-limit", b"x-ratelimit-remaining", b"x-ratelimit-reset")
        return [(name, str(value).encode()) for name, value in zip(names, values, strict=True)]


class Concurrency:
    def __init__(self, limit: int = DEFAULT_CONCURRENCY_LIMIT) -> None:
        self.limit, self.in_flight = limit, 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.in_flight >= self.limit:
                return False
            self.in_flight += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1


async def send_json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode()
    base = [(b"content-type", b"application/json;charset=UTF-8"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": base + headers})
    await send({"type": "http.response.body", "body": payload})


class ZohoGate:
    def __init__(self, app: ASGIApp, sandbox: ZohoSandbox) -> None:
        self.app, self.sandbox = app, sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _API_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        org = self.sandbox.orgs.get(match.group(1))
        if org is None:
            body = error_body("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")
            await send_json(send, 404, body, [])
            return
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = authorization.partition(" ")
        if scheme != "Zoho-oauthtoken" or not token.strip():
            await send_json(send, 401, error_body("AUTHENTICATION_FAILURE", "Authentication failed"), [])
            return
        if self.sandbox.accounts.dc_of(token.strip()) != org.dc.code:
            await send_json(send, 401, error_body("INVALID_TOKEN", "invalid oauth token"), [])
            return
        if not org.concurrency.acquire():
            body = error_body("TOO_MANY_REQUESTS", "concurrency limit exceeded",
                              {"limit": org.concurrency.limit})
            await send_json(send, 429, body, [*org.credits.headers(), (b"retry-after", b"1")])
            return
        try:
            if not org.credits.consume():
                body = error_body("TOO_MANY_REQUESTS", "API credits exhausted for the day",
                                  {"limit": org.credits.daily_limit})
                await send_json(send, 429, body, org.credits.headers())
                return

            async def send_with_credits(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), *org.credits.headers()]}
                await send(message)

            await self.app(scope, receive, send_with_credits)
        finally:
            org.concurrency.release()
