"""Canonical entities and the bookkeeping tables around them.

Entity tables (lead, company, deal, activity, payment) hold the merged truth. ExternalRef is the identity
spine: (system, object, external_id) -> canonical id, with hashes of what was last seen and last pushed.
Each entity row keeps its own field provenance (which system set each field, at what source time, in which
run) in its `provenance` column, grouped by source assertion (see store/provenance.py): the merge reads and
writes all fields of a record together with its values, so they live and are written in the same row.
"""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crmsync.store.types import ExactDecimal, UtcDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json(default: Any = None) -> Any:
    factory = (lambda: dict(default)) if isinstance(default, dict) else (lambda: list(default or []))
    return Field(default_factory=factory, sa_type=JSON)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UtcDateTime, index=index)
    return Field(default_factory=utcnow, sa_type=UtcDateTime, index=index)


class EntityBase(SQLModel):
    """Columns every canonical entity has; none of them is merged from sources."""

    id: str = Field(primary_key=True, max_length=32)
    custom: dict[str, Any] = _json({})
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)
    deleted_at: datetime | None = _ts()
    merged_into: str | None = Field(default=None, max_length=32)
    # [[system, source time, run id, [field, ...]], ...]: see crmsync.store.provenance.
    provenance: list[Any] = Field(default_factory=list, sa_type=JSON, sa_column_kwargs={"server_default": "[]"})


class Company(EntityBase, table=True):
    name: str | None = None
    domain: str | None = Field(default=None, index=True)
    phone: str | None = None
    industry: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Lead(EntityBase, table=True):
    """A person: lead or contact in a CRM, customer at a payment provider, caller at the contact center."""

    email: str | None = Field(default=None, index=True)
    phone: str | None = Field(default=None, index=True)
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    company_name: str | None = None
    company_id: str | None = Field(default=None, max_length=32, index=True)
    lifecycle_stage: str | None = None
    lead_status: str | None = None
    # Record owners are users of each system, so one system's id means nothing to another: kept per connection
    # ({connection: that system's user id}), merged key by key, never written back.
    owners: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, sa_column_kwargs={"server_default": "{}"})
    source: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    tags: list[str] = _json([])


class Deal(EntityBase, table=True):
    name: str | None = None
    amount: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    currency: str | None = Field(default=None, max_length=3)
    stage: str | None = None
    close_date: date | None = None
    company_id: str | None = Field(default=None, max_length=32, index=True)
    # {connection: that system's user id}, as on Lead
    owners: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, sa_column_kwargs={"server_default": "{}"})


class DealPerson(SQLModel, table=True):
    """The people on a deal (Opportunity contact roles, HubSpot deal-contact associations)."""

    __tablename__ = "deal_person"
    deal_id: str = Field(primary_key=True, max_length=32)
    lead_id: str = Field(primary_key=True, max_length=32, index=True)
    role: str | None = None


class Activity(EntityBase, table=True):
    """Calls first: one row per call, whichever source (web connector or report) told us about it."""

    kind: str = Field(default="call", max_length=16)
    subject: str | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    started_at: datetime | None = _ts()
    duration_s: int | None = None
    disposition: str | None = None
    agent: str | None = None
    campaign: str | None = None
    recording_url: str | None = None
    notes: str | None = None
    lead_id: str | None = Field(default=None, max_length=32, index=True)
    deal_id: str | None = Field(default=None, max_length=32, index=True)


class Payment(EntityBase, table=True):
    provider: str | None = None
    amount: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    currency: str | None = Field(default=None, max_length=3)
    status: str | None = None
    paid_at: datetime | None = _ts()
    refunded_amount: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    customer_email: str | None = None
    customer_phone: str | None = None
    deal_reference: str | None = None
    lead_id: str | None = Field(default=None, max_length=32, index=True)
    deal_id: str | None = Field(default=None, max_length=32, index=True)


