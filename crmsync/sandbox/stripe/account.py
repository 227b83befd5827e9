"""One emulated Stripe account: objects by kind, the event log, and list paging.

Every change goes through `insert` / `replace`, which stamp `created` with the sandbox clock and append a
`<object>.<action>` event holding a snapshot (and `previous_attributes` on updates), so the Events API and
webhooks see exactly what the API did. Events older than the retention window (30 days by the sandbox
clock) disappear from the Events API, as at Stripe.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.stripe import objects
from crmsync.sandbox.stripe.errors import invalid_request, no_such
from crmsync.sandbox.stripe.objects import Obj

API_VERSION = "2023-08-16"
EVENT_RETENTION = timedelta(days=30)
MAX_LIST_LIMIT = 100
KINDS = ("customers", "payment_intents", "charges", "invoices", "refunds", "invoiceitems", "events")

# The API request behind the change being made (`{"id": "req_...", "idempotency_key": ...}`), or None
# for changes made "as a user" through the admin API, as Stripe reports dashboard changes.
current_request: ContextVar[Obj | None] = ContextVar("stripe_current_request", default=None)


@dataclass(frozen=True)
class ListQuery:
    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None
    created: Obj | None = None  # {"gte": 1, "lt": 2, ...} or an exact value under "eq"


def created_filter(raw: Any) -> Obj | None:
    """`created=<unix>` or `created[gte|gt|lte|lt]=<unix>` → {"eq"|op: int}."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, dict):
        raw = {"eq": raw}
    result: Obj = {}
    for op, value in raw.items():
        if op not in ("eq", "gt", "gte", "lt", "lte"):
            raise invalid_request(f"Received unknown parameter: created[{op}]", param=f"created[{op}]")
        try:
            result[op] = int(str(value))
        except ValueError:
            raise invalid_request(f"Invalid integer: {value}", param=f"created[{op}]") from None
    return result


def _created_matches(created: int, bounds: Obj) -> bool:
    return all({
        "eq": created == value, "gt": created > value, "gte": created >= value,
        "lt": created < value, "lte": created <= value,
    }[op] for op, value in bounds.items())


class StripeAccount:
    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.event_listeners: list[Callable[[Obj], None]] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tables: dict[str, dict[str, Obj]] = {kind: {} for kind in KINDS}
            self._order: dict[str, int] = {}  # id -> insertion sequence (newest-first tie-break)
            self._sequence = 0

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, kind: str, object_id: str, param: str = "id") -> Obj:
        with self.lock:
            found = self.tables[kind].get(object_id)
            if found is None or (kind == "events" and not self._retained(found)):
                raise no_such(objects.OBJECT_NAMES[kind], object_id, param)
            return found

    def find(self, object_id: str) -> Obj | None:
        kind = objects.kind_of_id(object_id)
        return None if kind is None or kind not in self.tables else self.tables[kind].get(object_id)

    def _retained(self, event: Obj) -> bool:
        return event["created"] >= int((self.clock.now() - EVENT_RETENTION).timestamp())

    def page(self, kind: str, query: ListQuery, url: str, keep: Callable[[Obj], bool] | None = None) -> Obj:
        """A Stripe list: newest first, `limit` items after `starting_after` (or before `ending_before`)."""
        with self.lock:
            rows: Iterable[Obj] = self.tables[kind].values()
            if kind == "events":
                rows = (row for row in rows if self._retained(row))
            if query.created:
                rows = (row for row in rows if _created_matches(row["created"], query.created))
            if keep is not None:
                rows = filter(keep, rows)
            ordered = sorted(rows, key=lambda row: (row["created"], self._order[row["id"]]), reverse=True)
            if query.starting_after is not None:
                start = self._split_at(kind, ordered, query.starting_after, "starting_after")
                chunk, has_more = ordered[start : start + query.limit], start + query.limit < len(ordered)
            elif query.ending_before is not None:
                end = self._split_at(kind, ordered, query.ending_before, "ending_before")
                begin = max(0, end - query.limit)
                chunk, has_more = ordered[begin:end], begin > 0
            else:
                chunk, has_more = ordered[: query.limit], query.limit < len(ordered)
            return {"object": "list", "data": copy.deepcopy(chunk), "has_more": has_more, "url": url}

    def _split_at(self, kind: str, ordered: list[Obj], cursor: str, param: str) -> int:
        """How many rows of `ordered` are newer than the cursor object (which the filters may exclude)."""
        anchor = self.tables[kind].get(cursor)
        if anchor is None:
            raise no_such(objects.OBJECT_NAMES[kind], cursor, param)
        key = (anchor["created"], self._order[cursor])
        newer = 0
        for row in ordered:
            if (row["created"], self._order[row["id"]]) <= key:
                break
            newer += 1
        # starting_after skips the cursor itself when it is in the list; ending_before stops in front of it.
        in_list = newer < len(ordered) and ordered[newer]["id"] == cursor
        return newer + 1 if in_list and param == "starting_after" else newer

    # -- writes ---------------------------------------------------------------------------------------
    def next_id(self, kind: str) -> str:
        with self.lock:
            self._sequence += 1
            return objects.make_id(kind, self._sequence)

    def insert(self, kind: str, build: Callable[[str, int], Obj], event_type: str | None = None) -> Obj:
        with self.lock:
            obj = build(self.next_id(kind), self.now())
            self.tables[kind][obj["id"]] = obj
            self._order[obj["id"]] = self._sequence
            if event_type is not None:
                self.emit(event_type, obj)
            return obj

    def replace(self, kind: str, obj: Obj, changes: Obj, event_type: str | None = None) -> Obj:
        """Apply `changes` to a stored object; emit `event_type` with the previous values of what changed."""
        with self.lock:
            previous = {key: copy.deepcopy(obj.get(key)) for key, value in changes.items() if obj.get(key) != value}
            obj.update(copy.deepcopy(changes))
            if event_type is not None and previous:
                self.emit(event_type, obj, previous)
            return obj

    def remove(self, kind: str, object_id: str) -> Obj:
        with self.lock:
            return self.tables[kind].pop(object_id)

    def emit(self, event_type: str, obj: Obj, previous: Obj | None = None) -> Obj:
        with self.lock:
            self._sequence += 1
            event_id = objects.make_id("events", self._sequence)
            event = objects.event(event_id, self.now(), event_type, copy.deepcopy(obj), previous,
                                  current_request.get(), API_VERSION)
            self.tables["events"][event_id] = event
            self._order[event_id] = self._sequence
        for listener in self.event_listeners:
            listener(event)
        return event
