"""Log output of every command, configured in one place.

- One handler on the root logger, writing to whatever stderr is when a record arrives: warnings and errors
  for one-shot commands, INFO too for `crmsync serve --verbose`, everything with `--debug`.
- Vendor SDKs and libraries (HTTP clients, SOAP, APScheduler, uvicorn ...) log at WARNING and above unless
  `--debug`: their request logs are noise, and with `--debug` they are what one needs.
- Noise is demoted, never silently dropped (each is shown with `--debug`):
  APScheduler skipping a run because the previous one is still going (expected: one run per connection at a
  time) or coalescing a missed run; the same warning repeated within an hour by a long-running `serve`
  (a feature that is not configured, retried every minute, says so once an hour); and, while a command
  prints a run's outcome itself, the runner's own "run ... ended failed" warning (a failure is shown once).
- Messages read `hubspot: ...`, never `hubspot hubspot: ...` when a connection is named after its system.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from crmsync.config.connections import SYSTEMS

VENDOR_LOGGERS = ("urllib3", "requests", "httpx", "httpcore", "hpack", "hubspot", "stripe", "zeep",
                  "simple_salesforce", "razorpay", "SDKLogger", "apscheduler", "uvicorn", "asyncio", "faker",
                  "multipart", "python_multipart", "alembic", "sqlalchemy")
REPEAT_WINDOW_SECONDS = 3600.0
_DOUBLED_SYSTEM = re.compile(rf"\b({'|'.join(SYSTEMS)}) \1\b")
# APScheduler: a run skipped because the previous one is still going, or a missed run coalesced into the next.
_SCHEDULER_NOISE = ("maximum number of running instances reached", "was missed by")
_RUN_ENDED = " run %s ended "  # crmsync.runner's warning for a run that did not end ok


def tidy(message: str) -> str:
    """`hubspot hubspot: x` (a connection named after its system) -> `hubspot: x`."""
    return _DOUBLED_SYSTEM.sub(r"\1", message)


def one_line(message: str) -> str:
    """A message as one tidy line (driver errors carry newlines and indented detail)."""
    return tidy(" ".join(message.split()))


class _Shown:
    """Decides the level a record is shown at: some noise is demoted to DEBUG."""

    def __init__(self) -> None:
        self.repeats: OrderedDict[tuple[str, int, str], float] = OrderedDict()
        self.reported_runs = 0  # commands printing run outcomes themselves, active now
        self.limit_repeats = False
        self._lock = threading.Lock()

    def level(self, record: logging.LogRecord) -> int:
        if record.name.startswith("apscheduler") and any(text in str(record.msg) for text in _SCHEDULER_NOISE):
            return logging.DEBUG
        if self.reported_runs and record.name == "crmsync.runner" and _RUN_ENDED in str(record.msg):
            return logging.DEBUG
        if self.limit_repeats and record.levelno >= logging.WARNING and self._repeated(record):
            return logging.DEBUG
        return record.levelno

    def _repeated(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        now = time.monotonic()
        with self._lock:
            last = self.repeats.get(key)
            if last is not None and now - last < REPEAT_WINDOW_SECONDS:
                return True
            self.repeats[key] = now
            self.repeats.move_to_end(key)
            while len(self.repeats) > 1000:
                self.repeats.popitem(last=False)
        return False


_shown = _Shown()


class _Formatter(logging.Formatter):
    def __init__(self, timestamps: bool, names: bool) -> None:
        layout = "%(asctime)s " if timestamps else ""
        super().__init__(layout + "%(shown_level)s" + (" %(name)s" if names else "") + ": %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        level = getattr(record, "crmsync_level", record.levelno)
        record.shown_level = logging.getLevelName(level).lower()
        return tidy(super().format(record))


class CliLogHandler(logging.Handler):
    """Writes to the current sys.stderr (a test runner or Rich may swap it after set-up)."""

    def __init__(self, threshold: int, timestamps: bool, names: bool) -> None:
        super().__init__(threshold)
        self.setFormatter(_Formatter(timestamps, names))

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    def filter(self, record: logging.LogRecord) -> bool:
        level = _shown.level(record)
        record.crmsync_level = level  # read by the formatter; other handlers see the record's own level
        return level >= self.level and bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()
        except Exception:
            self.handleError(record)


def configure_logging(debug: bool, verbose: bool = False, serving: bool = False) -> None:
    """Set up (or redo) crmsync's log output; see the module docstring. `serving`: timestamps and logger
    names on each line, and repeated warnings limited to one an hour."""
    threshold = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, CliLogHandler)]:
        root.removeHandler(handler)
    root.addHandler(CliLogHandler(threshold, timestamps=serving, names=serving or debug))
    root.setLevel(threshold)
    for name in VENDOR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
    _shown.limit_repeats = serving


@contextmanager
def runs_reported_here() -> Iterator[None]:
    """While a command prints each run's outcome itself, the runner's warning about it is demoted."""
    with _shown._lock:
        _shown.reported_runs += 1
    try:
        yield
    finally:
        with _shown._lock:
            _shown.reported_runs -= 1
