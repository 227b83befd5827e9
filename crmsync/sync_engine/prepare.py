"""The database-free half of ingest: source records -> canonical patches with their content hashes.

`prepare_page` runs in-process for small pages. A backfill hands pages to a `MappingWorker`, a forked
process that maps and hashes the next page while this process applies the current one: on two cores the
two halves overlap (bench/merge.py, bench/backfill.py). Pages travel as tuples of plain values, which pickle
several times faster than the dataclasses; the patches are rebuilt here, where their write-back predicate (a
method of this process's mapper) is attached again.

Both directions are pickled by the thread that applies pages, at the point it sends or takes a page, and the
executor carries only bytes. Left to the executor, its feeder and result threads pickled and unpickled whole
pages while holding the GIL, and they took it whenever the applying thread released it inside SQLite: each
statement then waited to get it back (bench/merge.py on two cores: the apply's wall time exceeded its CPU time
by 0.47 s in a 5.1 s engine run; by 0.11-0.15 s with this change).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from crmsync.errors import MappingError
from crmsync.mappings.loader import MappingSet
from crmsync.sync_engine.merge import source_time
from crmsync.sync_engine.records import CanonicalPatch, RefValue, SourceRecord

T = TypeVar("T")
log = logging.getLogger("crmsync.prepare")


@dataclass(slots=True)
class PreparedPage:
    """A page mapped and hashed: `patches` with `seen_hash` set, and the records that failed mapping as
    (index in the page, error)."""

    patches: list[CanonicalPatch]
    failures: list[tuple[int, str]]


def prepare_page(mappings: MappingSet, records: Sequence[SourceRecord]) -> PreparedPage:
    patches: list[CanonicalPatch] = []
    failures: list[tuple[int, str]] = []
    for index, record in enumerate(records):
        try:
            patch = mappings.get(record.system, record.object).to_patch(record)
        except MappingError as exc:
            failures.append((index, str(exc)))
            continue
        patch.seen_hash = patch.content_hash()
        source_time(patch)  # taken here, where a MappingWorker does it off the applying process
        patches.append(patch)
    return PreparedPage(patches, failures)


# -- the worker process ----------------------------------------------------------------------------------
RecordTuple = tuple[Any, ...]  # SourceRecord's fields in order
# index of its record, then CanonicalPatch's fields up to `deleted`, then its hash and source time text
PatchTuple = tuple[Any, ...]

_worker_mappings: MappingSet | None = None


PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when the thread that forked it ends


def _die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent ends, however it ends (kill -9 included). A worker that outlived
    its parent kept the parent's sockets open, so PostgreSQL saw the dead backfill's connection alive, idle
    in transaction and holding the store's write lock: every later resume, sync or serve waited forever."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: worker_available() keeps the worker off there anyway
        return
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)


def _close_inherited_sockets() -> None:
    """The worker never talks to the store: close its copies of the parent's sockets (database connections),
    so nothing here can write to them and they close when the parent's do. Pipes (the executor's own
    channels) and files stay."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)
        except OSError:
            continue  # the listing's own descriptor, gone by now


def _start_worker(mappings: MappingSet, parent: int) -> None:
    global _worker_mappings
    _die_with_parent(parent)
    _close_inherited_sockets()
    _worker_mappings = mappings
    # Ctrl-C reaches the whole process group: the parent decides when to stop, the worker just finishes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _prepare_in_worker(pickled_records: bytes) -> bytes:
    """list[RecordTuple] in, (list[PatchTuple], failures) out, both pickled."""
    assert _worker_mappings is not None
    records: list[RecordTuple] = pickle.loads(pickled_records)
    prepared = prepare_page(_worker_mappings, [SourceRecord(*fields) for fields in records])
    failed = {index for index, _ in prepared.failures}
    indexes = [i for i in range(len(records)) if i not in failed]
    patches = [
        (index, p.entity, p.system, p.object, p.external_id, p.source_ts, p.values, p.cleared,
         {name: (ref.object, ref.external_id) for name, ref in p.refs.items()} if p.refs else None, p.deleted,
         p.seen_hash, p.source_iso, p.partial, p.link_only)
        for index, p in zip(indexes, prepared.patches, strict=True)]
    return pickle.dumps((patches, prepared.failures), pickle.HIGHEST_PROTOCOL)


