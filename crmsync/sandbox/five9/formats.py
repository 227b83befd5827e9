"""How Five9 writes call values on the wire: timestamps and durations, in the account's time zone.

Web connectors substitute `@Call.xxx@` variables as text. Their exact formats are not publicly documented
(contract sheet §6.1), so each emulated connector picks one of the plausible ones, letting tests exercise a
tolerant receiver: timestamps as `yyyy-MM-dd HH:mm:ss.SSS` in the account's zone or as epoch milliseconds,
durations as milliseconds or `HH:MM:SS`. Reports write `Thu, 27 Oct 2016 14:51:34` and `HH:MM:SS`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

TimestampFormat = Literal["text", "epoch_ms"]
DurationFormat = Literal["ms", "hms"]

# English names on purpose: strftime's %a/%b follow the process locale, Five9's report text does not.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def text_timestamp(moment: datetime, tz: ZoneInfo) -> str:
    """`2024-03-10 01:59:59.500`: wall-clock time in the account's zone, milliseconds, no offset."""
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def web_timestamp(moment: datetime, tz: ZoneInfo, style: TimestampFormat) -> str:
    return epoch_ms(moment) if style == "epoch_ms" else text_timestamp(moment, tz)


def hms(seconds: float) -> str:
    """Whole seconds as `HH:MM:SS` (hours may pass 99 for very long calls); fractions are cut, as reports do."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def web_duration(seconds: float, style: DurationFormat) -> str:
    return hms(seconds) if style == "hms" else str(round(seconds * 1000))


def report_timestamp(moment: datetime, tz: ZoneInfo) -> str:
    """`Thu, 27 Oct 2016 14:51:34`: the Call Log report's TIMESTAMP, whole seconds, account zone, no offset."""
    local = moment.astimezone(tz)
    return f"{_DAYS[local.weekday()]}, {local.day:02d} {_MONTHS[local.month - 1]} {local.year} " \
           f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
