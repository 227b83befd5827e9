"""The `calls` stream: Call Log report runs over consecutive time windows, as pages with resumable cursors.

A window is [start, end) on call start times, in whole seconds. It starts `window_hours` wide; a window whose
result hits the row cap (a ResultTooLargeFault, or exactly `max_rows` rows from a server that cuts off) is
halved and run again, and a window well under the cap lets the next one grow. A window's rows become pages of
`page_size` records; the cursor after a page is `{"through": T}` (every call that started before T is
delivered) or, inside a window, `{"through": start, "window_end": end, "skip": n}` (re-run that window and
skip its first n rows: a past window's report does not change). Windows also end where clocks go back, so
the report's wall-clock times (no offset) convert to one instant each.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crmsync.connectors.base import ConnectorError, StreamPage
from crmsync.connectors.five9.calls import CALLS, with_people
from crmsync.connectors.five9.reports import CallLogReports, ReportTooLarge
from crmsync.connectors.five9.settings import Five9Settings


def _seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def fall_back_cut(start: datetime, end: datetime, tz: ZoneInfo) -> datetime:
    """`end`, or the instant clocks go back inside [start, end): a window ending there never holds both
    instants a repeated wall-clock time names, so report text times convert unambiguously."""
    before, after = start.astimezone(tz).utcoffset(), end.astimezone(tz).utcoffset()
    if before is None or after is None or after >= before:
        return end
    low, high = start, end  # the offset is the old one at `low` and the new one at `high`
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=(high - low).total_seconds() // 2)
        if middle.astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


@dataclass(frozen=True)
class CallsCursor:
    through: datetime | None = None
    window_end: datetime | None = None
    skip: int = 0

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any] | None) -> CallsCursor:
        if not cursor:
            return cls()
        try:
            through = cursor.get("through")
            window_end = cursor.get("window_end")
            return cls(datetime.fromisoformat(through) if through else None,
                       datetime.fromisoformat(window_end) if window_end else None, int(cursor.get("skip") or 0))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConnectorError(f"the checkpoint of Five9 stream calls is not a Five9 cursor ({exc}); reset the "
                                 "stream's checkpoint to re-read it") from None

    def as_cursor(self) -> dict[str, Any]:
        cursor: dict[str, Any] = {"through": _iso(self.through) if self.through else None}
        if self.window_end is not None:
            cursor |= {"window_end": _iso(self.window_end), "skip": self.skip}
        return cursor


class CallsReader:
    def __init__(self, reports: CallLogReports, settings: Five9Settings) -> None:
        self.reports, self.settings = reports, settings

    def span(self, cursor: CallsCursor, since: datetime | None, until: datetime | None,
             now: datetime) -> tuple[datetime, datetime]:
        """[start, end) still to read: from the later of `since` and the cursor; up to `until`, else now minus
        the settle time (the Call Log lists a call once it has ended)."""
        candidates = [moment for moment in (since, cursor.through) if moment is not None]
        start = max(candidates) if candidates else now - timedelta(days=self.settings.default_history_days)
        end = until if until is not None else now - timedelta(seconds=self.settings.settle_seconds)
        return _seconds(start), _seconds(end)

    def pages(self, cursor: CallsCursor, start: datetime, end: datetime) -> Iterator[StreamPage]:
        settings = self.settings
        width = timedelta(hours=settings.window_hours)
        smallest, widest = timedelta(seconds=settings.min_window_seconds), timedelta(hours=settings.max_window_hours)
        skip, forced_end = 0, None
        if cursor.window_end is not None and cursor.through == start:
            skip, forced_end = cursor.skip, min(_seconds(cursor.window_end), end)  # resume inside that window
        while start < end:
            window_end = forced_end or fall_back_cut(start, min(start + width, end), settings.tz)
            try:
                csv_text = self.reports.run_csv(start, window_end)
                records = self.reports.records(csv_text, (start, window_end))
                if len(records) >= settings.max_rows:
                    raise ReportTooLarge(f"{len(records)} rows: the report may have been cut off at the cap")
            except ReportTooLarge:
                if forced_end is not None:  # a resumed window no longer fits: read it afresh, split (ingest is
                    forced_end, skip = None, 0  # idempotent, so re-delivering its first rows changes nothing)
                elif window_end - start <= smallest:
                    raise ConnectorError(
                        f"five9 {self.reports.connection}: more than {settings.max_rows} calls started between "
                        f"{_iso(start)} and {_iso(window_end)}; lower min_window_seconds or raise max_rows") from None
                width = max(smallest, timedelta(seconds=(window_end - start).total_seconds() // 2))
                continue
            yield from self._window_pages(start, window_end, records, skip)
            if forced_end is None and len(records) < settings.max_rows // 4:
                width = min(widest, width * 2)
            start, skip, forced_end = window_end, 0, None

    def _window_pages(self, start: datetime, end: datetime, records: list[Any], skip: int) -> Iterator[StreamPage]:
        settings = self.settings
        size = settings.page_size
        if skip >= len(records):
            yield StreamPage(CALLS, [], CallsCursor(end).as_cursor())
            return
        for offset in range(skip, len(records), size):
            chunk = records[offset:offset + size]
            done = offset + len(chunk)
            cursor = CallsCursor(end) if done >= len(records) else CallsCursor(start, end, done)
            yield StreamPage(CALLS, with_people(chunk, settings.default_region, settings.link_callers),
                             cursor.as_cursor())