def worker_available() -> bool:
    """A forked worker needs fork (Linux) and a second core to run on."""
    return sys.platform == "linux" and (os.cpu_count() or 1) > 1


class InlinePreparer:
    """MappingWorker's interface, preparing each page in this process when it is needed."""

    def __init__(self, mappings: MappingSet) -> None:
        self.mappings = mappings

    def __enter__(self) -> InlinePreparer:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def ahead(self, pages: Iterator[T], records_of: Callable[[T], Sequence[SourceRecord]]
              ) -> Iterator[tuple[T, PreparedPage]]:
        for page in pages:
            yield page, prepare_page(self.mappings, records_of(page))


def page_preparer(mappings: MappingSet, use_worker: bool) -> PagePreparer:
    """A MappingWorker when asked for and possible here, else preparing in this process."""
    return MappingWorker(mappings) if use_worker and worker_available() else InlinePreparer(mappings)


class MappingWorker:
    """One forked process that prepares pages for `mappings`; use as a context manager."""

    def __init__(self, mappings: MappingSet) -> None:
        self.mappings = mappings
        self._fell_back = False
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_start_worker, initargs=(mappings, os.getpid()))
        # Fork now, before the caller starts threads (the page prefetcher): the child holds no lock of theirs.
        self._pool.submit(int).result()

    def __enter__(self) -> MappingWorker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, records: Sequence[SourceRecord]) -> Future[bytes]:
        try:
            pickled = pickle.dumps([
                (r.system, r.object, r.external_id, r.modified_at, r.payload, r.deleted, r.cleared, r.connection,
                 r.partial)
                for r in records], pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # receive() prepares the page here, as for any failure of the worker
            failed: Future[bytes] = Future()
            failed.set_exception(exc)
            return failed
        return self._pool.submit(_prepare_in_worker, pickled)

    def receive(self, records: Sequence[SourceRecord], future: Future[bytes]) -> PreparedPage:
        try:
            rows, failures = pickle.loads(future.result())
        except Exception as exc:  # the same work is redone here, where any real error is raised again
            # The page could not travel (a payload object that does not pickle) or the worker is gone: this
            # process prepares it, so a backfill slows down instead of failing.
            if not self._fell_back:
                log.warning("mapping worker could not prepare a page (%s: %s); preparing in this process",
                            type(exc).__name__, exc)
                self._fell_back = True
            return prepare_page(self.mappings, records)
        patches = []
        predicates: dict[tuple[str, str], Callable[[str], bool] | None] = {}
        for (index, entity, system, obj, external_id, ts, values, cleared, refs, deleted, seen_hash, iso, partial,
             link_only) in rows:
            record = records[index]
            key = (record.system, record.object)
            if key not in predicates:
                predicates[key] = self.mappings.get(*key).write_back_predicate()
            patch = CanonicalPatch(entity, system, obj, external_id, ts, values, cleared,
                                   {n: RefValue(*ref) for n, ref in refs.items()} if refs else {}, deleted,
                                   predicates[key])
            patch.seen_hash, patch.source_iso, patch.partial, patch.link_only = seen_hash, iso, partial, link_only
            patches.append(patch)
        return PreparedPage(patches, failures)

    def ahead(self, pages: Iterator[T], records_of: Callable[[T], Sequence[SourceRecord]]
              ) -> Iterator[tuple[T, PreparedPage]]:
        """Each page with its prepared form, the next page being prepared while the caller applies this one."""
        pending: tuple[T, Future[Any]] | None = None
        try:
            for page in pages:
                future = self.submit(records_of(page))
                if pending is not None:
                    yield pending[0], self.receive(records_of(pending[0]), pending[1])
                pending = (page, future)
            if pending is not None:
                page, future = pending
                pending = None
                yield page, self.receive(records_of(page), future)
        finally:
            if pending is not None:
                pending[1].cancel()
            close = getattr(pages, "close", None)
            if close is not None:
                close()


PagePreparer = MappingWorker | InlinePreparer  # what prepares a backfill's pages: both have `ahead`
