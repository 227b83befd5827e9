"""The mass-delete rail, and finding hard deletes by listing ids.

A pass that would delete a large part of what a connection holds is more often a mistake (a filter changed, a
sandbox refreshed, a bulk job gone wrong) than a wish: `DeleteGuard` stops the pass before such a page is
applied, leaving the checkpoint where it was, and the run ends `paused` with how to confirm. See
config/deletes.py for the policies and the limits.

Hard deletes (records purged from the recycle bin, GDPR deletions) never appear in an incremental read. Where a
connector can list the ids of every live record (`Capability.ID_LISTING`), `missing_ids` finds the records the
store still links that the system no longer has; the runner feeds them through the ingest path as deletes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, and_, func, or_, select

from crmsync.config.deletes import DeleteRail
from crmsync.errors import CrmsyncError
from crmsync.sync_engine.identity import REF, load_refs
from crmsync.sync_engine.records import CanonicalPatch


class MassDeletePaused(CrmsyncError):
    """A pass would delete more than the rail allows; nothing of that page was applied."""


class DeleteGuard:
    """Counts the deletes a pass of one connection applies and refuses a page that would pass the rail."""

    def __init__(self, connection: str, rail: DeleteRail, confirmed: bool = False) -> None:
        self.connection, self.rail, self.confirmed = connection, rail, confirmed
        self.deleted = 0
        self._held: int | None = None

    def check(self, conn: Connection, deletes: Sequence[CanonicalPatch]) -> None:
        if not deletes:
            return
        refs = load_refs(conn, [(p.system, p.object, p.external_id) for p in deletes])
        live = {key for key, ref in refs.items() if not ref.deleted}
        total = self.deleted + len(live)
        if self._held is None:
            self._held = int(conn.execute(select(func.count()).select_from(REF).where(and_(
                REF.c.system == self.connection, REF.c.deleted_at.is_(None)))).scalar_one())
        too_many = total > self.rail.max_count
        too_large = total >= self.rail.min_count and total > self.rail.max_share * self._held
        if not self.confirmed and (too_many or too_large):
            share = f"{total / self._held:.0%} " if self._held else ""
            raise MassDeletePaused(
                f"{self.connection}: this pass would delete {total} of the {self._held} records it holds "
                f"({share}more than deletes.{'max_count' if too_many else 'max_share'} allows); nothing was "
                f"deleted. If that is right, run `crmsync sync {self.connection} --confirm-deletes` (or raise "
                "`deletes.max_share` / `deletes.max_count` in crmsync.yaml)")
        self.deleted = total


def missing_ids(engine: Engine, connection: str, stream: str, listed: Iterable[str], listing_began: datetime
                ) -> list[str]:
    """Ids the store links for (connection, stream) that the system's listing did not return. Only records known
    before the listing began count: one created meanwhile may be missing from it without being deleted."""
    present = set(listed)
    known = or_(REF.c.seen_at < listing_began, and_(REF.c.seen_at.is_(None), REF.c.pushed_at < listing_began))
    query = select(REF.c.external_id).where(and_(REF.c.system == connection, REF.c.object == stream,
                                                 REF.c.deleted_at.is_(None), known))
    with engine.connect() as conn:
        return sorted(external_id for external_id in conn.execute(query).scalars() if external_id not in present)
