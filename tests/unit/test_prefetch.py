"""The page prefetcher: order kept, errors surface where the page would have, closing stops the reader."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from crmsync.sync_engine.prefetch import prefetched


def test_items_arrive_in_order_and_the_reader_runs_at_most_one_ahead() -> None:
    produced: list[int] = []

    def pages() -> Iterator[int]:
        for number in range(5):
            produced.append(number)
            yield number

    seen = []
    for item in prefetched(pages(), depth=1):
        seen.append(item)
        assert len(produced) <= item + 3  # the current page, one queued, one being read
    assert seen == [0, 1, 2, 3, 4]


def test_an_error_in_the_reader_is_raised_after_the_pages_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        raise ValueError("page 2 failed")

    got = []
    with pytest.raises(ValueError, match="page 2 failed"):
        for item in prefetched(pages()):
            got.append(item)
    assert got == [1]


def test_closing_the_consumer_stops_the_reader() -> None:
    closed = threading.Event()

    def pages() -> Iterator[int]:
        try:
            number = 0
            while True:
                yield number
                number += 1
        finally:
            closed.set()

    stream = prefetched(pages())
    assert next(stream) == 0
    stream.close()
    assert closed.wait(5), "the reader kept reading after the consumer stopped"
