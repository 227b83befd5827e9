"""Rich progress bars for runs (records, records/s, ETA per stream) and the tables printed after them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from crmsync.sync_engine.ingest import PageResult
from crmsync.sync_engine.runner import SUMMARY_KEYS, RunSummary


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rec/s" if speed else "- rec/s", style="progress.data.speed")


class ProgressObserver:
    """A progress bar per stream; unknown totals show a pulsing bar and the running count."""

    wants_estimate = True  # a count query per stream buys the ETA

    def __init__(self, console: Console) -> None:
        self.progress = Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                                 RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                                 transient=False)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> ProgressObserver:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def stream_started(self, stream: str, estimate: int | None) -> None:
        self.tasks[stream] = self.progress.add_task(stream, total=estimate)

    def page_stored(self, stream: str, result: PageResult) -> None:
        task = self.tasks.get(stream)
        if task is None:
            task = self.tasks[stream] = self.progress.add_task(stream, total=None)
        self.progress.advance(task, result.counts["read"])
        total = self.progress.tasks[task].total
        if total is not None and self.progress.tasks[task].completed > total:
            self.progress.update(task, total=self.progress.tasks[task].completed)  # records arrived meanwhile


def summary_table(summary: RunSummary, title: str) -> Table:
    table = Table("stream", *SUMMARY_KEYS, title=title)
    streams: dict[str, Counter[str]] = dict(summary.streams)
    streams["total"] = summary.totals()
    for stream, counts in streams.items():
        table.add_row(stream, *(f"{counts.get(key, 0):,}" for key in SUMMARY_KEYS))
    return table


def plan_table(summary: RunSummary) -> Table:
    """A dry run's plan: per stream, the canonical fields that would change and how often."""
    table = Table("stream", "field", "records changing", title="Fields that would change")
    for stream, fields in summary.field_changes.items():
        for name, count in fields.most_common():
            table.add_row(stream, name, f"{count:,}")
    return table
