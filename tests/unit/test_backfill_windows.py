"""Backfill ranges sliced into windows: contiguous, bounded by `until`, last window open without one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crmsync.sync_engine.runner import BackfillRange

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def test_a_closed_range_is_cut_into_contiguous_windows_ending_at_until() -> None:
    windows = BackfillRange(T0, T0 + 2.5 * DAY).windows(T0, DAY)
    assert windows == [(T0, T0 + DAY), (T0 + DAY, T0 + 2 * DAY), (T0 + 2 * DAY, T0 + 2.5 * DAY)]


def test_an_open_range_ends_with_an_open_window_and_a_range_without_start_is_one_window() -> None:
    windows = BackfillRange(T0, None).windows(datetime.now(UTC) - 1.5 * DAY, DAY)
    assert len(windows) == 2 and windows[-1][1] is None and windows[0][1] == windows[1][0]
    assert BackfillRange(None, T0).windows(None, DAY) == [(None, T0)]
    assert BackfillRange(None, None).windows(None, DAY) == [(None, None)]


def test_resuming_past_the_end_reads_one_last_open_window() -> None:
    later = datetime.now(UTC) + DAY
    assert BackfillRange(T0, None).windows(later, DAY) == [(later, None)]
    assert BackfillRange(T0, T0 + DAY).windows(T0 + DAY, DAY) == []
