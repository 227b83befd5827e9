"""The org's API credits as Zoho reports them on every answer, and the decision to stop before they run out.

Headers: `X-RATELIMIT-LIMIT` (credits per rolling day), `X-RATELIMIT-REMAINING`, `X-RATELIMIT-RESET` (epoch
milliseconds when the window rolls). Credits are org-wide: other integrations' calls count too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from crmsync.connectors.base import QuotaExhausted

ROLLING_WINDOW = timedelta(hours=24)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class CreditMeter:
    def __init__(self, reserve: float, connection: str) -> None:
        self.reserve, self.connection = reserve, connection
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_at: datetime | None = None

    def observe(self, headers: Mapping[str, str]) -> None:
        limit, remaining = _int(headers.get("X-RATELIMIT-LIMIT")), _int(headers.get("X-RATELIMIT-REMAINING"))
        reset = _int(headers.get("X-RATELIMIT-RESET"))
        if limit is not None:
            self.limit = limit
        if remaining is not None:
            self.remaining = remaining
        if reset is not None:
            self.reset_at = datetime.fromtimestamp(reset / 1000, UTC)

    @property
    def resume_at(self) -> datetime:
        return self.reset_at or datetime.now(UTC) + ROLLING_WINDOW

    def check(self) -> None:
        """Raise QuotaExhausted before a call that would eat into the reserve."""
        if self.limit is None or self.remaining is None:
            return  # nothing known yet: call and see
        if self.reset_at is not None and datetime.now(UTC) >= self.reset_at:
            return  # the reading is from a window that has rolled over
        if self.remaining <= self.limit * self.reserve:
            raise self.exhausted(f"zoho {self.connection}: {self.remaining} of {self.limit} daily API credits left, "
                                 f"which is within the {self.reserve:.0%} reserve; stopping before further calls")

    def exhausted(self, message: str) -> QuotaExhausted:
        resume_at = self.resume_at
        return QuotaExhausted(
            f"{message}. Sync resumes from its checkpoint at about {resume_at:%Y-%m-%d %H:%M} UTC; lower "
            "credits_reserve or buy more Zoho API credits to go further",
            resume_at=resume_at,
            details={"limit": self.limit, "remaining": self.remaining, "reserve": self.reserve},
        )
