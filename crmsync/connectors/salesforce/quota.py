"""The org's daily API allocation as `Sforce-Limit-Info` reports it, and the decision to stop before it runs out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simple_salesforce import Salesforce

from crmsync.connectors.base import QuotaExhausted

ROLLING_WINDOW = timedelta(hours=24)


class ApiUsageMeter:
    """Last seen `api-usage=<used>/<total>` (org-wide, so other clients' calls count too)."""

    def __init__(self, reserve: float, connection: str) -> None:
        self.reserve, self.connection = reserve, connection
        self.used: int | None = None
        self.total: int | None = None
        self._window_start: datetime | None = None  # our first call in the current rolling day

    def observe(self, header: str | None) -> None:
        now = datetime.now(UTC)
        if self._window_start is None or now - self._window_start >= ROLLING_WINDOW:
            self._window_start = now
        usage = Salesforce.parse_api_usage(header).get("api-usage") if header else None
        if usage is not None:
            self.used, self.total = usage.used, usage.total

    @property
    def resume_at(self) -> datetime:
        """Salesforce's window rolls: capacity we used comes back about 24 h after our first call."""
        return (self._window_start or datetime.now(UTC)) + ROLLING_WINDOW

    @property
    def limit(self) -> float | None:
        """Calls allowed before we stop: the allocation minus the reserve."""
        return None if not self.total else self.total * (1 - self.reserve)

    def check(self) -> None:
        limit = self.limit
        if self.used is None or limit is None or datetime.now(UTC) >= self.resume_at:
            return  # nothing known yet, or the reading is from a window that has rolled over: call and see
        if self.used >= limit:
            raise self.exhausted(
                f"salesforce {self.connection}: {self.used} of {self.total} daily API calls used, which reaches the "
                f"{self.reserve:.0%} reserve; stopping before further calls"
            )

    def exhausted(self, message: str) -> QuotaExhausted:
        resume_at = self.resume_at
        return QuotaExhausted(
            f"{message}. Sync resumes from its checkpoint at about {resume_at:%Y-%m-%d %H:%M} UTC; lower "
            "quota_reserve or raise the org's API allocation to go further",
            resume_at=resume_at,
            details={"used": self.used, "total": self.total, "reserve": self.reserve},
        )
