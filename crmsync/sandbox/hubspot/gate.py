"""Authentication and rate limits in front of `/crm/...`, with HubSpot's headers and 429 bodies.

- the ten-second rolling window (`X-HubSpot-RateLimit-Max` per `-Interval-Milliseconds`) and a secondly
  share of it, per app;
- the daily allowance (sandbox-clock days; `-Daily`/`-Daily-Remaining`, sent for private apps only);
- search's own per-second limit, with no rate-limit headers on search responses.
Windows run on the monotonic wall clock: a frozen sandbox clock must not freeze the limits too.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.hubspot.auth import TokenCheck, TokenService
from crmsync.sandbox.hubspot.errors import error_body


@dataclass
class RateLimits:
    per_interval: int = 190
    interval_seconds: float = 10.0
    daily: int = 1_000_000
    search_per_second: int = 5


class RateLimiter:
    def __init__(self, clock: SandboxClock, limits: RateLimits) -> None:
        self.clock, self._configured = clock, limits
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.limits = RateLimits(**vars(self._configured))
            self._calls: deque[float] = deque()
            self._searches: deque[float] = deque()
            self.daily_used, self._day = 0, self.clock.now().date()
            self.rejected = 0

    def configure(self, **changes: Any) -> dict[str, Any]:
        with self._lock:
            for name, value in changes.items():
                if value is not None:
                    setattr(self.limits, name, type(getattr(self.limits, name))(value))
            return self.describe()

    def describe(self) -> dict[str, Any]:
        return {**vars(self.limits), "daily_used": self.daily_used, "rejected": self.rejected}

    def set_daily(self, limit: int | None, used: int | None) -> dict[str, Any]:
        with self._lock:
            self._roll_day()
            if limit is not None:
                self.limits.daily = limit
            if used is not None:
                self.daily_used = used
            return {"daily_limit": self.limits.daily, "used": self.daily_used}

    def _roll_day(self) -> None:
        today = self.clock.now().date()
        if today != self._day:
            self._day, self.daily_used = today, 0

    @staticmethod
    def _trim(window: deque[float], now: float, seconds: float) -> None:
        while window and now - window[0] >= seconds:
            window.popleft()

    def admit(self, search: bool) -> tuple[str | None, dict[str, str]]:
        """(policy that refused the call or None, rate-limit headers for the response)."""
        with self._lock:
            now, limits = time.monotonic(), self.limits
            self._roll_day()
            if self.daily_used >= limits.daily:
                self.rejected += 1
                return "DAILY", {}
            self._trim(self._calls, now, limits.interval_seconds)
            self._trim(self._searches, now, 1.0)
            if search:
                if len(self._searches) >= limits.search_per_second:
                    self.rejected += 1
                    return "SECONDLY", {}
                self._searches.append(now)
                self.daily_used += 1
                return None, {}
            secondly = max(1, limits.per_interval // 10)
            recent = sum(1 for stamp in self._calls if now - stamp < 1.0)
            if len(self._calls) >= limits.per_interval:
                self.rejected += 1
                return "TEN_SECONDLY_ROLLING", {}
            self._calls.append(now)
            self.daily_used += 1
            return None, {
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(limits.interval_seconds * 1000)),
                "X-HubSpot-RateLimit-Max": str(limits.per_interval),
                "X-HubSpot-RateLimit-Remaining": str(limits.per_interval - len(self._calls)),
                "X-HubSpot-RateLimit-Secondly": str(secondly),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, secondly - recent - 1)),
                "X-HubSpot-RateLimit-Daily": str(limits.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(limits.daily - self.daily_used),
            }


RATE_MESSAGES = {"DAILY": "You have reached your daily limit.",
                 "SECONDLY": "You have reached your secondly limit.",
                 "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit."}


def rate_limit_body(policy: str) -> dict[str, Any]:
    return error_body("RATE_LIMITS", RATE_MESSAGES[policy], errorType="RATE_LIMIT", policyName=policy,
                      groupName="publicapi:search" if policy == "SECONDLY" else "publicapi")


async def _send_json(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json;charset=utf-8"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class HubSpotGate:
    def __init__(self, app: ASGIApp, tokens: TokenService, limiter: RateLimiter) -> None:
        self.app, self.tokens, self.limiter = app, tokens, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/crm/"):
            await self.app(scope, receive, send)
            return
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = authorization.partition(" ")
        state = self.tokens.check(token.strip()) if scheme.lower() == "bearer" else TokenCheck.INVALID
        if state != TokenCheck.VALID:
            expired = state == TokenCheck.EXPIRED
            message = ("The OAuth token used to make this call expired." if expired else
                       "Authentication credentials not found or not valid. This API supports OAuth 2.0 and "
                       "private app access tokens.")
            body = error_body("EXPIRED_AUTHENTICATION" if expired else "INVALID_AUTHENTICATION", message)
            await _send_json(send, 401, body, {})
            return
        search = scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/search")
        policy, headers = self.limiter.admit(search)
        if self.tokens.is_oauth(token.strip()):  # HubSpot sends no daily headers for OAuth-app traffic
            headers = {k: v for k, v in headers.items() if "Daily" not in k}
        if policy is not None:
            await _send_json(send, 429, rate_limit_body(policy), headers)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
