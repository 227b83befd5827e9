"""Tolerant parsing of Five9 call values: timestamps and durations in whichever format they arrive.

Five9 writes wall-clock times in the domain's zone without an offset, so one text time in the hour a DST
change repeats names two instants. When the caller knows the instant must fall in a window (a report run's
[start, end)), the candidate inside it wins; otherwise the earlier one (fold 0), as zoneinfo does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from crmsync.errors import RecordMappingError

EPOCH_MS_THRESHOLD = 100_000_000_000  # larger epoch numbers are milliseconds
_MONTHS = {name: index for index, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_REPORT_TEXT = re.compile(r"^(?:[A-Za-z]{3},\s*)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{1,2}):(\d{2}):(\d{2})$")
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%m/%d/%Y %H:%M:%S",
                  "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S")
_HMS = re.compile(r"^(\d+):([0-5]?\d):([0-5]?\d)(?:\.\d+)?$")
Window = tuple[datetime, datetime]


def _naive(text: str) -> datetime | None:
    match = _REPORT_TEXT.match(text)
    if match:
        day, month, year, hour, minute, second = match.groups()
        if month.lower() not in _MONTHS:
            return None
        return datetime(int(year), _MONTHS[month.lower()], int(day), int(hour), int(minute), int(second))
    for pattern in _NAIVE_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def localize(wall: datetime, tz: ZoneInfo, window: Window | None = None) -> datetime:
    """The UTC instant a wall-clock time in `tz` names; in a repeated hour, the one inside `window` if only one is."""
    first, second = (wall.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    if first != second and window is not None:
        inside = [moment for moment in (first, second) if window[0] <= moment < window[1]]
        if len(inside) == 1:
            return inside[0]
    return first


def parse_timestamp(value: str, tz: ZoneInfo, window: Window | None = None) -> datetime:
    """Aware UTC from epoch seconds/milliseconds, ISO 8601 with an offset, or wall-clock text in `tz`
    (`2024-03-10 01:59:59.500`, `Sun, 10 Mar 2024 01:59:59`, `2024/03/10 01:59:59` ...)."""
    text = value.strip()
    if re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        number = float(text)
        return datetime.fromtimestamp(number / 1000 if abs(number) >= EPOCH_MS_THRESHOLD else number, UTC)
    wall = _naive(text)
    if wall is not None:
        return localize(wall, tz, window)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RecordMappingError(f"{value!r} is not a Five9 timestamp (epoch ms, ISO 8601 or "
                                 "'yyyy-MM-dd HH:mm:ss.SSS' in the domain's time zone)") from None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else localize(parsed, tz, window)


def whole_seconds(moment: datetime) -> datetime:
    """Reports carry whole seconds; cutting the web connector's milliseconds makes both paths agree."""
    return moment.replace(microsecond=0)


def parse_duration(value: str, bare_unit: str = "ms") -> int:
    """Whole seconds from `HH:MM:SS` (hours may pass 24) or a bare number in `bare_unit` (ms or s)."""
    text = value.strip()
    match = _HMS.match(text)
    if match:
        hours, minutes, seconds = (int(part) for part in match.groups())
        return int(timedelta(hours=hours, minutes=minutes, seconds=seconds).total_seconds())
    try:
        number = float(text)
    except ValueError:
        raise RecordMappingError(f"{value!r} is not a Five9 duration (HH:MM:SS or milliseconds)") from None
    if number < 0:
        raise RecordMappingError(f"{value!r} is a negative duration")
    return int(number // 1000) if bare_unit == "ms" else int(number)
