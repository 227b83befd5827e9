"""The stream cursor: inclusive Modified_Time watermark plus the ids delivered at exactly that second, and the
same pair for the recycle bin.

Zoho keeps whole seconds and `If-Modified-Since` means strictly after, so a read asks for "after watermark
minus one second" (inclusive), then drops the ids it already delivered at the watermark: records sharing the
boundary second are never lost nor delivered twice. Watermarks only move forward.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crmsync.connectors.base import ConnectorError


def parse_zoho_datetime(text: str) -> datetime:
    """`2024-01-01T10:00:00+05:30` (Zoho) or our own ISO cursor → aware UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass
class Watermark:
    moment: datetime | None = None
    ids: set[str] = field(default_factory=set)

    def delivered(self, moment: datetime, record_id: str) -> bool:
        return moment == self.moment and record_id in self.ids

    def advance(self, moment: datetime, record_id: str) -> None:
        if self.moment is None or moment > self.moment:
            self.moment, self.ids = moment, {record_id}
        elif moment == self.moment:
            self.ids.add(record_id)

    def copy(self) -> Watermark:
        return Watermark(self.moment, set(self.ids))

    def as_dict(self) -> dict[str, Any]:
        return {"at": None if self.moment is None else self.moment.isoformat(), "ids": sorted(self.ids)}

    @classmethod
    def from_dict(cls, value: Any) -> Watermark:
        if not isinstance(value, Mapping) or value.get("at") is None:
            return cls()
        return cls(parse_zoho_datetime(str(value["at"])), {str(i) for i in value.get("ids", [])})


@dataclass
class ZohoCursor:
    modified: Watermark = field(default_factory=Watermark)
    deleted: Watermark = field(default_factory=Watermark)

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any] | None, stream: str) -> ZohoCursor:
        if not cursor:
            return cls()
        try:
            return cls(Watermark.from_dict(cursor.get("modified")), Watermark.from_dict(cursor.get("deleted")))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConnectorError(f"the checkpoint of Zoho stream {stream} is not a Zoho cursor ({exc}); reset the "
                                 "stream's checkpoint to re-read it") from None

    def copy(self) -> ZohoCursor:
        return ZohoCursor(self.modified.copy(), self.deleted.copy())

    def as_cursor(self) -> dict[str, Any]:
        return {"modified": self.modified.as_dict(), "deleted": self.deleted.as_dict()}
