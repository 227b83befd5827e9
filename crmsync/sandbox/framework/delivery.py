"""Outgoing webhook deliveries of an emulator: a daemon thread sends them one at a time and retries failures.

Vendors differ in what they send (signed batches, one event per request, copies and reordering) and in when
they give up (after N attempts, or after an age); the loop, the claiming, the doubling backoff and the
bookkeeping every delivery shows in the admin API are the same, and live here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

import httpx


@dataclass(kw_only=True)
class DeliveryState:
    """Retry bookkeeping; a vendor's delivery dataclass adds what it sends."""

    first_attempt: float = 0.0
    next_attempt: float = 0.0
    attempts: int = 0
    delivered: bool = False
    dropped: bool = False
    history: list[int | str] = field(default_factory=list)  # status codes or error names, per attempt

    @property
    def waiting(self) -> bool:
        return not (self.delivered or self.dropped)

    def describe(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if not isinstance(value, bytes)}


@dataclass(frozen=True)
class Backoff:
    """Doubling delays from `initial_seconds` up to `max_seconds`; give up after `max_attempts` attempts or
    once the next try would come more than `give_up_after_seconds` after the first."""

    initial_seconds: float
    max_seconds: float
    max_attempts: int | None = None
    give_up_after_seconds: float | None = None

    def after_failure(self, delivery: DeliveryState, now: float) -> None:
        delay = min(self.max_seconds, self.initial_seconds * 2 ** (delivery.attempts - 1))
        delivery.next_attempt = now + delay
        delivery.dropped = (self.max_attempts is not None and delivery.attempts >= self.max_attempts) or (
            self.give_up_after_seconds is not None
            and delivery.next_attempt - delivery.first_attempt > self.give_up_after_seconds)


D = TypeVar("D", bound=DeliveryState)
# Send one delivery with the worker's client: the response, or None when there is nowhere to send it any more.
Sender = Callable[[D, httpx.Client], httpx.Response | None]
# Choose the next due delivery (None: nothing due), called with the worker's lock held.
Picker = Callable[[list[D], float], D | None]


def first_due(deliveries: list[D], now: float) -> D | None:
    return next((d for d in deliveries if d.waiting and d.next_attempt <= now), None)


class DeliveryWorker(Generic[D]):
    def __init__(self, name: str, send: Sender[D], backoff: Backoff, *, pick: Picker[D] | None = None,
                 timeout_seconds: float = 10.0) -> None:
        self.deliveries: list[D] = []
        self.condition = threading.Condition()  # guards `deliveries` and whatever `pick` reads
        self._send, self._backoff, self._pick = send, backoff, pick or first_due
        self._stopping = False
        self._client = httpx.Client(timeout=timeout_seconds)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def enqueue(self, deliveries: Iterable[D]) -> None:
        with self.condition:
            self.deliveries.extend(deliveries)
            self.condition.notify_all()

    def wake(self) -> None:
        """Call after changing what `pick` looks at (with `condition` held or not)."""
        with self.condition:
            self.condition.notify_all()

    def clear(self) -> None:
        with self.condition:
            self.deliveries.clear()

    def _seconds_to_next(self) -> float | None:
        waiting = [d.next_attempt for d in self.deliveries if d.waiting]
        return None if not waiting else max(0.0, min(waiting) - time.monotonic())

    def _run(self) -> None:
        while True:
            with self.condition:
                due = self._pick(self.deliveries, time.monotonic())
                while not self._stopping and due is None:
                    self.condition.wait(timeout=self._seconds_to_next())
                    due = self._pick(self.deliveries, time.monotonic())
                if self._stopping:
                    return
                due.next_attempt = float("inf")  # claimed while it is being sent
            self._deliver(due)

    def _deliver(self, delivery: D) -> None:
        delivery.attempts += 1
        try:
            response = self._send(delivery, self._client)
        except httpx.HTTPError as exc:
            outcome: int | str = type(exc).__name__
        else:
            if response is None:
                delivery.dropped = True
                return
            outcome = response.status_code
        with self.condition:
            delivery.history.append(outcome)
            delivery.delivered = isinstance(outcome, int) and 200 <= outcome < 300
            if not delivery.delivered:
                self._backoff.after_failure(delivery, time.monotonic())

    def close(self) -> None:
        with self.condition:
            self._stopping = True
            self.condition.notify_all()
        self._thread.join(timeout=5)
        self._client.close()
