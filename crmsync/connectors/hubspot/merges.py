"""HubSpot merges as canonical merges.

A merge in HubSpot leaves one surviving record (a new id, for contacts) whose `hs_merged_object_ids` lists
the ids folded into it; the connector exposes them as `payload["merged_ids"]`. After such a record's page
is ingested, every canonical record still known under a merged-away id is merged into the survivor's
canonical record (`review.merge_records`: refs, links and provenance follow), so later changes and
write-backs reach one record.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, and_, select

from crmsync.config.policy import MergePolicy
from crmsync.sync_engine.identity import REF
from crmsync.sync_engine.records import SourceRecord
from crmsync.sync_engine.review import merge_records


def redirect_merges(engine: Engine, records: Iterable[SourceRecord], policy: MergePolicy) -> list[tuple[str, str]]:
    """Merge canonical records of merged-away HubSpot ids into the survivor's; returns (absorbed, survivor)."""
    done: list[tuple[str, str]] = []
    with engine.begin() as conn:
        for record in records:
            merged = [str(i) for i in record.payload.get("merged_ids") or () if str(i) != record.external_id]
            if not merged or record.deleted:
                continue
            keys = [record.external_id, *merged]
            rows = conn.execute(select(REF.c.external_id, REF.c.entity, REF.c.canonical_id).where(and_(
                REF.c.system == record.origin, REF.c.object == record.object, REF.c.external_id.in_(keys)))).all()
            by_id = {row.external_id: row for row in rows}
            survivor = by_id.get(record.external_id)
            if survivor is None:
                continue  # the survivor's page has not been ingested yet
            for old in merged:
                row = by_id.get(old)
                if row is not None and row.canonical_id != survivor.canonical_id:
                    merge_records(conn, survivor.entity, survivor.canonical_id, row.canonical_id, policy,
                                  reason=f"{record.origin}:merge")
                    done.append((row.canonical_id, survivor.canonical_id))
    return done
