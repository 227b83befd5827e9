"""A backfill freezes the older heap and makes young collections rarer for its duration, then puts both back;
nested backfills restore once, last; a host's own freeze is left alone."""

from __future__ import annotations

import gc
import weakref

from crmsync.sync_engine.bulk_mode import BULK_YOUNG_THRESHOLD, collector_tuned_for_bulk


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_older_objects_wait_for_the_end_of_the_block_and_are_then_collected() -> None:
    assert gc.get_freeze_count() == 0
    node = Node()
    ref = weakref.ref(node)
    with collector_tuned_for_bulk():
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert ref() is not None  # frozen with everything else that existed when the block began
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None


def test_nested_blocks_unfreeze_once_when_the_last_one_ends() -> None:
    with collector_tuned_for_bulk():
        with collector_tuned_for_bulk():
            young = Node()
        assert gc.get_freeze_count() > 0  # the inner block did not unfreeze
        young_ref = weakref.ref(young)
        del young
        gc.collect()
        assert young_ref() is None  # what the block itself creates is collected as usual
    assert gc.get_freeze_count() == 0


def test_a_host_that_froze_its_own_heap_keeps_it_frozen() -> None:
    gc.freeze()
    try:
        with collector_tuned_for_bulk():
            pass
        assert gc.get_freeze_count() > 0  # (frozen objects freed meanwhile lower the count: no equality)
    finally:
        gc.unfreeze()


def test_young_collections_are_rarer_inside_and_the_thresholds_come_back_after_the_last_block() -> None:
    before = gc.get_threshold()
    with collector_tuned_for_bulk():
        assert gc.get_threshold() == (BULK_YOUNG_THRESHOLD, *before[1:])
        with collector_tuned_for_bulk():
            pass
        assert gc.get_threshold()[0] == BULK_YOUNG_THRESHOLD  # the inner block did not restore
        young = Node()
        young_ref = weakref.ref(young)
        del young
        gc.collect()
        assert young_ref() is None  # an explicit collection still frees the block's cycles
    assert gc.get_threshold() == before
