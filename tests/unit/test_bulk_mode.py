"""A backfill freezes the older heap for its duration and puts it back; nested backfills unfreeze once, last;
a host's own freeze is left alone."""

from __future__ import annotations

import gc
import weakref

from crmsync.sync_engine.bulk_mode import older_objects_frozen


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_older_objects_wait_for_the_end_of_the_block_and_are_then_collected() -> None:
    assert gc.get_freeze_count() == 0
    node = Node()
    ref = weakref.ref(node)
    with older_objects_frozen():
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert ref() is not None  # frozen with everything else that existed when the block began
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None


def test_nested_blocks_unfreeze_once_when_the_last_one_ends() -> None:
    with older_objects_frozen():
        with older_objects_frozen():
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
        with older_objects_frozen():
            pass
        assert gc.get_freeze_count() > 0  # (frozen objects freed meanwhile lower the count: no equality)
    finally:
        gc.unfreeze()
