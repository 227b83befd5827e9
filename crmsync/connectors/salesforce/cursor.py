"""The stream cursor: an inclusive SystemModstamp watermark plus the ids already delivered at exactly that instant,
and the org's time when the read that produced it ran.

Reads use `SystemModstamp >= watermark`, so records sharing the boundary timestamp are never lost (a strict `>`
would drop same-millisecond siblings), and the ids in `last_ids` are not delivered twice. The watermark only
moves forward, so a lookback re-read never drags the checkpoint back.

The lookback that catches late-visible commits reaches back from `queried_at` (when the org ran the last
complete read), not from the watermark (the last change): anchored to the last change, every pass after a quiet
spell re-read the same unchanged rows forever. A read that ran at Q has seen everything committed before Q,
except commits still in flight, whose SystemModstamp is at most `lookback` before Q; so the next read starts at
max(watermark, Q) - lookback and, once the org has been quiet for a lookback, reads nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crmsync.connectors.base import ConnectorError


def parse_salesforce_datetime(text: str) -> datetime:
    """`2024-01-01T12:34:56.000+0000` (REST), `...Z` (Bulk CSV, SOAP) or our own ISO cursor → aware UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def rest_datetime_text(moment: datetime) -> str:
    """The REST API's own rendering, so Bulk and SOAP values read the same as REST ones."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def whole_second_ceiling(moment: datetime) -> datetime:
    """SOQL datetime literals carry whole seconds; round an exclusive upper bound up, then filter exactly."""
    floored = moment.replace(microsecond=0)
    return floored if floored == moment else floored + timedelta(seconds=1)


@dataclass
class Watermark:
    """Everything with (SystemModstamp, Id) at or before this point has been delivered."""

    modstamp: datetime | None = None
    # Delivered ids whose SystemModstamp == modstamp, in delivery order: a dict, so the cursor each page carries
    # is written without sorting what can be tens of thousands of ids sharing one instant (a bulk load).
    ids: dict[str, None] = field(default_factory=dict)
    # The org's time when the last complete read ran; set by the last page of a read that reached the present.
    queried_at: datetime | None = None

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any] | None, stream: str) -> Watermark:
        if not cursor or cursor.get("modstamp") is None:
            return cls()
        try:
            ids = dict.fromkeys(str(i) for i in cursor.get("last_ids", []))
            queried_at = cursor.get("queried_at")
            return cls(parse_salesforce_datetime(str(cursor["modstamp"])), ids,
                       parse_salesforce_datetime(str(queried_at)) if queried_at else None)
        except (TypeError, ValueError) as exc:
            raise ConnectorError(f"the checkpoint of Salesforce stream {stream} is not a Salesforce cursor "
                                 f"({exc}); reset the stream's checkpoint to re-read it") from None

    def copy(self) -> Watermark:
        return Watermark(self.modstamp, dict(self.ids), self.queried_at)

    def lookback_start(self, lookback: timedelta) -> datetime:
        """Where an incremental read from here starts: `lookback` before the later of the watermark and the
        last read's query time (cursors written before `queried_at` existed fall back to the watermark)."""
        assert self.modstamp is not None
        anchor = self.modstamp if self.queried_at is None else max(self.modstamp, self.queried_at)
        return anchor - lookback

    def read_ran_at(self, moment: datetime | None) -> None:
        """A read that reached the present ran at `moment` (None: the org did not say; keep what we had)."""
        if moment is not None and (self.queried_at is None or moment > self.queried_at):
            self.queried_at = moment

    def delivered(self, modstamp: datetime, record_id: str) -> bool:
        return modstamp == self.modstamp and record_id in self.ids

    def advance(self, modstamp: datetime, record_id: str) -> None:
        if self.modstamp is None or modstamp > self.modstamp:
            self.modstamp, self.ids = modstamp, {record_id: None}
        elif modstamp == self.modstamp:
            self.ids[record_id] = None
        # Older rows (a lookback re-read, or unordered Bulk rows) never move the watermark back.

    def as_cursor(self) -> dict[str, Any]:
        if self.modstamp is None:
            return {"modstamp": None, "last_ids": []}
        cursor: dict[str, Any] = {"modstamp": self.modstamp.isoformat(timespec="milliseconds"),
                                  "last_ids": list(self.ids)}
        if self.queried_at is not None:
            cursor["queried_at"] = self.queried_at.isoformat(timespec="seconds")
        return cursor
