"""What each system last held for a record, and which fields a new read of it changed.

A source record carries every field at its own modification time, but only the fields that changed since
crmsync last read it (or pushed to it) are news: the others keep their earlier assertion. Stamping them all
with the record's time let an edit of one field in one system re-assert stale values of every other field,
over newer edits made elsewhere. `ExternalRef.seen_values` keeps, per record and system, the canonical values
the system holds (JSON: amounts as text, times as ISO text), and a read asserts only what differs from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmsync.store.types import dumps_json, loads_json

_MISSING = object()


def stored_form(value: Any) -> Any:
    """A value as the JSON column gives it back (store/types.py: amounts as text, times as ISO text)."""
    return loads_json(dumps_json(value))


def same_value(held: Any, value: Any) -> bool:
    """Does `held` (a value as stored, or as just read) say the same as `value`?"""
    if held is _MISSING:
        return False
    if held == value and type(held) is type(value):
        return True
    return stored_form(held) == stored_form(value)


def changed_values(seen: Mapping[str, Any] | None, values: dict[str, Any]) -> dict[str, Any]:
    """The values that differ from what the system was last seen holding (all of them when unknown)."""
    if seen is None:
        return values
    return {name: value for name, value in values.items() if not same_value(seen.get(name, _MISSING), value)}


def next_seen(seen: Mapping[str, Any] | None, values: Mapping[str, Any], cleared: frozenset[str],
              partial: bool) -> Mapping[str, Any]:
    """What the system holds after this read: all of `values` for a whole record, or `values` over what was seen
    for a partial one (a webhook delta says nothing of the fields it leaves out)."""
    if partial and seen:
        held = {**seen, **values}
    elif cleared:
        held = dict(values)
    else:
        return values  # the common case: the record as read, shared (never changed afterwards)
    for name in cleared:
        held.pop(name, None)
    return held
