"""Read the next page while the current one is stored: network waits overlap database work.

A reader thread pulls pages from the connector into a queue of `depth` pages, so memory stays bounded (at
most depth + 1 pages in flight). Only the reader thread touches the connector while a stream is read. An
error in the reader is raised in the consumer at the point the page would have arrived; closing the
consumer (Ctrl-C, a failed page) stops the reader after its current call.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
POLL_SECONDS = 0.1


def prefetched(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None and stop.is_set():
                close()

    reader = threading.Thread(target=read, name="crmsync-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        reader.join(timeout=30)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
