"""Time transforms: timestamps to UTC, dates, a timestamp's calendar day, and call durations as clock text."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crmsync.errors import RecordMappingError
from crmsync.mappings.core import Context, NoParams, Params, Transform

EPOCH_MS_THRESHOLD = 100_000_000_000  # larger epoch numbers are milliseconds (year 5138 in seconds)


class DatetimeParams(Params):
    out_format: Literal["iso", "salesforce", "epoch_s", "epoch_ms"] = "iso"


def parse_utc(value: Any) -> datetime:
    """UTC datetime from ISO text (`Z`, `+0000`, `+05:30`, naive = UTC) or epoch seconds / milliseconds."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.strip().lstrip("-").isdigit()
    ):
        number = float(value)
        if abs(number) >= EPOCH_MS_THRESHOLD:
            number /= 1000
        return datetime.fromtimestamp(number, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RecordMappingError(f"{value!r} is not an ISO 8601 timestamp or epoch number") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise RecordMappingError(f"{value!r} is not a timestamp")


def format_datetime(value: datetime, out_format: str) -> Any:
    value = value.astimezone(UTC)
    if out_format == "epoch_ms":
        return int(value.timestamp() * 1000)
    if out_format == "epoch_s":
        return int(value.timestamp())
    if out_format == "salesforce":
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    return value.isoformat().replace("+00:00", "Z")


def datetime_transform(params: DatetimeParams, _region: str | None) -> Transform:
    return Transform(
        "datetime",
        lambda value, _ctx: parse_utc(value),
        lambda value, _ctx: format_datetime(value, params.out_format),
    )


def to_date(value: Any, _ctx: Context) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise RecordMappingError(f"{value!r} is not an ISO date") from None


def date_transform(_params: NoParams, _region: str | None) -> Transform:
    return Transform("date", to_date, lambda value, _ctx: value.isoformat())


class DayParams(Params):
    time_zone: str = "UTC"


def day_transform(params: DayParams, _region: str | None) -> Transform:
    """A date field fed by a timestamp (Salesforce Task.ActivityDate from a call's start): write-back sends the
    timestamp's calendar day in `time_zone`; a day read back is its midnight there (a lossy read, so rules
    using it are usually `out`)."""
    try:
        zone = ZoneInfo(params.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"transform 'day': unknown time zone {params.time_zone!r}") from None

    def forward(value: Any, ctx: Context) -> datetime:
        return datetime.combine(to_date(value, ctx), time(), zone).astimezone(UTC)

    return Transform("day", forward, lambda value, _ctx: parse_utc(value).astimezone(zone).date().isoformat())


_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d{1,2})$")


def clock_seconds(value: Any, _ctx: Context) -> int:
    """'02:05' (minutes:seconds), '1:02:05' (hours too) or a plain number of seconds -> whole seconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    match = _CLOCK.match(text)
    if match is None:
        raise RecordMappingError(f"{value!r} is not a duration like 02:05 (minutes:seconds)")
    hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def clock_text(value: Any, _ctx: Context) -> str:
    """Whole seconds -> 'mm:ss', minutes unbounded (Zoho's Call_Duration: 125 s is '02:05', 2 h is '120:00')."""
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes:02d}:{seconds:02d}"


def mm_ss_transform(_params: NoParams, _region: str | None) -> Transform:
    return Transform("mm_ss", clock_seconds, clock_text, probes=(0, 59, 125, 7200))
