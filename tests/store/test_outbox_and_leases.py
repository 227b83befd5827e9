"""Outbox coalescing and run leases on SQLite and PostgreSQL (dialect-specific upserts, atomic leases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from crmsync.store.models import OutboxItem, RunLease
from crmsync.sync_engine import lease, outbox
from crmsync.sync_engine.outbox import OutboxRoutes, Route

ROUTES = OutboxRoutes([Route("sf-b", "lead", "Lead"), Route("hubspot", "lead", "contacts"),
                       Route("sf-a", "lead", "Lead")])


def change(canonical_id: str, system: str = "sf-a", kind: str = "update", fields: tuple[str, ...] = ("title",)) -> dict:
    return {"entity": "lead", "canonical_id": canonical_id, "system": system, "kind": kind,
            "changes": {name: [None, "x"] for name in fields}}


def items(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxItem.target, OutboxItem.canonical_id, OutboxItem.status)
                            .order_by(OutboxItem.target, OutboxItem.canonical_id)).all()
    return [tuple(row) for row in rows]


def test_changes_are_routed_to_every_other_target_and_coalesced_per_record(engine) -> None:
    with engine.begin() as conn:
        assert outbox.enqueue(conn, ROUTES, [change("r1"), change("r1"), change("r2", kind="delete")], "run1") == 2
    with engine.begin() as conn:
        outbox.enqueue(conn, ROUTES, [change("r1", system="hubspot")], "run2")
    assert items(engine) == [("hubspot", "r1", "pending"), ("sf-a", "r1", "pending"), ("sf-b", "r1", "pending")]


def test_a_new_change_revives_a_dead_letter(engine) -> None:
    with engine.begin() as conn:
        outbox.enqueue(conn, ROUTES, [change("r1")], "run1")
        conn.execute(update(OutboxItem).values(status="dead", attempts=5))
    assert outbox.depth(engine)["sf-b"] == {"pending": 0, "dead": 1, "held": 0}
    with engine.begin() as conn:
        outbox.enqueue(conn, ROUTES, [change("r1")], "run2")
    assert outbox.depth(engine)["sf-b"] == {"pending": 1, "dead": 0, "held": 0}
    with engine.begin() as conn:
        conn.execute(update(OutboxItem).values(status="dead"))
    assert outbox.retry(engine, None) == 2
    assert {status for *_, status in items(engine)} == {"pending"}


def test_a_lease_is_held_once_renewed_by_its_holder_and_taken_over_when_expired(engine) -> None:
    assert lease.acquire(engine, "sync:x", 60, holder="host-a:1")
    assert lease.acquire(engine, "sync:x", 60, holder="host-a:1")  # renewal
    assert not lease.acquire(engine, "sync:x", 60, holder="host-b:2")
    with engine.begin() as conn:
        conn.execute(update(RunLease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert lease.acquire(engine, "sync:x", 60, holder="host-b:2")
    lease.release(engine, "sync:x", holder="host-b:2")
    assert lease.acquire(engine, "sync:x", 60, holder="host-a:1")


def test_a_lease_of_a_dead_process_on_this_machine_is_taken_over_at_once(engine) -> None:
    import subprocess
    import sys

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_holder = f"{lease.this_process().rpartition(':')[0]}:{finished.stdout.strip()}"
    assert lease.acquire(engine, "sync:y", 3600, holder=dead_holder)
    assert lease.acquire(engine, "sync:y", 3600)  # its process is gone: no need to wait an hour


def test_an_item_accumulates_the_fields_that_changed_and_a_create_means_all_of_them(engine) -> None:
    def fields(target: str, record: str) -> frozenset[str] | None:
        with engine.connect() as conn:
            value = conn.execute(select(OutboxItem.fields).where(
                OutboxItem.target == target, OutboxItem.canonical_id == record)).scalar()
        return outbox.changed_fields(value)

    with engine.begin() as conn:
        outbox.enqueue(conn, ROUTES, [change("r1", fields=("title",)), change("r1", fields=("city",))], "run1")
    with engine.begin() as conn:
        outbox.enqueue(conn, ROUTES, [change("r1", fields=("phone", "title"))], "run2")
        outbox.enqueue(conn, ROUTES, [change("r2", kind="create"), change("r2", fields=("city",))], "run2")
    assert fields("sf-b", "r1") == {"title", "city", "phone"}
    assert fields("sf-b", "r2") is None  # a record the target may not have: push everything
    with engine.begin() as conn:
        outbox.enqueue(conn, ROUTES, [change("r2", fields=("email",))], "run3")
    assert fields("sf-b", "r2") is None
