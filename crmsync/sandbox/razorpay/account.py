"""One emulated Razorpay account: customers, orders, payments and refunds, lists and webhook events.

Entities are stamped `created_at` (unix seconds) by the sandbox clock. Lists are newest first and page with
`from`/`to` (inclusive unix seconds), `count` (1..100, default 10) and `skip`; there is no has-more flag.
`skip` is capped (option `max_skip`), which is why a connector must split busy windows.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.razorpay.errors import bad_request, no_such_id

Entity = dict[str, Any]
PREFIXES = {"customers": "cust", "orders": "order", "payments": "pay", "refunds": "rfnd", "events": "evt"}
ENTITY_NAMES = {"customers": "customer", "orders": "order", "payments": "payment", "refunds": "refund"}
MAX_COUNT = 100
DEFAULT_MAX_SKIP = 10_000
ACCOUNT_ID = "acc_SBX0000000001"


def int_param(params: dict[str, Any], name: str, default: int | None = None, minimum: int = 0,
              maximum: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise bad_request(f"The {name} must be an integer.", name) from None
    if value < minimum or (maximum is not None and value > maximum):
        limit = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise bad_request(f"The {name} must be {limit}.", name)
    return value


def notes_param(raw: Any) -> Any:
    """Razorpay keeps notes as an object, and answers `[]` when there are none (as its SDK mocks show)."""
    if raw in (None, "", [], {}):
        return []
    if not isinstance(raw, dict) or len(raw) > 15:
        raise bad_request("notes should be an object of at most 15 key-value pairs", "notes")
    return {str(key): str(value)[:256] for key, value in raw.items()}


class RazorpayAccount:
    def __init__(self, clock: SandboxClock, max_skip: int = DEFAULT_MAX_SKIP) -> None:
        self.clock = clock
        self.max_skip = max_skip
        self.lock = threading.RLock()
        self.event_listeners: list[Callable[[Entity], None]] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tables: dict[str, dict[str, Entity]] = {kind: {} for kind in ENTITY_NAMES}
            self._order: dict[str, int] = {}
            self._sequence = 0

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def next_id(self, kind: str) -> str:
        with self.lock:
            self._sequence += 1
            return f"{PREFIXES[kind]}_SBX{self._sequence:010d}"

    def insert(self, kind: str, values: Entity) -> Entity:
        with self.lock:
            entity = {"id": self.next_id(kind), "entity": ENTITY_NAMES[kind], **values, "created_at": self.now()}
            self.tables[kind][entity["id"]] = entity
            self._order[entity["id"]] = self._sequence
            return entity

    def get(self, kind: str, entity_id: str) -> Entity:
        with self.lock:
            found = self.tables[kind].get(entity_id)
            if found is None:
                raise no_such_id()
            return found

    def collection(self, kind: str, params: dict[str, Any], keep: Callable[[Entity], bool] | None = None) -> Entity:
        start = int_param(params, "from")
        end = int_param(params, "to")
        count = int_param(params, "count", default=10, minimum=1, maximum=MAX_COUNT)
        skip = int_param(params, "skip", default=0)
        assert count is not None and skip is not None
        if skip + count > self.max_skip:
            raise bad_request(f"skip + count must not exceed {self.max_skip}; narrow the from/to window", "skip")
        with self.lock:
            rows = [row for row in self.tables[kind].values()
                    if (start is None or row["created_at"] >= start) and (end is None or row["created_at"] <= end)
                    and (keep is None or keep(row))]
            rows.sort(key=lambda row: (row["created_at"], self._order[row["id"]]), reverse=True)
            items = copy.deepcopy(rows[skip : skip + count])
        return {"entity": "collection", "count": len(items), "items": items}

    def emit(self, event: str, **entities: Entity) -> None:
        """A webhook event: `payload.<name>.entity` for each entity, snapshots taken now."""
        body = {"entity": "event", "account_id": ACCOUNT_ID, "event": event, "contains": list(entities),
                "payload": {name: {"entity": copy.deepcopy(entity)} for name, entity in entities.items()},
                "created_at": self.now()}
        for listener in self.event_listeners:
            listener(body)
