"""A controllable clock shared by an emulator and its admin API.

Emulators stamp every record (CreatedDate, SystemModstamp, updatedAt...) with this clock instead of the
wall clock, so a test can move time forward to make incremental-sync windows, token expiry and date
literals deterministic.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SandboxClock:
    """Real UTC time by default; `advance`, `set` and `freeze` shift or stop it.

    The clock is an offset over the wall clock. While frozen, `now()` returns the same instant until the
    clock is advanced or set, which lets several writes share one timestamp (a real Salesforce
    same-millisecond tie).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None

    @staticmethod
    def _wall() -> datetime:
        return datetime.now(UTC)

    def now(self) -> datetime:
        """Current sandbox time, timezone-aware UTC."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return self._wall() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def advance(self, seconds: float) -> datetime:
        """Move time forward (or back, for a negative number) and return the new now."""
        delta = timedelta(seconds=seconds)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += delta
                return self._frozen_at
            self._offset += delta
            return self._wall() + self._offset

    def set(self, moment: datetime, *, freeze: bool | None = None) -> datetime:
        """Jump to `moment` (naive means UTC). `freeze` True/False also (un)freezes; None keeps the mode."""
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        with self._lock:
            keep_frozen = self._frozen_at is not None if freeze is None else freeze
            if keep_frozen:
                self._frozen_at = moment
            else:
                self._frozen_at = None
                self._offset = moment - self._wall()
            return moment

    def freeze(self) -> datetime:
        """Stop time at the current sandbox instant."""
        return self.set(self.now(), freeze=True)

    def unfreeze(self) -> datetime:
        """Let time run again from the frozen instant."""
        return self.set(self.now(), freeze=False)

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._offset = timedelta(0)
            self._frozen_at = None


class ClockDateHeader:
    """ASGI middleware: every response's `Date` header comes from the sandbox clock, as a vendor's own does
    from its own clock (clients may anchor sync windows on it). uvicorn's wall-clock Date is turned off."""

    def __init__(self, app: ASGIApp, clock: SandboxClock) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = (b"date", format_datetime(self.clock.now(), usegmt=True).encode("latin-1"))
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, date]}
            await send(message)

        await self.app(scope, receive, dated)
