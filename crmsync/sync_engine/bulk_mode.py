"""How a backfill runs: what it sets up in this process for its duration, and puts back.

- Pages are mapped and hashed ahead in a forked MappingWorker (`prepare.py`), when enabled and possible.
- WAL checkpoints move to a background thread (`store.wal`), so commits do not wait for them.
- The objects that exist when it starts (modules, mappings, the engine, the connector ...) are frozen out of
  the garbage collector's passes (`gc.freeze`): a full collection otherwise walks all of them again every few
  pages while finding nothing to free (bench/merge.py: about a tenth of ingest time). They are unfrozen at the
  end, so anything among them that became garbage meanwhile is collected then, as usual.
- The young generation is collected every `BULK_YOUNG_THRESHOLD` allocations instead of every 700: each page
  builds thousands of objects that live exactly as long as the page (prepared patches, rows, results), so
  frequent young collections only walked them and promoted them to older generations, whose collections walked
  them again (bench/merge.py: 438 collections, 0.17 s of the engine's timed 5.5-6 s; with this threshold 11,
  0.002 s).
  Reference counting frees them either way; garbage cycles wait for the next, rarer, collection.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from crmsync.mappings.loader import MappingSet
from crmsync.store import wal
from crmsync.sync_engine.prepare import PagePreparer, page_preparer

BULK_YOUNG_THRESHOLD = 50_000  # allocations between young collections while a bulk write runs (CPython: 700)

_bulk_blocks = 0  # bulk writes running in this process; the last one out unfreezes and restores the threshold
_we_froze = False  # False when the host had frozen objects itself: its freeze is then left exactly as it was
_saved_threshold: tuple[int, int, int] | None = None  # the collector's thresholds before the first bulk write
_collector_lock = threading.Lock()


@contextmanager
def collector_tuned_for_bulk() -> Iterator[None]:
    """The older heap frozen and young collections rarer, for the block (see the module docstring)."""
    global _bulk_blocks, _we_froze, _saved_threshold
    with _collector_lock:
        if _bulk_blocks == 0:
            _we_froze = gc.get_freeze_count() == 0
            if _we_froze:
                gc.freeze()
            _saved_threshold = gc.get_threshold()
            young, *older = _saved_threshold
            gc.set_threshold(max(young, BULK_YOUNG_THRESHOLD), *older)
        _bulk_blocks += 1
    try:
        yield
    finally:
        with _collector_lock:
            _bulk_blocks -= 1
            if _bulk_blocks == 0:
                if _saved_threshold is not None:
                    gc.set_threshold(*_saved_threshold)
                    _saved_threshold = None
                if _we_froze:
                    gc.unfreeze()


@contextmanager
def bulk_write_mode(engine: Engine, mappings: MappingSet, use_worker: bool) -> Iterator[PagePreparer]:
    """Set up a backfill on `engine`; yields what prepares its pages.

    The order matters: the heap is frozen before the worker forks (the child's collector then leaves the
    shared pages alone, so fewer are copied), and the worker forks before the checkpoint thread starts (a
    child must not inherit a thread's locks).
    """
    with collector_tuned_for_bulk(), page_preparer(mappings, use_worker) as preparer, \
            wal.background_checkpoints(engine):
        yield preparer
