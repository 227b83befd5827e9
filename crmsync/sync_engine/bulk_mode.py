"""How a backfill runs: what it sets up in this process for its duration, and puts back.

- Pages are mapped and hashed ahead in a forked MappingWorker (`prepare.py`), when enabled and possible.
- WAL checkpoints move to a background thread (`store.wal`), so commits do not wait for them.
- The objects that exist when it starts (modules, mappings, the engine, the connector ...) are frozen out of
  the garbage collector's passes (`gc.freeze`): a full collection otherwise walks all of them again every few
  pages while finding nothing to free (bench/merge.py: about a tenth of ingest time). They are unfrozen at the
  end, so anything among them that became garbage meanwhile is collected then, as usual.
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

_frozen_by = 0  # bulk writes running in this process; the last one out unfreezes
_we_froze = False  # False when the host had frozen objects itself: its freeze is then left exactly as it was
_frozen_lock = threading.Lock()


@contextmanager
def older_objects_frozen() -> Iterator[None]:
    global _frozen_by, _we_froze
    with _frozen_lock:
        if _frozen_by == 0:
            _we_froze = gc.get_freeze_count() == 0
            if _we_froze:
                gc.freeze()
        _frozen_by += 1
    try:
        yield
    finally:
        with _frozen_lock:
            _frozen_by -= 1
            if _frozen_by == 0 and _we_froze:
                gc.unfreeze()


@contextmanager
def bulk_write_mode(engine: Engine, mappings: MappingSet, use_worker: bool) -> Iterator[PagePreparer]:
    """Set up a backfill on `engine`; yields what prepares its pages.

    The order matters: the heap is frozen before the worker forks (the child's collector then leaves the
    shared pages alone, so fewer are copied), and the worker forks before the checkpoint thread starts (a
    child must not inherit a thread's locks).
    """
    with older_objects_frozen(), page_preparer(mappings, use_worker) as preparer, \
            wal.background_checkpoints(engine):
        yield preparer
