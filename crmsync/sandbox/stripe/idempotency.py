"""`Idempotency-Key` on POST: the first result is replayed for 24 hours (sandbox clock), other params are refused.

Stripe saves a result only once the endpoint has started executing: authentication failures, rate limits
and injected faults never reach this store, and neither do parameter errors raised before any change
(`saves` decides). A replay answers the stored status and body with `Idempotent-Replayed: true`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.stripe.errors import idempotency_error, invalid_request

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResult:
    fingerprint: str
    status: int
    body: Any
    request_id: str
    stored_at: float


def fingerprint(method: str, path: str, params: Any) -> str:
    canonical = json.dumps([method.upper(), path, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def saves(status: int) -> bool:
    """Successes and card declines happened (a charge exists); other errors changed nothing."""
    return status < 400 or status == 402


class IdempotencyStore:
    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._results: dict[str, StoredResult] = {}
        # One request at a time per key: a concurrent retry waits for the first instead of running twice.
        self._key_locks: dict[str, threading.Lock] = {}

    def key_lock(self, key: str) -> threading.Lock:
        if len(key) > MAX_KEY_LENGTH:
            raise invalid_request(f"Idempotency keys can be at most {MAX_KEY_LENGTH} characters long.",
                                  param="Idempotency-Key")
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def lookup(self, key: str, request_fingerprint: str) -> StoredResult | None:
        """The stored result for a replay; 400 idempotency_error when the parameters differ."""
        with self._lock:
            stored = self._results.get(key)
            if stored is not None and self.clock.now().timestamp() - stored.stored_at > KEY_LIFETIME.total_seconds():
                del self._results[key]
                stored = None
        if stored is not None and stored.fingerprint != request_fingerprint:
            raise idempotency_error(key)
        return stored

    def save(self, key: str, request_fingerprint: str, status: int, body: Any, request_id: str) -> None:
        if not saves(status):
            return
        with self._lock:
            self._results[key] = StoredResult(request_fingerprint, status, body, request_id,
                                              self.clock.now().timestamp())

    def reset(self) -> None:
        with self._lock:
            self._results.clear()
            self._key_locks.clear()
