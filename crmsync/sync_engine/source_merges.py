"""Merges made in a source system become canonical merges, in the page's own transaction.

A connector reports a merge on the surviving record: `payload["merged_ids"]` lists the ids of the same
system and object that were folded into it (HubSpot's `hs_merged_object_ids`, a Salesforce lead merge ...).
Every canonical record still known under such an id is merged into the survivor's canonical record
(`review.merge_records`: refs, links and provenance follow), so later changes and write-backs reach one record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, and_, select, update

from crmsync.config.policy import MergePolicy
from crmsync.sync_engine.identity import REF
from crmsync.sync_engine.ingest import PageResult
from crmsync.sync_engine.outbox import OutboxRoutes, enqueue, whole_record
from crmsync.sync_engine.records import SourceRecord, merged_ids
from crmsync.sync_engine.review import merge_records


def redirect_merges(conn: Connection, records: Iterable[SourceRecord],
                    policy: MergePolicy) -> list[tuple[str, str, str]]:
    """Merge canonical records of merged-away ids into the survivor's; returns (entity, absorbed, survivor)."""
    done: list[tuple[str, str, str]] = []
    for record in records:
        merged = merged_ids(record)
        if not merged or record.deleted:
            continue
        keys = [record.external_id, *merged]
        rows = conn.execute(select(REF.c.external_id, REF.c.entity, REF.c.canonical_id).where(and_(
            REF.c.system == record.origin, REF.c.object == record.object, REF.c.external_id.in_(keys)))).all()
        by_id = {row.external_id: row for row in rows}
        survivor = by_id.get(record.external_id)
        if survivor is None:
            continue  # the survivor failed mapping: nothing to merge into
        for old in merged:
            row = by_id.get(old)
            if row is None:
                continue
            if row.canonical_id != survivor.canonical_id:
                merge_records(conn, survivor.entity, survivor.canonical_id, row.canonical_id, policy,
                              reason=f"{record.origin}:merge")
                done.append((survivor.entity, row.canonical_id, survivor.canonical_id))
            # The merged-away record is no longer one of that system's records: the survivor stands for it.
            conn.execute(update(REF).where(and_(REF.c.system == record.origin, REF.c.object == record.object,
                                                REF.c.external_id == old, REF.c.deleted_at.is_(None)))
                         .values(deleted_at=datetime.now(UTC)))
    return done


def merge_hook(policy: MergePolicy, routes: OutboxRoutes | None = None,
               run_id: str | None = None) -> Callable[[Connection, PageResult, Iterable[SourceRecord]], None]:
    """An Ingestor page hook applying the page's source-side merges; with `routes`, each survivor is queued whole
    for every system (their copies of the absorbed record now stand for it)."""
    def hook(conn: Connection, result: PageResult, records: Iterable[SourceRecord]) -> None:
        merged = redirect_merges(conn, records, policy)
        result.counts["merged"] += len(merged)
        if routes is not None and merged:
            changes = [whole_record(entity, survivor, "merge") for entity, _absorbed, survivor in merged]
            result.counts["queued"] += enqueue(conn, routes, changes, run_id)

    return hook