class ExternalRef(SQLModel, table=True):
    """(system, object, external_id) -> canonical record; `system` is the connection name."""

    __tablename__ = "external_ref"
    __table_args__ = (
        UniqueConstraint("system", "object", "external_id", name="uq_external_ref_key"),
        Index("ix_external_ref_canonical", "entity", "canonical_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    system: str = Field(max_length=64)
    object: str = Field(max_length=64)
    external_id: str = Field(max_length=255)
    entity: str = Field(max_length=32)
    canonical_id: str = Field(max_length=32)
    seen_hash: str | None = Field(default=None, max_length=32)
    # The canonical values this system last held for the record (read from it, or pushed to it): a later read
    # asserts only the fields that differ from these. NULL: not known yet (the next read asserts everything).
    seen_values: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    pushed_hash: str | None = Field(default=None, max_length=32)
    source_modified_at: datetime | None = _ts()
    seen_at: datetime | None = _ts()
    pushed_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()


class ChangeLog(SQLModel, table=True):
    """Every applied change: one row per record touched.

    `changes` is {field: [old, new]} for every field a change touched, except for a create from a source,
    which is {"fields": [field, ...]}: the values it set are the record's first values (later changes log
    old -> new) and its provenance names the assertion that set them.
    """

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_record", "entity", "canonical_id"),)
    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=32)
    canonical_id: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # create | update | delete | merge | resolve
    system: str = Field(max_length=64)
    run_id: str | None = Field(default=None, max_length=32)
    changed_at: datetime = _ts(nullable=False)
    changes: dict[str, Any] = _json({})


class Conflict(SQLModel, table=True):
    """An open review item: a field the policy will not decide alone, or an ambiguous identity."""

    __table_args__ = (Index("ix_conflict_record", "entity", "canonical_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # field | identity
    entity: str = Field(max_length=32)
    canonical_id: str = Field(max_length=32)
    field: str | None = Field(default=None, max_length=128)
    status: str = Field(default="open", max_length=16, index=True)
    candidates: list[dict[str, Any]] = _json([])
    opened_at: datetime = _ts(nullable=False)
    resolved_at: datetime | None = _ts()
    resolution: str | None = None
    run_id: str | None = Field(default=None, max_length=32)


class Checkpoint(SQLModel, table=True):
    """(connection, stream) -> cursor, written in the same transaction as the page it covers."""

    connection: str = Field(primary_key=True, max_length=64)
    stream: str = Field(primary_key=True, max_length=64)
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    run_id: str | None = Field(default=None, max_length=32)
    updated_at: datetime = _ts(nullable=False)


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_run"
    id: str = Field(primary_key=True, max_length=32)
    connection: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)  # backfill | incremental | webhook | demo | bench
    status: str = Field(default="running", max_length=16)
    started_at: datetime = _ts(nullable=False)
    finished_at: datetime | None = _ts()
    counts: dict[str, int] = _json({})
    error: str | None = None


class RecordError(SQLModel, table=True):
    """A source record that could not be applied; kept with its payload so nothing is silently dropped."""

    __tablename__ = "record_error"
    id: int | None = Field(default=None, primary_key=True)
    run_id: str | None = Field(default=None, max_length=32, index=True)
    system: str = Field(max_length=64)
    object: str = Field(max_length=64)
    external_id: str = Field(max_length=255)
    error: str
    payload: dict[str, Any] = _json({})
    created_at: datetime = _ts(nullable=False)


class OutboxItem(SQLModel, table=True):
    """A canonical record a target connection needs, coalesced: one row per (target, entity, record) however
    many changes came in meanwhile. `status` is pending, dead or held (see the column)."""

    __tablename__ = "outbox_item"
    __table_args__ = (
        UniqueConstraint("target", "entity", "canonical_id", name="uq_outbox_item_record"),
        Index("ix_outbox_item_due", "target", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=64)  # the connection to push to
    entity: str = Field(max_length=32)
    canonical_id: str = Field(max_length=32)
    source: str | None = Field(default=None, max_length=64)  # the connection whose change caused it
    # Canonical fields changed since the last push, comma-separated (repeats are harmless); NULL = all of them.
    fields: str | None = None
    # upsert | delete (a delete propagated to the target)
    kind: str = Field(default="upsert", max_length=16, sa_column_kwargs={"server_default": "upsert"})
    # pending, dead (a dead letter after `attempts` failures) or held (the target cannot hold the record as it
    # stands: `last_error` says why; a later change of the record makes it pending again)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _ts(nullable=False)
    last_error: str | None = None
    run_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class InboxEvent(SQLModel, table=True):
    """A verified webhook event, stored before the vendor gets its answer; processed afterwards.

    Unique on the vendor's event id per connection, so a redelivery is acknowledged and ignored. `status` is
    pending, done or dead (a dead letter after `attempts` failures)."""

    __tablename__ = "inbox_event"
    __table_args__ = (
        UniqueConstraint("connection", "event_id", name="uq_inbox_event_vendor_id"),
        Index("ix_inbox_event_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    connection: str = Field(max_length=64)
    event_id: str = Field(max_length=255)
    payload: dict[str, Any] = _json({})
    occurred_at: datetime | None = _ts()
    received_at: datetime = _ts(nullable=False)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _ts(nullable=False)
    last_error: str | None = None
    processed_at: datetime | None = _ts()


class ConnectionToken(SQLModel, table=True):
    """OAuth tokens crmsync obtained for a connection, encrypted (Fernet) with CRMSYNC_SECRET_KEY."""

    __tablename__ = "connection_token"
    connection: str = Field(primary_key=True, max_length=64)
    ciphertext: str
    updated_at: datetime = _ts(nullable=False)


class RunLease(SQLModel, table=True):
    """Who runs a connection right now: two schedulers (or a scheduler and `crmsync sync`) never overlap."""

    __tablename__ = "run_lease"
    connection: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64)
    expires_at: datetime = _ts(nullable=False)


ENTITY_MODELS: dict[str, type[EntityBase]] = {
    "lead": Lead,
    "company": Company,
    "deal": Deal,
    "activity": Activity,
    "payment": Payment,
}

# Columns the engine manages itself; everything else on an entity is a mergeable field.
UNMERGED_COLUMNS = frozenset({"id", "custom", "created_at", "updated_at", "deleted_at", "merged_into",
                              "provenance"})


def field_type(entity: str, name: str) -> type | None:
    """The Python type of a canonical column (None for custom fields, which keep any JSON value)."""
    info = ENTITY_MODELS[entity].model_fields.get(name)
    if info is None:
        return None
    annotation = info.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    base = typing.get_origin(annotation) or annotation
    return base if isinstance(base, type) else None


def mergeable_fields(entity: str) -> frozenset[str]:
    """Canonical fields a mapping may target on `entity` (plus `custom.<name>`)."""
    return frozenset(c.name for c in ENTITY_MODELS[entity].__table__.columns) - UNMERGED_COLUMNS
