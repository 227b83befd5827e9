"""The stream cursor: an inclusive modified-time watermark, the ids delivered at exactly that instant, and
(once more than a search can return share one instant) an id floor within it.

- `modified_ms` + `ids`: everything modified before the watermark is delivered, and at the watermark the
  listed ids are; reads ask `modified >= watermark` and skip those ids (a strict `>` loses siblings).
- `id_after`: every record at the watermark with an id up to this one is delivered; set while reading one
  instant in id order, which is how a read passes HubSpot's 10,000-result search cap.
- `list_after` / `high_water_ms` / `listed_max_id`: a first load pages the list endpoint, then continues
  incrementally from the newest modification time that existed when it started.
- `archived_ms` + `archived_ids`: the same inclusive watermark over the archived (deleted) listing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crmsync.connectors.base import ConnectorError


def parse_hubspot_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass
class StreamCursor:
    phase: str = "backfill"  # backfill (list paging) | incremental (search)
    list_after: str | None = None
    high_water_ms: int | None = None
    listed_max_id: int | None = None
    modified_ms: int | None = None
    ids: set[int] = field(default_factory=set)
    id_after: int | None = None
    archived_ms: int | None = None
    archived_ids: set[int] = field(default_factory=set)

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any] | None, stream: str) -> StreamCursor:
        if not cursor:
            return cls()
        try:
            return cls(
                phase=str(cursor.get("phase", "incremental")), list_after=cursor.get("list_after"),
                high_water_ms=_optional_int(cursor.get("high_water_ms")),
                listed_max_id=_optional_int(cursor.get("listed_max_id")),
                modified_ms=_optional_int(cursor.get("modified_ms")), ids={int(i) for i in cursor.get("ids", [])},
                id_after=_optional_int(cursor.get("id_after")), archived_ms=_optional_int(cursor.get("archived_ms")),
                archived_ids={int(i) for i in cursor.get("archived_ids", [])},
            )
        except (TypeError, ValueError) as exc:
            raise ConnectorError(f"the checkpoint of HubSpot stream {stream} is not a HubSpot cursor ({exc}); reset "
                                 "the stream's checkpoint to re-read it") from None

    def delivered(self, modified_ms: int, record_id: int) -> bool:
        return modified_ms == self.modified_ms and (
            record_id in self.ids or (self.id_after is not None and record_id <= self.id_after))

    def advance(self, modified_ms: int, record_id: int) -> None:
        if self.modified_ms is None or modified_ms > self.modified_ms:
            self.modified_ms, self.ids, self.id_after = modified_ms, {record_id}, None
        elif modified_ms == self.modified_ms:
            self.ids.add(record_id)

    def raise_id_floor(self, record_id: int) -> None:
        """Every record at the watermark with an id up to `record_id` is delivered (read in id order)."""
        self.id_after = record_id if self.id_after is None else max(self.id_after, record_id)
        self.ids = {i for i in self.ids if i > self.id_after}

    def archived_seen(self, archived_ms: int, record_id: int) -> bool:
        return archived_ms == self.archived_ms and record_id in self.archived_ids

    def advance_archived(self, archived_ms: int, record_id: int) -> None:
        if self.archived_ms is None or archived_ms > self.archived_ms:
            self.archived_ms, self.archived_ids = archived_ms, {record_id}
        elif archived_ms == self.archived_ms:
            self.archived_ids.add(record_id)

    def start_incremental(self) -> None:
        """The list backfill is done: continue from the newest change that existed when it began.

        Records stamped with exactly that instant were all listed (up to the highest id listed), so the
        incremental read starts past them instead of delivering them twice; a record created meanwhile has
        a higher id or a later stamp and is still read.
        """
        self.phase, self.list_after = "incremental", None
        if self.high_water_ms is not None and (self.modified_ms is None or self.high_water_ms > self.modified_ms):
            self.modified_ms, self.ids = self.high_water_ms, set()
            self.id_after = self.listed_max_id
        if self.archived_ms is None:
            self.archived_ms = self.high_water_ms or 0

    def as_cursor(self) -> dict[str, Any]:
        return {"phase": self.phase, "list_after": self.list_after, "high_water_ms": self.high_water_ms,
                "listed_max_id": self.listed_max_id,
                "modified_ms": self.modified_ms, "ids": sorted(self.ids), "id_after": self.id_after,
                "archived_ms": self.archived_ms, "archived_ids": sorted(self.archived_ids)}


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
