"""Preparing pages (mapping and hashing) in a forked MappingWorker gives exactly what preparing them here gives."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

import pytest

from crmsync.sync_engine.ingest import collector_paused
from crmsync.sync_engine.merge import iso_utc
from crmsync.sync_engine.prepare import InlinePreparer, MappingWorker, prepare_page, worker_available
from crmsync.sync_engine.records import SourceRecord

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def page(start: int) -> list[SourceRecord]:
    records = []
    for i in range(start, start + 40):
        records.append(SourceRecord("salesforce", "Lead", f"00Q{i}", T0 + timedelta(seconds=i), {
            "Id": f"00Q{i}", "Email": f"p{i}@x.io", "LastName": f"L{i}", "Phone": "(415) 555-2671",
            "Rating__c": "Hot"}, connection="org-a"))
        records.append(SourceRecord("hubspot", "contacts", str(i), T0, {"id": str(i), "properties": {
            "email": f"p{i}@x.io", "jobtitle": "CEO"}}))
    records.append(SourceRecord("salesforce", "Lead", "00QC", T0, {"Id": "00QC", "Email": "c@x.io"},
                                cleared=frozenset({"Title"})))
    records.append(SourceRecord("salesforce", "Opportunity", "006A", T0, {
        "Id": "006A", "Name": "Big", "Amount": 10.5, "AccountId": "001A", "StageName": "Closed Won"}))
    records.append(SourceRecord("salesforce", "Lead", "00QX", T0, {"Id": "00QX", "Phone": "not a phone"}))
    records.append(SourceRecord("salesforce", "Lead", "00QD", T0, {"Id": "00QD"}, deleted=True))
    return records


def described(prepared, records):
    return ([(p.entity, p.system, p.object, p.external_id, p.source_ts, p.values, p.cleared, p.refs, p.deleted,
              p.seen_hash, p.content_hash(), p.echo_hash(), p.source_iso) for p in prepared.patches],
            [(records[index].external_id, error) for index, error in prepared.failures])


@pytest.mark.skipif(not worker_available(), reason="a MappingWorker needs fork and a second core")
def test_the_worker_prepares_what_this_process_prepares(mappings):
    pages = [page(0), page(100), page(200)]
    with MappingWorker(mappings) as worker:
        from_worker = [(records, prepared) for records, prepared in worker.ahead(iter(pages), lambda p: p)]
    assert [records for records, _ in from_worker] == pages  # every page, in order
    for records, prepared in from_worker:
        assert described(prepared, records) == described(prepare_page(mappings, records), records)
    patches, failures = described(from_worker[0][1], pages[0])
    assert [external_id for external_id, _ in failures] == ["00QX"] and "Phone" in failures[0][1]
    # (entity, system, object, external_id, source_ts, values, cleared, refs, deleted, seen, content, echo, iso)
    assert all(p[9] == p[10] for p in patches)  # the hash taken in the worker is the patch's content hash
    assert all(p[12] == iso_utc(p[4]) for p in patches)  # and the source time as provenance writes it
    assert any(p[7] for p in patches) and any(p[6] for p in patches) and any(p[8] for p in patches)
    assert all(p[11] is not None for p in patches if p[1] == "org-a")  # the write-back predicate is re-attached


@pytest.mark.skipif(not worker_available(), reason="a MappingWorker needs fork and a second core")
def test_a_page_that_cannot_travel_to_the_worker_is_prepared_here(mappings, caplog):
    odd = [SourceRecord("salesforce", "Lead", "00QL", T0, {"Id": "00QL", "Email": "l@x.io",
                                                            "Unmapped": lambda: None})]  # does not pickle
    with MappingWorker(mappings) as worker:
        got = list(worker.ahead(iter([page(0), odd, page(100)]), lambda p: p))
    assert [records for records, _ in got] == [page(0), odd, page(100)]
    for records, prepared in got:
        assert described(prepared, records) == described(prepare_page(mappings, records), records)
    assert "preparing in this process" in caplog.text


@pytest.mark.skipif(not worker_available(), reason="a MappingWorker needs fork and a second core")
def test_pages_cross_the_executor_as_bytes_pickled_by_the_caller(mappings):
    """The executor's own threads would otherwise pickle whole pages, taking the GIL from the applying thread."""
    with MappingWorker(mappings) as worker:
        future = worker.submit(page(0))
        assert isinstance(future.result(timeout=30), bytes)
        assert described(worker.receive(page(0), future), page(0)) == described(
            prepare_page(mappings, page(0)), page(0))


def test_inline_preparer_is_prepare_page(mappings):
    records = page(0)
    [(same, prepared)] = list(InlinePreparer(mappings).ahead(iter([records]), lambda p: p))
    assert same is records and described(prepared, records) == described(prepare_page(mappings, records), records)


def test_the_collector_is_paused_for_a_page_and_restored_after():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # a second page at once (another thread) leaves it to the first
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a failing page")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # a host that keeps the collector off keeps it off
    finally:
        gc.enable()
