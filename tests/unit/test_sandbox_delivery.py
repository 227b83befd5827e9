"""The emulators' shared delivery loop: retries with doubling backoff, gives up by attempts or by age,
drops what has nowhere to go, and records each attempt's outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from crmsync.sandbox.framework.delivery import Backoff, DeliveryState, DeliveryWorker


@dataclass
class Note(DeliveryState):
    name: str


def run_until_settled(worker: DeliveryWorker[Note], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while any(d.waiting for d in worker.deliveries) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_failures_are_retried_until_a_2xx_and_every_attempt_is_recorded() -> None:
    answers = {"flaky": [httpx.ConnectError("down"), httpx.Response(503), httpx.Response(204)]}

    def send(note: Note, client: httpx.Client) -> httpx.Response | None:
        answer = answers[note.name].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    worker = DeliveryWorker("test-delivery", send, Backoff(0.01, 0.02, max_attempts=5))
    try:
        worker.enqueue([Note("flaky")])
        run_until_settled(worker)
        [note] = worker.deliveries
        assert (note.delivered, note.attempts, note.history) == (True, 3, ["ConnectError", 503, 204])
    finally:
        worker.close()


def test_giving_up_by_attempts_or_by_age_and_dropping_what_has_no_target() -> None:
    def send(note: Note, client: httpx.Client) -> httpx.Response | None:
        return None if note.name == "orphan" else httpx.Response(500)

    by_attempts = DeliveryWorker("test-attempts", send, Backoff(0.001, 0.002, max_attempts=3))
    # A give-up age of zero: the first retry would already come too late, whatever the machine's load.
    by_age = DeliveryWorker("test-age", send, Backoff(0.001, 0.001, give_up_after_seconds=0.0))
    try:
        by_attempts.enqueue([Note("failing"), Note("orphan")])
        now = time.monotonic()
        by_age.enqueue([Note("failing", first_attempt=now, next_attempt=now)])
        run_until_settled(by_attempts)
        run_until_settled(by_age)
        failing, orphan = by_attempts.deliveries
        assert (failing.dropped, failing.delivered, failing.attempts) == (True, False, 3)
        assert (orphan.dropped, orphan.attempts, orphan.history) == (True, 1, [])
        [aged] = by_age.deliveries
        assert (aged.dropped, aged.attempts, aged.history) == (True, 1, [500])
    finally:
        by_attempts.close()
        by_age.close()


def test_giving_up_by_age_counts_from_the_first_attempt() -> None:
    backoff = Backoff(1.0, 1.0, give_up_after_seconds=2.5)
    note = Note("x", first_attempt=100.0)
    outcomes = []
    for attempts, now in ((1, 100.0), (2, 101.0), (3, 102.0)):
        note.attempts = attempts
        backoff.after_failure(note, now)
        outcomes.append((note.next_attempt, note.dropped))
    # The third retry would come 3 s after the first attempt, past the 2.5 s age.
    assert outcomes == [(101.0, False), (102.0, False), (103.0, True)]


def test_doubling_delays_are_capped() -> None:
    backoff = Backoff(1.0, 5.0)
    note = Note("x")
    for attempts, delay in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)):
        note.attempts = attempts
        backoff.after_failure(note, 100.0)
        assert note.next_attempt == 100.0 + delay and not note.dropped
